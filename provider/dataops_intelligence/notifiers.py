"""``DataOpsNotifier``: send Airflow task failures, retries and deadline misses through the alert engine.

Users' own DAGs get the same fingerprints, grouping, dedup, rate limits, silences and outbox as the
monitoring cycle::

    from dataops_intelligence.notifiers import DataOpsNotifier

    @task(on_failure_callback=DataOpsNotifier(channels=["slack"]))
    def load(): ...

A notifier never raises into the task it reports on: every error is logged (redacted) instead, and
an undeliverable alert stays in the outbox.

Grouping and timing. Events are grouped by rule and DAG (``group_by``), so a failure in one DAG
never waits behind another DAG's group. A callback holds its worker for at most about
``send_budget_seconds`` plus one request timeout (one attempt per delivery, requests capped at
``send_budget_seconds``): what it could not send, and every group still inside its ``group_wait`` /
``group_interval``, is left to a **deferred flush**, a small detached process
(``python -m dataops_intelligence.alerting.flusher``, one per state file) that sleeps until the next
delivery or group is due, sends it with the full retry policy and exits when nothing is left. The
monitoring DAG's alert task flushes the same outbox every cycle as well.
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
    from dataops_intelligence.alerting.engine import AlertManager
    from dataops_intelligence.alerting.rules_loader import AlertingSettings
    from dataops_jobs.config import Config

EVENTS: Mapping[str, tuple[str, str]] = {
    # event → (rule name, default severity)
    "task_failure": ("airflow_task_failed", "error"),
    "task_retry": ("airflow_task_retry", "warning"),
    "dag_failure": ("airflow_dag_failed", "error"),
    "deadline_missed": ("airflow_deadline_missed", "error"),
}
log = logging.getLogger(__name__)
#: Airflow events are grouped per rule and DAG: one DAG's failure never waits behind another's group.
DEFAULT_GROUP_BY = ("rule", "dag_id")
#: Seconds a callback may spend sending before the rest is left to the deferred flush.
DEFAULT_SEND_BUDGET = 5.0
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


def with_dashboard_silences(settings: AlertingSettings, config: Config | None) -> AlertingSettings:
    """Add the silences created in the dashboard (``alert_silences`` of the deployment's config).

    A notification must go out even when that table cannot be read (or there is no deployment config
    here): then only the rules file's silences apply, and the reason is logged.
    """
    if config is None:
        return settings
    try:
        from dataops_intelligence.dashboard.silences import silence_store, with_stored_silences

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
    :param group_by: labels that form one group (one message): ``rule`` and ``dag_id`` by default;
        add ``task_id`` for one message per task, or use ``("rule",)`` for one per rule.
    :param send_budget_seconds: how long a callback may spend sending (default 5); the rest goes to
        the deferred flush.
    :param deferred_flush: start the deferred flush when something is left (default: on, unless
        ``DATAOPS_DEFERRED_FLUSH=0``).
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
        group_by: Sequence[str] = DEFAULT_GROUP_BY,
        send_budget_seconds: float = DEFAULT_SEND_BUDGET,
        deferred_flush: bool | None = None,
    ) -> None:
        super().__init__()
        if event not in EVENTS:
            raise ValueError(f"event must be one of {sorted(EVENTS)}, got {event!r}")
        if not group_by or send_budget_seconds <= 0:
            raise ValueError("group_by must name at least one label and send_budget_seconds be positive")
        self.event = event
        self.channels = tuple(channels) if channels is not None else None
        self.severity = severity
        self.message = message
        self.rules_path = rules_path
        self.state_path = state_path
        self.group_wait_seconds = group_wait_seconds
        self.group_by = tuple(group_by)
        self.send_budget_seconds = send_budget_seconds
        self.deferred_flush = deferred_flush

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
        from dataops_intelligence.alerting.model import AlertCandidate, Severity

        rules_path = Path(self.rules_path or default_rules_path())
        state_path = Path(self.state_path or default_state_path())
        manager = notifier_manager(
            rules_path, state_path, self.group_by, self.group_wait_seconds, self.send_budget_seconds
        )
        rule, default_severity = EVENTS[self.event]
        routes = self.channels if self.channels is not None else tuple(manager.channels)
        if manager.route_all_to is not None:
            routes = (manager.route_all_to,)
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
        report = manager.run_cycle(candidates=[candidate], send_budget=self.send_budget_seconds)
        log.info(
            "DataOps notification (%s): %d sent, %d failed, %d deferred",
            self.event,
            len(report.sent),
            len(report.failed),
            len(report.deferred),
        )
        flush = self.deferred_flush
        if flush is None:
            flush = os.environ.get("DATAOPS_DEFERRED_FLUSH", "1").strip().lower() not in ("0", "false", "no")
        if flush and seconds_until_work(manager) is not None:
            start_flusher(rules_path, state_path, self.group_by, self.group_wait_seconds)


def notifier_manager(
    rules_path: Path,
    state_path: Path,
    group_by: Sequence[str] = DEFAULT_GROUP_BY,
    group_wait_seconds: float = 0.0,
    request_timeout: float | None = None,
) -> AlertManager:
    """The engine the notifier, its deferred flush and the monitoring cycle share for Airflow events.

    With ``request_timeout`` (a callback) every delivery gets one attempt with requests capped at it;
    without (the flush) the channels' full retry policy applies.
    """
    from dataops_intelligence.alerting.channels.retry import RetryPolicy
    from dataops_intelligence.alerting.engine import AlertManager
    from dataops_intelligence.alerting.rules_loader import load_settings
    from dataops_intelligence.alerting.store import SqliteAlertStore

    config = deployment_config()
    settings, target = with_deployment_config(load_settings(rules_path), config)
    settings = with_dashboard_silences(settings, config)
    policy = replace(
        settings.policy, group_wait=timedelta(seconds=group_wait_seconds), group_by=tuple(group_by)
    )
    settings = replace(settings, policy=policy, rules=())
    retry = RetryPolicy(max_attempts=1) if request_timeout is not None else None
    manager = AlertManager.from_settings(settings, SqliteAlertStore(state_path), retry=retry)
    manager.route_all_to = target
    if request_timeout is not None:
        for channel in manager.channels.values():
            channel.timeout = min(channel.timeout, request_timeout)
    return manager


def deployment_config() -> Config | None:
    """The deployment's config (``DATAOPS_CONFIG`` / ``[dataops] config_path``), or None when none can be
    loaded here: Airflow-event alerts then use the rules file alone."""
    from dataops_intelligence.settings import config_path, environment
    from dataops_jobs.config import load_config
    from dataops_jobs.errors import ConfigError

    try:
        return load_config(config_path(None), env=environment(None))
    except (ConfigError, OSError) as err:
        log.debug("no deployment config for Airflow-event alerts (%s): the rules file alone", redact(err))
        return None


def with_deployment_config(
    settings: AlertingSettings, config: Config | None
) -> tuple[AlertingSettings, str | None]:
    """The rules file merged with the deployment config's ``alerting`` section (channels, switch,
    ``route_all_to``), as the monitoring cycle merges them; the rules file alone without a config."""
    from dataops_intelligence.alerting.seed_config import merge_seed_config
    from dataops_intelligence.operators.alerts import muted

    if config is None:
        return settings, None
    merged = merge_seed_config(settings, config.alerting)
    if merged is None:
        return muted(settings), None
    return merged, config.alerting.route_all_to or None


def seconds_until_work(manager: AlertManager) -> float | None:
    """Seconds until the next outbox retry or waiting group is due (0: now), None when nothing waits."""
    now = manager.clock()
    times = [d.next_attempt_at or now for d in manager.store.load_outbox()]
    due = manager.policy.next_due(manager.store.load_open_alerts(), now)
    if due is not None:
        times.append(due)
    if not times:
        return None
    return max((min(times) - now).total_seconds(), 0.0)


def start_flusher(
    rules_path: Path, state_path: Path, group_by: Sequence[str], group_wait_seconds: float
) -> None:
    """Start the detached deferred flush unless one already runs for this state file."""
    import subprocess
    import sys

    from dataops_intelligence.alerting.flusher import flusher_running

    if flusher_running(state_path):
        return
    args = [
        sys.executable,
        "-m",
        "dataops_intelligence.alerting.flusher",
        "--rules",
        str(rules_path),
        "--state",
        str(state_path),
        "--group-by",
        ",".join(group_by),
        "--group-wait",
        str(group_wait_seconds),
    ]
    log_path = state_path.with_suffix(".flusher.log")
    with open(log_path, "ab") as out:
        # A session of its own: the flush outlives the task process that reported the event.
        child = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    Path(f"{state_path}.flusher.pid").write_text(str(child.pid))
    log.info("deferred alert flush started for %s (log: %s)", state_path, log_path)


def flush_notifier_outbox(rules_path: Path | None = None, state_path: Path | None = None) -> int | None:
    """Flush the Airflow-event outbox (what the monitoring cycle calls): deliveries sent, None when
    there is no such outbox here. Never raises."""
    state = Path(state_path or default_state_path())
    if not state.exists():
        return None
    try:
        manager = notifier_manager(Path(rules_path or default_rules_path()), state)
        return len(manager.flush_outbox().sent)
    except Exception as err:
        log.error("flushing the DataOps notification outbox %s failed: %s", state, redact(err))
        return None


send_dataops_notification = DataOpsNotifier
