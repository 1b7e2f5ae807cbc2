"""AnomalyDetector: the ``anomalies`` processor writing ``job_anomalies``.

One cycle over the data interval ``(start, end]``:

1. loads a bounded trailing history: job runs started from ``anomaly.history_days`` before the
   interval start, their costs, and resource metrics from ``anomaly.resource_history_days`` before
   it, all up to ``end``;
2. replays the causal detectors over it (run durations and DBUs per hour with
   :mod:`~dataops_jobs.anomaly.durations`, failure patterns with :mod:`~dataops_jobs.anomaly.failures`,
   resource series with :mod:`~dataops_jobs.anomaly.resources`), each point judged only by its past;
3. keeps the anomalies whose ``detected_at`` falls in the interval (widened back by the collection
   overlap, so late-collected runs are still scored), adds severity and a deterministic id
   (``sha2`` of type, workspace, job, run, cluster, metric and detected_at) and MERGEs them: a
   re-run of a cycle rewrites the same rows and adds none.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar

from pyspark.sql import Column
from pyspark.sql import functions as F

import dataops_jobs.schemas.analysis  # noqa: F401  (registers job_anomalies)
from dataops_jobs.anomaly.durations import VERDICT_SCHEMA, RunDetectorConfig, score_run_frame
from dataops_jobs.anomaly.failures import candidates, failure_anomalies, terminal_runs
from dataops_jobs.anomaly.resources import resource_anomalies
from dataops_jobs.io import merge_into, read_output
from dataops_jobs.processors import BaseProcessor, ProcessResult

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from dataops_jobs.collectors.base import Interval
    from dataops_jobs.config import AnomalyConfig

log = logging.getLogger(__name__)

DURATION = RunDetectorConfig()
COST = RunDetectorConfig(min_ratio=1.5, min_abs=0.0, unit="DBU/h", noun="burned")
_ID_PARTS = ("anomaly_type", "workspace_id", "job_id", "run_id", "cluster_id", "metric")


def severity(score: Column, thresholds: dict[str, float]) -> Column:
    """The highest level whose threshold the score reaches; ``info`` below all of them."""
    expr: Column = F.lit("info")
    for name, cut in sorted(thresholds.items(), key=lambda kv: kv[1]):
        expr = F.when(score >= cut, F.lit(name)).otherwise(expr)
    return expr


def anomaly_id() -> Column:
    """Deterministic id: the same anomaly found again MERGEs onto its row."""
    parts = [F.coalesce(F.col(c).cast("string"), F.lit("")) for c in _ID_PARTS]
    stamp = F.date_format("detected_at", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
    return F.sha2(F.concat_ws("|", *parts, stamp), 256)


def _run_series(runs: DataFrame, value: Column, config: RunDetectorConfig, kind: str, metric: str,
                shift: str) -> DataFrame:
    """Score one value per run with the run-series detector, per job, in start order."""
    series = runs.select("workspace_id", "job_id", "run_id", F.col("start_time").alias("ts"), value.alias("value"))
    verdicts = (series.where(F.col("value").isNotNull() & (F.col("value") > 0))
                .groupBy("workspace_id", "job_id")
                .applyInPandas(lambda pdf: score_run_frame(pdf, config), VERDICT_SCHEMA))
    ends = runs.select("workspace_id", "job_id", "run_id", "cluster_id", "end_time")
    found = verdicts.join(ends, ["workspace_id", "job_id", "run_id"])
    anomaly_type = F.when(F.col("kind") == "regression", F.lit(kind)).otherwise(F.lit(shift))
    return candidates(found, metric=F.lit(metric), method=F.lit("robust_median_mad"), anomaly_type=anomaly_type,
                      detected_at=F.col("end_time"))


def duration_anomalies(runs: DataFrame, config: AnomalyConfig) -> DataFrame:
    """Slow successful runs against the job's robust, seasonal, level-shift-aware baseline."""
    ok = terminal_runs(runs).where((F.col("status") == "SUCCEEDED") & (F.coalesce(F.col("attempts"), F.lit(1)) <= 1))
    cfg = replace(DURATION, min_history=config.min_history_runs)
    return _run_series(ok, F.col("duration_minutes"), cfg, "duration_regression", "duration_minutes",
                       "duration_level_shift_accepted")


def cost_anomalies(runs: DataFrame, costs: DataFrame, config: AnomalyConfig) -> DataFrame:
    """Runs burning DBUs much faster than the job's past runs (DBUs per hour: price changes and
    duration regressions do not move it; a cost spike does)."""
    done = terminal_runs(runs).where(F.col("duration_minutes") > 0)
    rate = F.try_divide(F.col("dbus").cast("double"), F.col("duration_minutes") / 60.0)
    priced = done.join(costs.select("workspace_id", "job_id", "run_id", "dbus"), ["workspace_id", "job_id", "run_id"])
    cfg = replace(COST, min_history=config.min_history_runs)
    return _run_series(priced, rate, cfg, "cost_spike", "dbus_per_hour", "cost_level_shift_accepted")


class AnomalyDetector(BaseProcessor):
    """Finds run, failure, cost and resource anomalies causally and MERGEs ``job_anomalies``."""

    name: ClassVar[str] = "anomalies"
    output: ClassVar[str] = "job_anomalies"

    def _load(self, name: str, time_col: str, interval: Interval, days: int) -> DataFrame | None:
        """Rows up to the interval end, from ``days`` before its start (history for its first point)."""
        df = read_output(self.spark, self.locator, name)
        if df is None:
            return None
        since = interval.start - timedelta(days=days)
        return df.where((F.col(time_col) > F.lit(since)) & (F.col(time_col) <= F.lit(interval.end)))

    def candidates(self, interval: Interval) -> DataFrame | None:
        """Every anomaly the detectors raise over the trailing history ending at ``interval.end``."""
        cfg, end = self.config.anomaly, interval.end
        runs = self._load("job_monitoring", "start_time", interval, cfg.history_days)
        if runs is None:
            return None
        runs = runs.where(F.col("end_time").isNull() | (F.col("end_time") <= F.lit(end)))
        found = [duration_anomalies(runs, cfg), failure_anomalies(runs, cfg)]
        costs = self._load("job_costs", "usage_start", interval, cfg.history_days)
        if costs is not None:
            found.append(cost_anomalies(runs, costs, cfg))
        metrics = self._load("resource_metrics", "timestamp", interval, cfg.resource_history_days)
        if metrics is not None:
            found.append(resource_anomalies(metrics, cfg))
        out = found[0]
        for df in found[1:]:
            out = out.unionByName(df)
        names = runs.groupBy("workspace_id", "job_id").agg(F.max_by("job_name", "start_time").alias("job_name"))
        return out.join(names, ["workspace_id", "job_id"], "left")

    def process(self, interval: Interval) -> ProcessResult:
        """Score the new points of ``interval`` and MERGE their anomalies."""
        found = self.candidates(interval)
        if found is None:
            log.info("job_monitoring does not exist yet: no anomalies to compute")
            return ProcessResult(self.name, 0, {"skipped": "no job_monitoring table"})
        since = interval.start - timedelta(minutes=self.config.collection.overlap_minutes)
        new = (
            found.where((F.col("detected_at") > F.lit(since)) & (F.col("detected_at") <= F.lit(interval.end)))
            .withColumn("severity", severity(F.col("score"), self.config.anomaly.severity_thresholds))
            .withColumn("interval_end", F.lit(interval.end).cast("timestamp"))
            .withColumn("anomaly_id", anomaly_id())
            .localCheckpoint()
        )
        written = merge_into(self.spark, self.locator, self.output, new)
        by_type = {r["anomaly_type"]: int(r["n"]) for r in new.groupBy("anomaly_type").agg(
            F.count(F.lit(1)).alias("n")).collect()}
        return ProcessResult(self.name, written, {"anomalies_by_type": by_type})


__all__ = ["AnomalyDetector", "anomaly_id", "cost_anomalies", "duration_anomalies", "severity"]
