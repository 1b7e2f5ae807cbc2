"""Small, bounded summaries of the output tables for the CLI, the demo and Airflow task logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyspark.sql import Window
from pyspark.sql import functions as F

from dataops_jobs.io import read_output

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dataops_jobs.io import TableLocator

OUTPUTS = ["job_monitoring", "resource_metrics", "job_costs", "job_health_scores", "job_anomalies",
           "job_recommendations"]


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
        out.update(_latest_anomalies(anomalies, max(top, 8)))
    from dataops_jobs.recommend import top_recommendations

    out["top_recommendations"] = top_recommendations(spark, locator, limit=3)
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


def _latest_anomalies(anomalies: Any, top: int) -> dict[str, Any]:
    """What the latest analysis cycle found: counts by type, how many were history (backfilled), and
    the most severe of them, one per job and type (an ongoing regression is one line, not ten)."""
    last = anomalies.agg(F.max("interval_end")).first()
    if last is None or last[0] is None:
        return {"anomalies": [], "anomalies_found": {}, "anomalies_backfilled": 0}
    found = anomalies.where(F.col("interval_end") == F.lit(last[0]))
    counts = found.groupBy("anomaly_type").agg(F.count(F.lit(1)).alias("n"),
                                               F.sum(F.col("backfilled").cast("int")).alias("old")).collect()
    rank = F.when(F.col("severity") == "critical", 0).when(F.col("severity") == "high", 1).when(
        F.col("severity") == "medium", 2).otherwise(3)
    per = Window.partitionBy("workspace_id", "job_id", "anomaly_type").orderBy(rank, F.col("detected_at").desc())
    rows = (found.withColumn("_rank", rank).withColumn("_n", F.row_number().over(per)).where("_n = 1")
            .orderBy("_rank", F.col("detected_at").desc()).limit(top).collect())
    keep = ("job_id", "job_name", "anomaly_type", "metric", "severity", "observed", "expected", "detected_at",
            "backfilled", "explanation")
    return {"anomalies": [{k: r[k] for k in keep if k in r.__fields__} for r in rows],
            "anomalies_found": {r["anomaly_type"]: int(r["n"]) for r in counts},
            "anomalies_backfilled": sum(int(r["old"] or 0) for r in counts),
            "anomalies_cycle_end": last[0]}
