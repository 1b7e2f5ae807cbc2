"""``SlaEvaluationOperator``: evaluate per-job SLAs every cycle and alert on breaches.

The Spark side (``dataops_jobs.sla``) MERGEs ``sla_breaches``; this operator then routes the breaches
seen at this cycle's instant through the alert engine (dedup, rate limits, outbox), so a run that
stays late pages once, not every cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataops_intelligence.operators.stages import DataOpsStageOperator

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from dataops_intelligence.alerting.model import AlertCandidate
    from dataops_jobs.config import Config

SLA_RULE = "sla_breach"


def breach_candidates(rows: Sequence[Mapping[str, Any]], channels: Sequence[str]) -> list[AlertCandidate]:
    """Pure: ``sla_breaches`` rows → alert candidates (one fingerprint per run and SLA kind), exactly
    as the ``sla_breach`` rule kind of the alert task builds them."""
    from datetime import datetime, timezone

    from dataops_intelligence.alerting.model import Severity
    from dataops_intelligence.alerting.rules import Rule, RuleKind, evaluate_rules

    rule = Rule(name=SLA_RULE, kind=RuleKind.SLA_BREACH, severity=Severity.WARNING, routes=tuple(channels))
    return evaluate_rules([rule], {"sla_breaches": [dict(r) for r in rows]}, datetime.now(timezone.utc))


def notify_breaches(config: Config, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Send breaches through the alert engine (rules file + deployment config channels)."""
    from dataops_intelligence.alerting.engine import AlertManager
    from dataops_intelligence.alerting.rules_loader import load_settings
    from dataops_intelligence.alerting.seed_config import merge_seed_config
    from dataops_intelligence.alerting.store import SqliteAlertStore
    from dataops_intelligence.notifiers import default_rules_path, default_state_path

    settings = merge_seed_config(load_settings(default_rules_path()), config.alerting)
    if settings is None:
        return {"alerts": len(rows), "sent": 0, "failed": 0, "disabled": 1}
    channels = [c.name for c in settings.channels]
    manager = AlertManager.from_settings(settings, SqliteAlertStore(default_state_path()))
    report = manager.run_cycle(candidates=breach_candidates(rows, channels), evaluated_rules=[SLA_RULE])
    return {"alerts": len(rows), "sent": len(report.sent), "failed": len(report.failed)}


class SlaEvaluationOperator(DataOpsStageOperator):
    """Evaluates ``sla.jobs`` (max duration, finish-by) over ``job_monitoring`` incl. runs in flight.

    The evaluation instant is the end of the task's data interval, so a re-run is idempotent. On the
    ``databricks`` and ``spark_submit`` targets the ``sla`` stage of the job entrypoint runs remotely
    and MERGEs ``sla_breaches`` there; notifying is then the alert task's job (its ``sla_breach``
    rule reads that table), so ``notify`` applies to the ``local`` target only.

    :param notify: ``local`` target: route the breaches through the alert engine from this task.
    """

    stage = "sla"
    ui_color = "#fdf1e8"

    def __init__(self, *, notify: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # In the monitoring DAG the alert task reads ``sla_breaches`` and alerts through the Delta
        # store; alone (a user's DAG) this task notifies through the engine itself.
        self.notify = notify

    def run_local(self, config: Config, start: datetime, end: datetime) -> dict[str, Any]:
        from dataops_intelligence.operators._spark import local_spark
        from dataops_jobs.collectors import Interval
        from dataops_jobs.cycle import DataOpsOrchestrator
        from dataops_jobs.io import TableLocator
        from dataops_jobs.sla import recent_breaches

        spark = local_spark(config)
        locator = TableLocator(config)
        result = DataOpsOrchestrator(spark, config).run_stage("sla", Interval(start, end))
        self.log.info("SLA evaluation as of %s: %s", end, result)
        summary: dict[str, Any] = {"stage": "sla", "target": "local", **result}
        if result["breaches"] and self.notify:
            summary["alerts"] = notify_breaches(config, recent_breaches(spark, locator, end))
        return summary
