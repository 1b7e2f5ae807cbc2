"""``AlertCycleOperator``: one alert cycle per data interval (rules → policy → outbox → channels → record).

One task rather than an evaluation task and a dispatch task: the outbox pattern needs the decision,
the durable outbox write and the sends in one engine cycle that reads the alert state back first.
Split in two, the candidates would have to travel through XCom (big) or another table, and the
dispatch task would be a second engine cycle anyway. Pending and failed deliveries of earlier cycles
go out at the start of the send phase of every cycle, so the same task is also the retry loop.

Clocks. The rules are evaluated *as of the interval end* (``data_interval_end``), so a re-run sees the
same inputs. The policy and the outbox run on the wall clock (repeat interval, claim leases,
redelivery), like Alertmanager: a re-run of the same interval finds the alert already notified and
sends nothing new. A re-run of an *older* interval than the latest one evaluated (a backfill or a
cleared old run) only flushes the outbox: evaluating the past would re-open resolved alerts and
resolve firing ones.

State rules (failures, health, SLA, staleness) resolve when a cycle no longer finds them, with a
resolved notification; event rules (anomalies, cost spikes, SLA breaches) are seen in the cycle that found them and
expire quietly after ``resolve_timeout``, so an event never produces a "resolved" message.

A failed delivery never fails the task: it is recorded in the outbox (attempts, redacted error, next
attempt) and retried by the next cycle. The task fails only when evaluation itself is broken
(config, unreadable tables), and Airflow's retries handle that.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from dataops_intelligence.operators.stages import TARGETS, task_interval
from dataops_intelligence.settings import config_path, environment

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context
    from pyspark.sql import SparkSession

    from dataops_intelligence.alerting.delta_store import DeltaAlertStore
    from dataops_intelligence.alerting.engine import CycleReport
    from dataops_intelligence.alerting.model import AlertCandidate
    from dataops_intelligence.alerting.rules_loader import AlertingSettings
    from dataops_intelligence.alerting.sql import SqlRunner
    from dataops_intelligence.alerting.sql_store import SqlAlertStore
    from dataops_jobs.config import Config
    from dataops_jobs.io import TableLocator

#: Rule kinds whose alerts are events: not resolved by absence, they expire after resolve_timeout.
EVENT_KINDS = frozenset({"anomaly", "cost_spike", "sla_breach"})


def _utc(value: datetime) -> datetime:
    """A plain timezone-aware UTC datetime (drops pendulum's subclass)."""
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    v = value.astimezone(timezone.utc)
    return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, tzinfo=timezone.utc)


def muted(settings: AlertingSettings) -> AlertingSettings:
    """``alerting.enabled: false``: alerts are still evaluated and recorded, never routed anywhere."""
    policy = replace(
        settings.policy, escalations=tuple(replace(e, add_channels=()) for e in settings.policy.escalations)
    )
    rules = tuple(replace(r, routes=()) for r in settings.rules)
    return replace(settings, rules=rules, channels=(), policy=policy)


class AlertCycleOperator(BaseOperator):
    """Evaluates the alert rules over the task's data interval and delivers through the Delta outbox.

    :param config_path: base YAML config (default: ``[dataops] config_path``, ``DATAOPS_CONFIG``,
        the project's ``config/base.yaml``); its ``alerting`` section is merged onto the rules file.
    :param environment: config overlay (dev, staging, prod).
    :param rules_path: the rules file (default: ``DATAOPS_ALERTING_RULES``, the project's
        ``config/alerting_rules.yaml``).
    :param compute_target: overrides ``compute.target``. ``local``: inputs and state in the worker's
        embedded Spark + Delta. ``databricks``: the same tables through a SQL warehouse
        (``compute.databricks.warehouse_id``, Statement Execution API); the cycle itself, and the
        channel secrets, stay in the worker. ``spark_submit`` is not supported (raises
        ``RemoteTargetUnavailable``).
    :param honour_group_wait: the data interval already is the grouping window (every candidate of
        an interval is decided at once, and nothing new arrives while waiting), so by default a new
        group is notified in the cycle that found it. With True the rules file's ``group_wait``
        holds across cycles: set it to at least the schedule interval to require a condition to be
        seen by two cycles before it notifies (flap suppression).
    :param runs_lookback: how far back job runs are read (see ``alerting.inputs.InputWindow``).
    :param runs_per_job: runs kept per job (the longest failure streak a rule can count).
    :param event_lag: widens the anomaly and cost windows back, for late rows.
    :param max_input_rows: cap per input table; more fails the task instead of dropping rows.
    """

    template_fields: Sequence[str] = ("config_path", "environment", "rules_path")
    ui_color = "#fde8e8"

    def __init__(
        self,
        *,
        config_path: str | None = None,
        environment: str | None = None,
        rules_path: str | None = None,
        compute_target: str | None = None,
        honour_group_wait: bool = False,
        runs_lookback: timedelta = timedelta(days=7),
        runs_per_job: int = 10,
        event_lag: timedelta = timedelta(0),
        max_input_rows: int = 100_000,
        **kwargs: Any,
    ) -> None:
        # Two cycles deciding on the same state would both notify: one instance at a time.
        kwargs.setdefault("max_active_tis_per_dag", 1)
        super().__init__(**kwargs)
        if compute_target is not None and compute_target not in TARGETS:
            raise ValueError(f"compute_target must be one of {', '.join(TARGETS)}, not {compute_target!r}")
        if runs_per_job < 1 or max_input_rows < 1:
            raise ValueError("runs_per_job and max_input_rows must be at least 1")
        if runs_lookback <= timedelta(0) or event_lag < timedelta(0):
            raise ValueError("runs_lookback must be positive and event_lag not negative")
        self.config_path = config_path
        self.environment = environment
        self.rules_path = rules_path
        self.compute_target = compute_target
        self.honour_group_wait = honour_group_wait
        self.runs_lookback = runs_lookback
        self.runs_per_job = runs_per_job
        self.event_lag = event_lag
        self.max_input_rows = max_input_rows

    # -- configuration -------------------------------------------------------------------------
    def load_config(self) -> Config:
        """The validated monitoring config for this task."""
        from dataops_jobs.config import load_config

        return load_config(config_path(self.config_path), env=environment(self.environment))

    def load_settings(self, config: Config) -> AlertingSettings:
        """Rules file + the config's ``alerting`` section (``merge_seed_config``); muted when disabled."""
        from dataops_intelligence.alerting.rules_loader import load_settings
        from dataops_intelligence.alerting.seed_config import merge_seed_config
        from dataops_intelligence.notifiers import default_rules_path

        from_file = load_settings(self.rules_path or default_rules_path())
        settings = merge_seed_config(from_file, config.alerting)
        if settings is None:
            self.log.info("alerting is disabled: alerts are evaluated and recorded, not sent")
            settings = muted(from_file)
        if not self.honour_group_wait:
            settings = replace(settings, policy=replace(settings.policy, group_wait=timedelta(0)))
        return settings

    def manager_kwargs(self) -> dict[str, Any]:
        """Extra ``AlertManager.from_settings`` arguments (clock, sleep, retry, registry): a test seam."""
        return {}

    def spark(self, config: Config) -> SparkSession:
        """The embedded Spark + Delta session of the local target."""
        from dataops_intelligence.operators._spark import local_spark

        return local_spark(config)

    # -- the cycle -----------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        """Run one cycle for the data interval; return counts only (XCom)."""
        config = self.load_config()
        start, end = (_utc(t) for t in task_interval(context))
        return self.run_interval(config, start, end)

    def run_interval(self, config: Config, start: datetime, end: datetime) -> dict[str, Any]:
        """The alert cycle for ``(start, end]``: what the DAG's last task and ``dataops run`` both run.

        Rules over the tables since the alert watermark, the policy, the outbox, the sends, the record
        (``alert_history``, ``alert_cycles``, the ``analysis.alerts`` watermark); then the Airflow-event
        outbox (``DataOpsNotifier``'s) is flushed too, so a held group of users' DAG events goes out
        at the latest with the next monitoring cycle.
        """
        from dataops_intelligence.alerting.engine import AlertManager
        from dataops_intelligence.alerting.inputs import ALERT_WATERMARK, read_watermark

        target = self.compute_target or config.compute.target
        settings = self.load_settings(config)
        runner, store = self.tables(config, target)
        settings = self.with_ui_silences(settings, config, target, runner)
        manager = AlertManager.from_settings(settings, store, **self.manager_kwargs())
        last = store.last_evaluated_end()
        if last is not None and end < last:
            self.log.warning(
                "interval (%s, %s] is older than the latest evaluated (%s): replay, outbox flush only",
                start,
                end,
                last,
            )
            return self._summary(manager.flush_outbox(), end, replay=True)
        since = read_watermark(runner, store.locator, ALERT_WATERMARK)
        notify_window = timedelta(hours=config.analysis.notify_max_age_hours)
        candidates, state_rules = self.evaluate(runner, store.locator, settings, start, end, since=since,
                                                notify_window=notify_window)
        report = manager.run_cycle(candidates=candidates, evaluated_rules=state_rules)
        summary = self._summary(report, end, replay=False)
        store.record_cycle(start, end, report.started_at, summary)
        store.save_watermark(ALERT_WATERMARK, end, report.candidates)
        self.flush_event_outbox()
        return summary

    def flush_event_outbox(self) -> None:
        """Deliver what the Airflow-event notifier left in its outbox (never fails the task)."""
        from dataops_intelligence.notifiers import flush_notifier_outbox

        sent = flush_notifier_outbox()
        if sent:
            self.log.info("flushed %d held Airflow-event notification(s)", sent)

    def tables(self, config: Config, target: str) -> tuple[SqlRunner, DeltaAlertStore | SqlAlertStore]:
        """Where the cycle reads its inputs and keeps its state, by compute target.

        ``local``: the embedded Spark session (inputs through ``SparkSqlRunner``, state through
        ``DeltaAlertStore``). ``databricks``: the SQL Statement Execution API on
        ``compute.databricks.warehouse_id`` through the operators' Databricks connection, for inputs
        and state alike (``SqlAlertStore``); the worker keeps the channel secrets, the warehouse
        sees only table rows. ``spark_submit``: not supported (no SQL endpoint to reach the tables).
        """
        from dataops_intelligence.operators.remote import RemoteTargetUnavailable
        from dataops_jobs.io import TableLocator

        if target == "local":
            from dataops_intelligence.alerting.delta_store import DeltaAlertStore
            from dataops_intelligence.alerting.sql import SparkSqlRunner

            spark = self.spark(config)
            return SparkSqlRunner(spark), DeltaAlertStore(spark, TableLocator(config, by_path=True))
        if target == "databricks":
            from dataops_intelligence.alerting.sql_store import SqlAlertStore

            runner = self.sql_runner(config)
            return runner, SqlAlertStore(runner, TableLocator(config, by_path=False))
        raise RemoteTargetUnavailable(
            f"AlertCycleOperator does not support compute target {target!r}: it reads and writes the alert "
            "tables in the worker (local) or through a Databricks SQL warehouse (databricks)"
        )

    def with_ui_silences(
        self, settings: AlertingSettings, config: Config, target: str, runner: SqlRunner
    ) -> AlertingSettings:
        """Add the silences created in the dashboard (table ``alert_silences``) to the rules file's.

        Read at the start of every cycle, so a silence created or expired in the UI applies to the
        next cycle. Local: the Delta table through ``deltalake``; databricks: the SQL warehouse.
        """
        from dataops_intelligence.dashboard.silences import silence_store, with_stored_silences

        store = silence_store(config, target, runner if target != "local" else None)
        found = with_stored_silences(settings, store)
        count = len(found.policy.silences) - len(settings.policy.silences)
        if count:
            self.log.info("%d silence(s) from alert_silences apply to this cycle", count)
        return found

    def sql_runner(self, config: Config) -> SqlRunner:
        """The SQL warehouse runner of the ``databricks`` target (a test seam)."""
        from dataops_intelligence.hooks.statements import statements_runner

        return statements_runner(config.databricks.conn_id, config.compute.databricks.warehouse_id,
                                 caller=type(self).__name__)

    def evaluate(
        self,
        runner: SqlRunner,
        locator: TableLocator,
        settings: AlertingSettings,
        start: datetime,
        end: datetime,
        *,
        since: datetime | None = None,
        notify_window: timedelta = timedelta(hours=24),
    ) -> tuple[list[AlertCandidate], list[str]]:
        """Read the inputs the configured rules need (events since the alert watermark ``since``) and
        evaluate them as of ``end``."""
        from dataops_intelligence.alerting.inputs import InputWindow, read_inputs, tables_for
        from dataops_intelligence.alerting.rules import evaluate_rules

        window = InputWindow(
            start,
            end,
            runs_lookback=self.runs_lookback,
            runs_per_job=self.runs_per_job,
            event_lag=self.event_lag,
            max_rows=self.max_input_rows,
            since=since,
            notify_window=notify_window,
        )
        inputs = read_inputs(runner, locator, window, tables_for(r.kind for r in settings.rules))
        candidates = evaluate_rules(settings.rules, inputs, end)
        state_rules = [r.name for r in settings.rules if r.kind.value not in EVENT_KINDS]
        return candidates, state_rules

    def _summary(self, report: CycleReport, end: datetime, *, replay: bool) -> dict[str, Any]:
        summary = {
            "interval_end": end.isoformat(),
            "replay": replay,
            "candidates": report.candidates,
            "notifications": report.notifications,
            "sent": len(report.sent),
            "failed": len(report.failed),
            "deferred": len(report.deferred),
        }
        if report.failed:
            self.log.warning(
                "%d deliveries failed; they stay in the alert outbox and are retried by the next cycle",
                len(report.failed),
            )
        return summary


__all__ = ["EVENT_KINDS", "AlertCycleOperator", "muted"]
