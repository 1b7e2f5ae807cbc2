"""Builds the DataOps DAGs from config: schedules, owners, tags, retries and docs from YAML.

DAG files stay two lines long; everything here is cheap at parse time (a small YAML file and pydantic,
no connections, no Variables, no Spark).
"""

from __future__ import annotations

import functools
import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import DAG, Asset, chain

# The defining modules (airflow.sdk re-exports them lazily, which type checkers cannot see).
from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

from dataops_intelligence.callbacks import on_deadline_missed
from dataops_intelligence.notifiers import DataOpsNotifier
from dataops_intelligence.operators.alerts import AlertCycleOperator
from dataops_intelligence.operators.databricks import DataOpsCycleOperator
from dataops_intelligence.operators.health_check import (
    AlertChannelsCheckOperator,
    OutputWritableCheckOperator,
    SourceTablesCheckOperator,
)
from dataops_intelligence.operators.maintenance import (
    HousekeepingOperator,
    OptimizeVacuumOperator,
    RetentionOperator,
)
from dataops_intelligence.operators.sla import SlaEvaluationOperator
from dataops_intelligence.operators.stages import (
    AnomalyDetectionOperator,
    CollectJobRunsOperator,
    CollectMetricsOperator,
    HealthScoreOperator,
    RecommendationsOperator,
)
from dataops_intelligence.settings import _airflow_conf, config_path, environment

if TYPE_CHECKING:
    from dataops_jobs.config import Config

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

MONITORING_DOC = """
### DataOps Intelligence: monitoring cycle

Collects Databricks job runs, cluster metrics and costs from the system tables, scores job health,
detects anomalies and alerts. Each task processes the run's data interval; re-running a task for
the same interval leaves the same tables. Config: `{config}` (environment `{env}`), compute target
`{target}`.

- **SLAs**: `evaluate_slas` checks `sla.jobs` (max duration, finish-by) incl. runs in flight and
  alerts on breaches (`sla_breaches` table).
- **Recommendations**: `recommendations` gathers per-run utilisation every cycle and, once a day,
  writes right-sizing and cost recommendations with their savings (`job_recommendations` table).
- **Databricks with a job cluster**: the Spark stages (runs, metrics and costs, health, anomalies,
  SLAs, recommendations) are one task, `run_monitoring_cycle`: one multi-task run on one shared job cluster.
- **Alerts**: `evaluate_and_send_alerts` runs in the worker (it holds the channel secrets); on
  Databricks it reads and writes its tables through the SQL warehouse `compute.databricks.warehouse_id`.
- **Deadline**: a run not finished {budget} min after it was queued fires a Deadline Alert through
  the alert engine (the run itself carries on).
- **Failures/retries**: every task reports through `DataOpsNotifier`.
- **Catch-up**: missed intervals are not replayed as runs; the next run's collectors resume from
  their watermarks (bounded by `collection.lookback_days` and `collection.max_rows_per_batch`).
"""

HEALTH_CHECK_DOC = """
### DataOps Intelligence: health checks

Fails loudly, naming the check and the reason, when a precondition of the monitoring cycle breaks:
every system table readable with the expected columns; the output location writable (a probe row
written and deleted); every alert channel reachable (a test message to its test destination, else
a dry-run connection). Config: `{config}`.
"""

MAINTENANCE_DOC = """
### DataOps Intelligence: maintenance

Retention (rows older than `retention.<table>` days deleted by each table's time column), then
watermark and alert-outbox housekeeping, then OPTIMIZE and VACUUM
(`retention.vacuum_retain_hours` = {vacuum} h) of the Delta output tables. Config: `{config}`.
"""


def load_dag_config(path: str | None = None, env: str | None = None) -> Config:
    """The config the DAGs are built from (parsed once per file version and process: the three DAG
    files share it, and a re-parse of an unchanged file skips YAML and validation)."""
    resolved = config_path(path)
    overlay = environment(env)
    try:
        stamp = resolved.stat().st_mtime_ns
    except OSError:
        stamp = -1  # let load_config raise its own, clearer error
    return _load_config_cached(str(resolved), overlay, stamp, os.environ.get("DATAOPS_HOME"))


@functools.lru_cache(maxsize=8)
def _load_config_cached(path: str, env: str | None, stamp: int, home: str | None) -> Config:
    # ``stamp`` and ``home`` are only cache keys: an edited file or another $DATAOPS_HOME reloads.
    from dataops_jobs.config import load_config

    return load_config(path, env=env)


def health_asset(config: Config) -> Asset:
    """The health-score table as an Asset, so downstream DAGs can run when it updates."""
    catalog, schema, table = config.output_table("job_health_scores")
    return Asset(name=f"{catalog}.{schema}.{table}", uri=f"dataops://{catalog}/{schema}/{table}")


def default_args(config: Config) -> dict[str, Any]:
    """Retries with exponential backoff, the owner, and failure/retry reports through the alert engine.

    The callbacks are task-level on purpose: DAG-level notifier callbacks break under ``dag.test()``
    (apache/airflow#64649), task-level ones work everywhere.
    """
    s = config.schedules
    return {
        "owner": s.owner,
        "retries": s.retries,
        "retry_delay": timedelta(seconds=s.retry_delay_seconds),
        "retry_exponential_backoff": s.retry_exponential_backoff,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": DataOpsNotifier(event="task_failure"),
        "on_retry_callback": DataOpsNotifier(event="task_retry"),
    }


def cycle_deadline(config: Config) -> DeadlineAlert:
    """Deadline Alert: the run must finish ``cycle_time_budget_minutes`` after it was queued."""
    budget = config.schedules.cycle_time_budget_minutes
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=budget),
        callback=AsyncCallback(on_deadline_missed, kwargs={"severity": "error"}),
        name=f"cycle_time_budget_{budget}m",
    )


def deadline_alerts_enabled() -> bool:
    """``[dataops] deadline_alerts`` (``AIRFLOW__DATAOPS__DEADLINE_ALERTS``), off unless set true.

    Off by default because Airflow 3.3.2's ``dag.test()`` crashes at the end of a successful run of a
    DAG that has a deadline (``DeadlineAlertModel.get_by_id`` is handed the serialized alert instead
    of its id: ``'dict' object has no attribute 'hex'``), which would break ``dataops demo`` and the
    dag.test suite. ``scripts/airflow_stack.sh`` and ``docker-compose.yaml`` switch it on; real
    deployments set it too.
    """
    return _airflow_conf("deadline_alerts").strip().lower() in ("1", "true", "yes", "on")


def _common(config: Config, path: str | None, env: str | None) -> dict[str, Any]:
    return {"config_path": str(config_path(path)), "environment": environment(env)}


def build_monitoring_dag(path: str | None = None, env: str | None = None, dag_id: str = "dataops_monitoring") -> DAG:
    """``dataops_monitoring``: collect runs, then metrics and costs, then health and anomalies; SLAs
    after the runs; then the alert cycle; a Deadline Alert on the cycle's time budget.

    On Databricks with a job cluster the Spark stages are one task, ``run_monitoring_cycle`` (one
    multi-task run on one shared job cluster, see :func:`one_cluster_cycle`).
    """
    config = load_dag_config(path, env)
    s = config.schedules
    common = _common(config, path, env)
    with DAG(
        dag_id=dag_id,
        schedule=s.monitoring,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=s.max_active_runs,
        default_args=default_args(config),
        tags=list(s.tags),
        doc_md=MONITORING_DOC.format(config=config_path(path), env=config.environment,
                                     target=config.compute.target, budget=s.cycle_time_budget_minutes),
        # The deadline alerts at the budget; the timeout only stops runaway runs (never below 30 min).
        dagrun_timeout=timedelta(minutes=max(s.cycle_time_budget_minutes * 3, 30)),
        deadline=cycle_deadline(config) if deadline_alerts_enabled() else None,
    ) as dag:
        alerts = AlertCycleOperator(task_id="evaluate_and_send_alerts", **common)
        if one_cluster_cycle(config):
            # One multi-task run on one job cluster: per-stage tasks would start a cluster each.
            cycle = DataOpsCycleOperator(task_id="run_monitoring_cycle", outlets=[health_asset(config)], **common)
            cycle >> alerts
            return dag
        runs = CollectJobRunsOperator(task_id="collect_job_runs", **common)
        metrics = CollectMetricsOperator(task_id="collect_metrics_and_costs", **common)
        health = HealthScoreOperator(task_id="health_scores", outlets=[health_asset(config)], **common)
        anomalies = AnomalyDetectionOperator(task_id="detect_anomalies", **common)
        sla = SlaEvaluationOperator(task_id="evaluate_slas", notify=False, **common)
        recommendations = RecommendationsOperator(task_id="recommendations", **common)
        # Collectors share the watermark table, so they run one after the other; SLAs need runs only;
        # recommendations need the runs, metrics and costs.
        chain(runs, metrics, [health, anomalies, recommendations], alerts)
        sla >> alerts
        runs >> sla
    return dag


def one_cluster_cycle(config: Config) -> bool:
    """True when the Spark stages run as ONE Databricks multi-task run (``run_monitoring_cycle``).

    On the ``databricks`` target with ``cluster_mode: job_cluster`` every ``runs/submit`` starts a new
    cluster, so the stages share one run and one job cluster (a cycle starts at most one cluster).
    Serverless and an existing cluster start nothing per run: there the per-stage tasks stay, for
    their separate retries and logs.
    """
    return config.compute.target == "databricks" and config.compute.databricks.cluster_mode == "job_cluster"


def build_health_check_dag(path: str | None = None, env: str | None = None,
                           dag_id: str = "dataops_health_check") -> DAG:
    """``dataops_health_check``: source tables, output location, alert channels (independent tasks)."""
    config = load_dag_config(path, env)
    s = config.schedules
    common = _common(config, path, env)
    with DAG(
        dag_id=dag_id,
        schedule=s.health_check,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args={**default_args(config), "retries": 0},  # a check failing is the signal
        tags=[*s.tags, "health_check"],
        doc_md=HEALTH_CHECK_DOC.format(config=config_path(path)),
        dagrun_timeout=timedelta(minutes=30),
    ) as dag:
        SourceTablesCheckOperator(task_id="check_source_tables", **common)
        OutputWritableCheckOperator(task_id="check_output_writable", **common)
        AlertChannelsCheckOperator(task_id="check_alert_channels", **common)
    return dag


def build_maintenance_dag(path: str | None = None, env: str | None = None,
                          dag_id: str = "dataops_maintenance") -> DAG:
    """``dataops_maintenance``: retention, housekeeping, then OPTIMIZE and VACUUM (one after another:
    they write the same Delta tables)."""
    config = load_dag_config(path, env)
    s = config.schedules
    common = _common(config, path, env)
    with DAG(
        dag_id=dag_id,
        schedule=s.maintenance,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(config),
        tags=[*s.tags, "maintenance"],
        doc_md=MAINTENANCE_DOC.format(config=config_path(path), vacuum=config.retention.vacuum_retain_hours),
        dagrun_timeout=timedelta(hours=6),
    ) as dag:
        chain(
            RetentionOperator(task_id="apply_retention", **common),
            HousekeepingOperator(task_id="housekeeping", **common),
            OptimizeVacuumOperator(task_id="optimize_and_vacuum", **common),
        )
    return dag
