"""Example: reuse two DataOps operators inside your own DAG (your tasks before and after them).

The operators read the same config as the monitoring DAG (``[dataops] config_path`` /
``DATAOPS_CONFIG``) and run wherever ``compute.target`` says (local, databricks, spark_submit).
Nothing here touches Spark, connections or Variables at parse time.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, task

from dataops_intelligence.operators.stages import CollectJobRunsOperator, CollectMetricsOperator

with DAG(
    dag_id="example_reuse_operators",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["dataops", "example"],
    doc_md=__doc__,
) as dag:

    @task
    def announce(data_interval_end: Any = None) -> str:
        """Your own step before: e.g. check an upstream feed landed."""
        return f"collecting up to {data_interval_end}"

    @task
    def report(runs: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
        """Your own step after: use the small JSON summaries the operators return."""
        return {"runs_written": runs.get("rows_written", {}), "metrics_written": metrics.get("rows_written", {}),
                "targets": sorted({runs.get("target", ""), metrics.get("target", "")})}

    runs = CollectJobRunsOperator(task_id="collect_job_runs")
    metrics = CollectMetricsOperator(task_id="collect_metrics")
    announce() >> runs >> metrics
    report(runs.output, metrics.output)
