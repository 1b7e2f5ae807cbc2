"""Operators of the ``dataops_health_check`` DAG: one task per check, failing loudly with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataops_intelligence.operators.stages import DataOpsStageOperator

if TYPE_CHECKING:
    from datetime import datetime

    from dataops_intelligence.health_checks import CheckResult
    from dataops_jobs.config import Config


class HealthCheckOperator(DataOpsStageOperator):
    """Base: run :meth:`checks`, log every result, raise ``HealthCheckFailed`` naming the failures."""

    ui_color = "#e8fdf0"

    def execute(self, context: Any) -> dict[str, Any]:
        # Checks probe this installation (local Spark, connections): they run in the worker whatever
        # the compute target, so no remote dispatch here.
        config = self.load_config()
        return self.run_local(config, *_interval(context))

    def checks(self, config: Config) -> list[CheckResult]:
        raise NotImplementedError

    def run_local(self, config: Config, start: datetime, end: datetime) -> dict[str, Any]:
        from dataops_intelligence.health_checks import raise_on_failure

        results = self.checks(config)
        for result in results:
            (self.log.info if result.ok else self.log.error)("%s", result.line())
        lines = raise_on_failure(results)
        return {"check": self.stage_name, "passed": len(lines)}


def _interval(context: Any) -> tuple[datetime, datetime]:
    from dataops_intelligence.operators.stages import task_interval

    return task_interval(context)


class SourceTablesCheckOperator(HealthCheckOperator):
    """Every configured system table is readable with the expected columns."""

    stage = "source_tables"

    def checks(self, config: Config) -> list[CheckResult]:
        from dataops_intelligence.health_checks import check_source_tables
        from dataops_intelligence.operators._spark import local_spark

        return check_source_tables(local_spark(config), config)


class OutputWritableCheckOperator(HealthCheckOperator):
    """The output location accepts a write and a delete (a probe row in a probe table)."""

    stage = "output_writable"

    def checks(self, config: Config) -> list[CheckResult]:
        from dataops_intelligence.health_checks import check_output_writable
        from dataops_intelligence.operators._spark import local_spark

        return [check_output_writable(local_spark(config), config)]


class AlertChannelsCheckOperator(HealthCheckOperator):
    """Each alert channel is configured and reachable (test message to its test destination, else a
    dry-run), and no delivery waits in an outbox on a configuration fault."""

    stage = "alert_channels"

    def checks(self, config: Config) -> list[CheckResult]:
        from dataops_intelligence.health_checks import check_blocked_deliveries, check_channels

        return [*check_channels(config), *check_blocked_deliveries(self.outboxes(config))]

    def outboxes(self, config: Config) -> list[tuple[str, Any]]:
        """The outboxes that exist here: the notifier's SQLite store, and on the local target the
        monitoring cycle's Delta outbox (Spark starts only when that table exists)."""
        from pathlib import Path

        from dataops_intelligence.notifiers import default_state_path

        found: list[tuple[str, Any]] = []
        state = default_state_path()
        if state.exists():
            from dataops_intelligence.alerting.store import SqliteAlertStore

            found.append((str(state), SqliteAlertStore(state)))
        if config.compute.target == "local":
            from dataops_jobs.io import TableLocator

            locator = TableLocator(config, by_path=True)
            path = locator.output("alert_outbox").path
            if path and (Path(path) / "_delta_log").exists():
                from dataops_intelligence.alerting.delta_store import DeltaAlertStore
                from dataops_intelligence.operators._spark import local_spark

                found.append((path, DeltaAlertStore(local_spark(config), locator)))
        return found
