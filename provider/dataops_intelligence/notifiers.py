"""``DataOpsNotifier``: send Airflow task failures, retries and deadline misses through the alert engine.

Users' own DAGs get the same fingerprints, grouping, dedup, rate limits, silences and outbox as the
monitoring cycle::

    from dataops_intelligence.notifiers import DataOpsNotifier

    @task(on_failure_callback=DataOpsNotifier(channels=["slack"]))
    def load(): ...

A notifier never raises into the task it reports on: every error is logged (redacted) instead, and
an undeliverable alert stays in the outbox for the next notification or monitoring cycle.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier

from dataops_intelligence.alerting.redact import redact
from dataops_intelligence.settings import config_path

if TYPE_CHECKING:
    from dataops_intelligence.alerting.rules_loader import AlertingSettings

EVENTS: Mapping[str, tuple[str, str]] = {
    # event → (rule name, default severity)
    "task_failure": ("airflow_task_failed", "error"),
    "task_retry": ("airflow_task_retry", "warning"),
    "dag_failure": ("airflow_dag_failed", "error"),
    "deadline_missed": ("airflow_deadline_missed", "error"),
}
log = logging.getLogger(__name__)
_PROJECT_RULES = Path(__file__).resolve().parents[2] / "config" / "alerting_rules.yaml"


def default_rules_path() -> Path:
    """``AIRFLOW__DATAOPS__ALERTING_RULES`` / ``DATAOPS_ALERTING_RULES``, else ``alerting_rules.yaml``
    beside the monitoring config in use (an installed provider's own default would point into
    site-packages, not at a mounted config directory), else the project's file."""
    for name in ("AIRFLOW__DATAOPS__ALERTING_RULES", "DATAOPS_ALERTING_RULES"):
        if os.environ.get(name):
            return Path(os.environ[name])
    beside = config_path().parent / "alerting_rules.yaml"
    return beside if beside.is_file() else _PROJECT_RULES


def default_state_path() -> Path:
    """Where alert state and the outbox live for Airflow-side notifications (SQLite)."""
    explicit = os.environ.get("AIRFLOW__DATAOPS__ALERT_STATE_PATH") or os.environ.get(
        "DATAOPS_ALERT_STATE_PATH"
    )
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser() / "dataops" / "alert_state.sqlite"


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def event_labels(event: str, context: Mapping[str, Any]) -> dict[str, str]:
    """Fingerprint labels for an Airflow event: the DAG and task, never the run (so repeats dedupe)."""
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    labels = {
        "dag_id": str(_get(ti, "dag_id") or _get(dag_run, "dag_id") or ""),
        "task_id": str(_get(ti, "task_id") or ""),
        "source": "airflow",
        "event": event,
    }
    deadline = context.get("deadline")
    if deadline is not None:
        labels["deadline"] = str(_get(deadline, "name") or _get(deadline, "id") or "")
    return {k: v for k, v in labels.items() if v}


def event_message(event: str, context: Mapping[str, Any], message: str | None) -> str:
    """A one-line, redacted description of what happened."""
    if message:
        return redact(message)
    ti = context.get("task_instance") or context.get("ti")
    run_id = _get(ti, "run_id") or _get(context.get("dag_run"), "run_id") or "?"
    where = (
        f"{_get(ti, 'dag_id') or _get(context.get('dag_run'), 'dag_id')}.{_get(ti, 'task_id') or ''}".rstrip(
            "."
        )
    )
    if event == "deadline_missed":
        when = _get(context.get("deadline"), "deadline_time") or "?"
        return f"DAG run {where} ({run_id}) missed its deadline {when}"
    error = context.get("exception")
    detail = f": {redact(str(error))[:500]}" if error else ""
    verb = {"task_retry": "will be retried", "dag_failure": "failed"}.get(event, "failed")
    return f"{where} {verb} (run {run_id}, try {_get(ti, 'try_number') or '?'}){detail}"


def with_dashboard_silences(settings: AlertingSettings) -> AlertingSettings:
    """Add the silences created in the dashboard (``alert_silences`` of the deployment's config).

    A notification must go out even when that table cannot be read: then only the rules file's
    silences apply, and the reason is logged.
    """
    try:
        from dataops_intelligence.dashboard.silences import silence_store, with_stored_silences
        from dataops_intelligence.settings import config_path, environment
        from dataops_jobs.config import load_config

        config = load_config(config_path(None), env=environment(None))
        return with_stored_silences(settings, silence_store(config))
    except Exception as err:
        log.warning("dashboard silences not applied to this notification: %s", redact(err))
        return settings


class DataOpsNotifier(BaseNotifier):
    """Airflow notifier routing task/DAG failures, retries and deadline misses through ``AlertManager``.

    :param event: task_failure, task_retry, dag_failure or deadline_missed.
    :param channels: channel names from the rules file (default: every configured channel).
    :param severity: override the event's default severity.
    :param message: optional templated message (Jinja, rendered against the context).
    :param rules_path: alerting rules file (default: :func:`default_rules_path`).
    :param state_path: SQLite file for alert state and outbox (default: :func:`default_state_path`).
    :param group_wait_seconds: grouping delay for these events (default 0: page at once).
    """

    template_fields = ("message",)

    def __init__(
        self,
        *,
        event: str = "task_failure",
        channels: Sequence[str] | None = None,
        severity: str | None = None,
        message: str | None = None,
        rules_path: str | os.PathLike[str] | None = None,
        state_path: str | os.PathLike[str] | None = None,
        group_wait_seconds: float = 0.0,
    ) -> None:
        super().__init__()
        if event not in EVENTS:
            raise ValueError(f"event must be one of {sorted(EVENTS)}, got {event!r}")
        self.event = event
        self.channels = tuple(channels) if channels is not None else None
        self.severity = severity
        self.message = message
        self.rules_path = rules_path
        self.state_path = state_path
        self.group_wait_seconds = group_wait_seconds

    def __call__(self, *args: Any) -> None:
        try:
            super().__call__(*args)
        except Exception as err:  # rendering errors included: never fail the reported task
            log.error("DataOps notification (%s) not sent: %s", self.event, redact(err))

    def notify(self, context: Any) -> None:
        try:
            self._notify(context)
        except Exception as err:
            log.error("DataOps notification (%s) not sent: %s", self.event, redact(err))

    async def async_notify(self, context: Any) -> None:
        await asyncio.to_thread(self.notify, context)

    def _notify(self, context: Mapping[str, Any]) -> None:
        from dataops_intelligence.alerting.engine import AlertManager
        from dataops_intelligence.alerting.model import AlertCandidate, Severity
        from dataops_intelligence.alerting.rules_loader import load_settings
        from dataops_intelligence.alerting.store import SqliteAlertStore

        settings = with_dashboard_silences(load_settings(self.rules_path or default_rules_path()))
        policy = replace(settings.policy, group_wait=timedelta(seconds=self.group_wait_seconds))
        settings = replace(settings, policy=policy, rules=())
        rule, default_severity = EVENTS[self.event]
        routes = self.channels if self.channels is not None else tuple(c.name for c in settings.channels)
        labels = event_labels(self.event, context)
        candidate = AlertCandidate(
            rule=rule,
            labels=labels,
            severity=Severity(self.severity or default_severity),
            message=event_message(self.event, context, self.message),
            alert_type=rule,
            job_id=labels.get("dag_id"),
            channels=routes,
        )
        manager = AlertManager.from_settings(
            settings, SqliteAlertStore(self.state_path or default_state_path())
        )
        report = manager.run_cycle(candidates=[candidate])
        log.info(
            "DataOps notification (%s): %d sent, %d failed, %d deferred",
            self.event,
            len(report.sent),
            len(report.failed),
            len(report.deferred),
        )


send_dataops_notification = DataOpsNotifier
