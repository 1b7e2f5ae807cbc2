"""Builds the DataOps DAGs from config: schedules, owners, tags, retries and docs from YAML.

DAG files stay two lines long; everything here is cheap at parse time (a small YAML file and pydantic,
no connections, no Variables, no Spark).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import DAG, Asset, chain

from dataops_intelligence.operators.stages import (
    AnomalyDetectionOperator,
    CollectJobRunsOperator,
    CollectMetricsOperator,
    HealthScoreOperator,
)
from dataops_intelligence.settings import config_path, environment

if TYPE_CHECKING:
    from dataops_jobs.config import Config

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

MONITORING_DOC = """
### DataOps Intelligence: monitoring cycle

Collects Databricks job runs, cluster metrics and costs from the system tables, scores job health,
detects anomalies and alerts. Each task processes the run's data interval; re-running a task for
the same interval leaves the same tables. Config: `{config}` (environment `{env}`), compute target
`{target}`.
"""


def load_dag_config(path: str | None = None, env: str | None = None) -> Config:
    """The config the DAGs are built from."""
    from dataops_jobs.config import load_config

    return load_config(config_path(path), env=environment(env))


def health_asset(config: Config) -> Asset:
    """The health-score table as an Asset, so downstream DAGs can run when it updates."""
    catalog, schema, table = config.output_table("job_health_scores")
    return Asset(name=f"{catalog}.{schema}.{table}", uri=f"dataops://{catalog}/{schema}/{table}")


def default_args(config: Config) -> dict[str, Any]:
    """Retries with exponential backoff and the owner, from ``schedules``."""
    s = config.schedules
    return {
        "owner": s.owner,
        "retries": s.retries,
        "retry_delay": timedelta(seconds=s.retry_delay_seconds),
        "retry_exponential_backoff": s.retry_exponential_backoff,
        "max_retry_delay": timedelta(minutes=30),
    }


def build_monitoring_dag(path: str | None = None, env: str | None = None, dag_id: str = "dataops_monitoring") -> DAG:
    """``dataops_monitoring``: collect runs, then metrics and costs, then health and anomalies."""
    config = load_dag_config(path, env)
    s = config.schedules
    common = {"config_path": str(config_path(path)), "environment": environment(env)}
    with DAG(
        dag_id=dag_id,
        schedule=s.monitoring,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=s.max_active_runs,
        default_args=default_args(config),
        tags=list(s.tags),
        doc_md=MONITORING_DOC.format(config=config_path(path), env=config.environment,
                                     target=config.compute.target),
        dagrun_timeout=timedelta(minutes=s.cycle_time_budget_minutes * 3),
    ) as dag:
        runs = CollectJobRunsOperator(task_id="collect_job_runs", **common)
        metrics = CollectMetricsOperator(task_id="collect_metrics_and_costs", **common)
        health = HealthScoreOperator(task_id="health_scores", outlets=[health_asset(config)], **common)
        anomalies = AnomalyDetectionOperator(task_id="detect_anomalies", **common)
        # Collectors share the watermark table, so they run one after the other.
        chain(runs, metrics, [health, anomalies])
    return dag
