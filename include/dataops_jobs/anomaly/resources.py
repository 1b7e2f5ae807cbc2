"""Resource-metric anomalies: the streaming detector per series plus two saturation checks.

* **Streaming detector** (:mod:`dataops_jobs.anomaly.streaming`): one causal detector per
  ``(workspace, series, metric)``, resumed from its saved state each cycle (the ``stream`` series of
  :mod:`dataops_jobs.anomaly.series`). A series is a *job* (the minutes of all its runs' clusters, in
  time order: job clusters live for one run, so only the job has enough history) or a *shared
  cluster* (an all-purpose cluster running several runs or idle minutes). The detector raises one
  alarm per episode; only upward alarms scoring at least ``STREAM_MIN_SCORE`` are kept (an idle or
  shut-down cluster dropping to low CPU is not an incident).
* **Memory saturation forecast** per cluster, on the busiest node's memory: over the last
  ``trend_minutes`` the least-squares slope (``regr_slope``) projects the time to reach
  ``saturation_percent``; once memory is above ``memory_warn_percent`` and projected to saturate
  within ``forecast_horizon_minutes``, the leak is flagged before the node saturates.
  ``memory_saturated`` follows when the level is reached anyway.
* **CPU saturation** per cluster: the busiest node stayed above ``cpu_saturation_percent`` for
  ``cpu_saturation_minutes`` in a row.

Both checks are causal window functions (frames end at the current minute) and raise one anomaly per
episode: a condition that already held within the previous hour does not raise again. They need no
saved state: a cycle reads the new minutes plus :func:`context_seconds` before them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyspark.sql import Column, Window, WindowSpec
from pyspark.sql import functions as F

from dataops_jobs.anomaly.series import SeriesDetector, candidates

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

    from dataops_jobs.config import AnomalyConfig

EPISODE_SECONDS = 3600
STREAM_MIN_SCORE = 0.7
"""Streaming alarms kept: upward (pressure, not a quiet cluster) and at least this score."""
def long_metrics(metrics: DataFrame, names: list[str]) -> DataFrame:
    """resource_metrics rows to (workspace_id, cluster_id, job_id, run_id, timestamp, metric, value)."""
    pairs = F.array(*[F.struct(F.lit(n).alias("metric"), F.col(n).cast("double").alias("value")) for n in names])
    return (
        metrics.select("workspace_id", "cluster_id", "job_id", "run_id", "timestamp", F.explode(pairs).alias("p"))
        .select("workspace_id", "cluster_id", "job_id", "run_id", "timestamp", "p.metric", "p.value")
        .where(F.col("value").isNotNull() & ~F.isnan("value"))
    )


def metric_series(long: DataFrame, shared_clusters: DataFrame | None = None) -> DataFrame:
    """One value per minute per job series and per shared-cluster series (``series_id`` ``job:<id>`` or
    ``cluster:<id>``). A cluster is shared when its minutes hold several runs or idle minutes, or when it
    already has a series (``shared_clusters``: workspace_id, cluster_id)."""
    jobs = (
        long.where(F.col("job_id").isNotNull())
        .groupBy("workspace_id", "job_id", "metric", "timestamp")
        .agg(F.avg("value").alias("value"), F.max("run_id").alias("run_id"), F.max("cluster_id").alias("cluster_id"))
        .select("workspace_id", F.concat(F.lit("job:"), F.col("job_id")).alias("series_id"), "metric",
                "timestamp", "value", "job_id", "run_id", "cluster_id")
    )
    shared = (
        long.groupBy("workspace_id", "cluster_id")
        .agg(F.countDistinct("run_id").alias("_runs"), F.max(F.col("run_id").isNull().cast("int")).alias("_idle"))
        .where((F.col("_runs") != 1) | (F.col("_idle") == 1))
        .select("workspace_id", "cluster_id")
    )
    if shared_clusters is not None:
        shared = shared.unionByName(shared_clusters).distinct()
    clusters = (
        long.join(shared, ["workspace_id", "cluster_id"], "left_semi")
        .groupBy("workspace_id", "cluster_id", "metric", "timestamp")
        .agg(F.avg("value").alias("value"), F.max("job_id").alias("job_id"), F.max("run_id").alias("run_id"))
        .select("workspace_id", F.concat(F.lit("cluster:"), F.col("cluster_id")).alias("series_id"),
                "metric", "timestamp", "value", "job_id", "run_id", "cluster_id")
    )
    return jobs.unionByName(clusters)


def stream_points(series: DataFrame) -> DataFrame:
    """``stream`` series points (ordered by minute) from :func:`metric_series` rows."""
    return series.select("workspace_id", "series_id", "metric", F.col("timestamp").alias("ts"),
                         F.lit("").alias("pid"), "value", "job_id", "run_id", "cluster_id")


def step_stream(points: pd.DataFrame, saved: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The streaming detector over one series' new minutes; keeps its upward alarms."""
    from dataops_jobs.anomaly.streaming import StreamingDetector

    detector = StreamingDetector.from_state(saved) if saved else StreamingDetector()
    series = str(points["series_id"].iloc[0])
    kind, _, _ = series.partition(":")
    found: list[dict[str, Any]] = []
    for rec in points.itertuples(index=False):
        out = detector.update(rec.ts.to_pydatetime(), float(rec.value))
        if out.alarm and out.value > out.expected and out.score >= STREAM_MIN_SCORE:
            owner = rec.job_id if kind == "job" else rec.cluster_id
            found.append({"job_id": rec.job_id, "run_id": rec.run_id, "cluster_id": rec.cluster_id,
                          "metric": rec.metric, "observed": out.value, "expected": out.expected,
                          "lower_bound": out.lower, "upper_bound": out.upper, "score": out.score,
                          "method": "streaming_extreme_level", "anomaly_type": f"resource_{rec.metric}",
                          "detected_at": rec.ts, "explanation": f"{rec.metric} series of {kind} {owner}: "
                                                                f"{out.explanation}"})
    return found, detector.to_state()


STREAM = SeriesDetector("stream", step_stream)


def _cluster_minutes(metrics: DataFrame, column: str, fallback: str) -> DataFrame:
    """The busiest node's value per cluster and minute (``fallback`` when ``column`` is NULL)."""
    return (
        metrics.groupBy("workspace_id", "cluster_id", "timestamp")
        .agg(F.max(F.coalesce(F.col(column), F.col(fallback))).cast("double").alias("value"),
             F.max("job_id").alias("job_id"), F.max("run_id").alias("run_id"))
        .where(F.col("value").isNotNull())
        .withColumn("_t", F.unix_timestamp("timestamp"))
    )


def _frame(seconds: int) -> WindowSpec:
    return Window.partitionBy("workspace_id", "cluster_id").orderBy("_t").rangeBetween(-seconds, 0)


def _first_of_episode(df: DataFrame, cond: Column) -> DataFrame:
    """Rows where ``cond`` holds and did not hold in the previous hour of the same cluster."""
    before = Window.partitionBy("workspace_id", "cluster_id").orderBy("_t").rangeBetween(-EPISODE_SECONDS, -1)
    return (df.withColumn("_cond", cond.cast("int"))
            .withColumn("_before", F.coalesce(F.max("_cond").over(before), F.lit(0)))
            .where((F.col("_cond") == 1) & (F.col("_before") == 0)))


def memory_anomalies(metrics: DataFrame, config: AnomalyConfig) -> DataFrame:
    """Memory saturation forecasts (trend) and reached saturation, per cluster."""
    sat, warn, horizon = config.saturation_percent, config.memory_warn_percent, config.forecast_horizon_minutes
    trend = _frame((config.trend_minutes - 1) * 60)
    df = (
        _cluster_minutes(metrics, "memory_utilization_max", "memory_utilization")
        .withColumn("_slope", F.regr_slope(F.col("value"), F.col("_t") / 60.0).over(trend))
        .withColumn("_n", F.count(F.lit(1)).over(trend))
        .withColumn("_level", F.avg("value").over(_frame(4 * 60)))
        .withColumn("_eta", F.try_divide(F.lit(sat) - F.col("_level"), F.col("_slope")))
    )
    rising = (F.col("_n") >= config.trend_minutes // 2) & (F.col("_slope") > 0)
    forecast = rising & (F.col("_level") >= warn) & (F.col("_level") < sat) & (F.col("_eta") <= horizon)
    early = _first_of_episode(df, forecast)
    early_text = F.format_string(
        "memory of the busiest node at %.1f%% and rising %.2f points/min over the last %d min: projected to "
        "reach %.0f%% in %.0f min (cluster %s)", F.col("_level"), F.col("_slope"), F.lit(config.trend_minutes),
        F.lit(sat), F.col("_eta"), F.col("cluster_id"))
    early_out = candidates(
        early, metric=F.lit("memory_utilization_max"), observed=F.col("_level"), expected=F.lit(warn),
        lower_bound=F.lit(0.0), upper_bound=F.lit(sat),
        score=F.greatest(F.lit(0.5), F.lit(1.0) - F.col("_eta") / (2.0 * horizon)),
        method=F.lit("trend_forecast"), anomaly_type=F.lit("memory_saturation_forecast"),
        detected_at=F.col("timestamp"), explanation=early_text,
    )
    full = _first_of_episode(df, F.col("_level") >= sat)
    full_text = F.format_string("memory of the busiest node at %.1f%%, at or above %.0f%% (cluster %s)",
                                F.col("_level"), F.lit(sat), F.col("cluster_id"))
    full_out = candidates(
        full, metric=F.lit("memory_utilization_max"), observed=F.col("_level"), expected=F.lit(warn),
        lower_bound=F.lit(0.0), upper_bound=F.lit(sat), score=F.lit(0.9), method=F.lit("threshold"),
        anomaly_type=F.lit("memory_saturated"), detected_at=F.col("timestamp"), explanation=full_text,
    )
    return early_out.unionByName(full_out)


def cpu_anomalies(metrics: DataFrame, config: AnomalyConfig) -> DataFrame:
    """CPU saturation: the busiest node above the threshold for the whole last N minutes."""
    minutes, level = config.cpu_saturation_minutes, config.cpu_saturation_percent
    frame = _frame((minutes - 1) * 60)
    df = (
        _cluster_minutes(metrics, "cpu_utilization_max", "cpu_utilization")
        .withColumn("_min", F.min("value").over(frame))
        .withColumn("_avg", F.avg("value").over(frame))
        .withColumn("_n", F.count(F.lit(1)).over(frame))
    )
    found = _first_of_episode(df, (F.col("_n") >= minutes) & (F.col("_min") >= level))
    text = F.format_string("CPU of the busiest node above %.0f%% for %d min in a row (mean %.1f%%, cluster %s)",
                           F.lit(level), F.lit(minutes), F.col("_avg"), F.col("cluster_id"))
    return candidates(
        found, metric=F.lit("cpu_utilization_max"), observed=F.col("_avg"), expected=F.lit(level),
        lower_bound=F.lit(0.0), upper_bound=F.lit(level),
        score=F.least(F.lit(0.99), F.lit(0.6) + (F.col("_avg") - level) / (100.0 - level) * 0.39),
        method=F.lit("sustained_threshold"), anomaly_type=F.lit("cpu_saturation"),
        detected_at=F.col("timestamp"), explanation=text,
    )


def context_seconds(config: AnomalyConfig) -> int:
    """How far before a minute the saturation checks look: their frames plus the episode hour."""
    return EPISODE_SECONDS + 60 * (max(config.trend_minutes, config.cpu_saturation_minutes, 4) + 1)


def saturation_anomalies(metrics: DataFrame, config: AnomalyConfig) -> DataFrame:
    """Memory forecasts, memory and CPU saturation over ``metrics`` (rows with their context)."""
    return memory_anomalies(metrics, config).unionByName(cpu_anomalies(metrics, config))
