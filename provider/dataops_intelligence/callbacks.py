"""Callback helpers for Airflow 3: task failure/retry callbacks and a Deadline Alert callback.

::

    from airflow.sdk import DAG, AsyncCallback, DeadlineAlert, DeadlineReference
    from dataops_intelligence.callbacks import on_deadline_missed, on_task_failure, on_task_retry

    with DAG(..., default_args={"on_failure_callback": on_task_failure,
                                "on_retry_callback": on_task_retry},
             deadline=DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT,
                                    interval=timedelta(hours=2),
                                    callback=AsyncCallback(on_deadline_missed, kwargs={"channels": ["slack"]}))):
        ...

They go through the same engine as :class:`~dataops_intelligence.notifiers.DataOpsNotifier` and never
raise into the task or run they report on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from dataops_intelligence.alerting.redact import redact

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

log = logging.getLogger(__name__)


def _notify(
    event: str, context: Mapping[str, Any], channels: Sequence[str] | None = None, **kwargs: Any
) -> None:
    try:
        from dataops_intelligence.notifiers import DataOpsNotifier

        DataOpsNotifier(event=event, channels=channels, **kwargs).notify(context)
    except Exception as err:  # the notifier already swallows; this guards construction errors
        log.error("DataOps %s callback failed: %s", event, redact(err))


def on_task_failure(context: Mapping[str, Any]) -> None:
    """``on_failure_callback`` for tasks (or DAGs, where ``ti`` is absent and ``dag_run`` is used)."""
    _notify("task_failure" if context.get("ti") or context.get("task_instance") else "dag_failure", context)


def on_task_retry(context: Mapping[str, Any]) -> None:
    """``on_retry_callback``: a warning, deduplicated per task so a flapping retry loop pages once."""
    _notify("task_retry", context)


async def on_deadline_missed(context: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    """Deadline Alert ``AsyncCallback`` target (runs in the triggerer).

    Receives ``context={"dag_run": ..., "deadline": {"id", "deadline_time"}}`` plus the callback's
    kwargs (``channels``, ``severity``, ``message``, ``rules_path``, ``state_path``).
    """
    await asyncio.to_thread(_notify, "deadline_missed", context or {}, **kwargs)


def on_deadline_missed_sync(context: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    """The same as :func:`on_deadline_missed` for a ``SyncCallback`` (runs in the executor)."""
    _notify("deadline_missed", context or {}, **kwargs)
