"""One operator per monitoring stage over a shared base, all driven by ``compute.target``.

- ``local``: the stage runs in the worker on embedded PySpark + Delta (the demo and test default).
- ``databricks`` / ``spark_submit``: the same entrypoint submitted to a cluster (``operators.databricks``:
  ``runs/submit``, deferrable by default; ``operators.spark_submit``: the ``spark-submit`` binary).

Constructors only store and validate; config is loaded in ``execute``. The task's interval comes from
Airflow's ``data_interval_start/end``, never from ``now()``, so a re-run processes the same interval.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from dataops_intelligence.links import DataOpsRunLink
from dataops_intelligence.operators.databricks import DatabricksRunMixin
from dataops_intelligence.operators.spark_submit import SparkSubmitMixin
from dataops_intelligence.settings import config_path, environment

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

    from dataops_jobs.config import Config

TARGETS = ("local", "databricks", "spark_submit")


def task_interval(context: Context) -> tuple[datetime, datetime]:
    """The task's data interval; a manual run without one covers the 30 minutes before it ran."""
    given_end: datetime | None = context.get("data_interval_end")
    start: datetime | None = context.get("data_interval_start")
    end: datetime = given_end or getattr(context.get("dag_run"), "run_after", None) or datetime.now(timezone.utc)
    if start is None or start >= end:
        start = end - timedelta(minutes=30)
    return start, end


class DataOpsStageOperator(DatabricksRunMixin, SparkSubmitMixin, BaseOperator):
    """Runs one monitoring stage (``collect_runs``, ``collect_metrics``, ``health``, ``anomalies``).

    :param stage: the stage to run.
    :param config_path: base YAML config (default: ``[dataops] config_path``, ``DATAOPS_CONFIG``, the
        project's ``config/base.yaml``).
    :param environment: config overlay (dev, staging, prod).
    :param compute_target: overrides ``compute.target`` from the config.
    :param deferrable: ``databricks`` target: wait in the triggerer (default
        ``compute.databricks.deferrable``, True).
    :param databricks_conn_id: ``databricks`` target: overrides ``databricks.conn_id``.
    :param databricks_task_type: ``spark_python_task`` (the uploaded entry script) or
        ``python_wheel_task`` (entry point ``dataops-job`` of the jobs wheel).
    """

    template_fields: Sequence[str] = ("config_path", "environment")
    operator_extra_links = (DataOpsRunLink(),)
    ui_color = "#e8f4fd"
    stage: ClassVar[str] = ""

    def __init__(
        self,
        *,
        stage: str | None = None,
        config_path: str | None = None,
        environment: str | None = None,
        compute_target: str | None = None,
        deferrable: bool | None = None,
        databricks_conn_id: str | None = None,
        databricks_task_type: str = "spark_python_task",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.stage_name = stage or self.stage
        if not self.stage_name:
            raise ValueError(f"{type(self).__name__} needs a stage")
        if compute_target is not None and compute_target not in TARGETS:
            raise ValueError(f"compute_target must be one of {', '.join(TARGETS)}, not {compute_target!r}")
        self.config_path = config_path
        self.environment = environment
        self.compute_target = compute_target
        self.deferrable = deferrable
        self.databricks_conn_id = databricks_conn_id
        self.databricks_task_type = self.check_task_type(databricks_task_type)

    def load_config(self) -> Config:
        """The validated config for this task."""
        from dataops_jobs.config import load_config

        return load_config(config_path(self.config_path), env=environment(self.environment))

    def execute(self, context: Context) -> dict[str, Any]:
        """Run the stage for the task's data interval; return a small JSON-safe summary for XCom."""
        config = self.load_config()
        target = self.compute_target or config.compute.target
        start, end = task_interval(context)
        self.log.info("stage %s on %s for interval (%s, %s]", self.stage_name, target, start, end)
        if target == "local":
            return self.run_local(config, start, end)
        if target == "databricks":
            return {"stage": self.stage_name, **self.run_databricks_stage(self.stage_name, config, start, end,
                                                                           context)}
        return self.run_spark_submit(self.stage_name, config, start, end)

    def run_local(self, config: Config, start: datetime, end: datetime) -> dict[str, Any]:
        """Run the stage in this worker on embedded Spark + Delta."""
        from dataops_intelligence.operators._spark import local_spark
        from dataops_jobs.collectors import Interval
        from dataops_jobs.cycle import DataOpsOrchestrator

        spark = local_spark(config)
        orchestrator = DataOpsOrchestrator(spark, config, progress=lambda m: self.log.info("%s", m))
        result = orchestrator.run_stage(self.stage_name, Interval(start, end))
        return {"stage": self.stage_name, "target": "local", **result}


class CollectJobRunsOperator(DataOpsStageOperator):
    """Collects job runs from ``system.lakeflow`` into ``job_monitoring``."""

    stage = "collect_runs"


class CollectMetricsOperator(DataOpsStageOperator):
    """Collects cluster utilisation and run costs into ``resource_metrics`` and ``job_costs``."""

    stage = "collect_metrics"


class HealthScoreOperator(DataOpsStageOperator):
    """Computes ``job_health_scores``."""

    stage = "health"


class AnomalyDetectionOperator(DataOpsStageOperator):
    """Detects anomalies into ``job_anomalies``."""

    stage = "anomalies"


class RecommendationsOperator(DataOpsStageOperator):
    """Gathers per-run utilisation and evaluates right-sizing and cost into ``job_recommendations``."""

    stage = "recommendations"
