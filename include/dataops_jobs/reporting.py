"""Small, bounded summaries of the output tables for the CLI, the demo and Airflow task logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from dataops_jobs.io import read_output

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dataops_jobs.io import TableLocator

OUTPUTS = ["job_monitoring", "resource_metrics", "job_costs", "job_health_scores", "job_anomalies"]


def overview(spark: SparkSession, locator: TableLocator, *, top: int = 5) -> dict[str, Any]:
    """Jobs seen, runs, failures, in-flight runs, least healthy jobs, recent anomalies, table paths."""
    out: dict[str, Any] = {"tables": {}}
    for name in OUTPUTS:
        ref = locator.output(name)
        df = read_output(spark, locator, name)
        out["tables"][name] = {"location": ref.path or ref.name, "rows": df.count() if df is not None else 0}
    runs = read_output(spark, locator, "job_monitoring")
    if runs is not None:
        row = runs.agg(
            F.countDistinct("workspace_id", "job_id").alias("jobs"),
            F.count(F.lit(1)).alias("runs"),
            F.sum(F.col("is_failed").cast("int")).alias("failed"),
            F.sum((F.col("status") == "RUNNING").cast("int")).alias("running"),
        ).first()
        out.update({k: int(row[k] or 0) for k in ("jobs", "runs", "failed", "running")} if row else {})
    health = read_output(spark, locator, "job_health_scores")
    if health is not None:
        out["least_healthy"] = _least_healthy(health, top)
    anomalies = read_output(spark, locator, "job_anomalies")
    if anomalies is not None:
        out["anomalies"] = _top_anomalies(anomalies, top)
    return out


def _least_healthy(health: Any, top: int) -> list[dict[str, Any]]:
    latest = health.groupBy("job_id").agg(F.max("calculation_time").alias("calculation_time"))
    # Confident scores first: a job with two runs sits near the neutral prior and says so, but the
    # jobs to look at are those whose low score is backed by enough runs.
    low_confidence = F.coalesce(F.col("confidence"), F.lit(0.0)) < 0.5
    rows = (health.join(latest, ["job_id", "calculation_time"]).orderBy(low_confidence, "health_score")
            .limit(top).collect())
    keep = ("job_id", "job_name", "health_score", "trend", "confidence", "explanation")
    return [{k: r[k] for k in keep if k in r.__fields__} for r in rows]


def _top_anomalies(anomalies: Any, top: int) -> list[dict[str, Any]]:
    order = F.when(F.col("severity") == "critical", 0).when(F.col("severity") == "high", 1).otherwise(2)
    rows = anomalies.orderBy(order, F.col("detected_at").desc()).limit(top).collect()
    keep = ("job_id", "job_name", "metric", "severity", "observed", "expected", "explanation")
    return [{k: r[k] for k in keep if k in r.__fields__} for r in rows]
