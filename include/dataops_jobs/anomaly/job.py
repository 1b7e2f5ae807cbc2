"""AnomalyDetector: the ``anomalies`` processor writing ``job_anomalies``.

One cycle processes everything collected since the stage's watermark (``AnalysisWindow``):

1. the new points of each series -- runs that finished, runs that got a cost, resource minutes --
   are fed to the causal detectors, each resuming from its saved state (:mod:`~.series`): run
   durations and failure patterns (:mod:`~.runs`, :mod:`~.failures`), DBUs per hour, and the
   streaming detector per resource series (:mod:`~.resources`); the saturation checks read the new
   minutes with a bounded context before them;
2. every anomaly found gets its severity, a deterministic id (``sha2`` of type, workspace, job, run,
   cluster, metric and detected_at), the cycle that found it (``interval_end``) and ``backfilled``
   (found older than ``analysis.notify_max_age_hours``: recorded, never notified); they are MERGEd,
   then the detector states. A re-run or a replay rewrites the same rows and adds none.

The first cycle (no watermark) scores the whole backfill window, so ``job_anomalies`` is complete
from day one; a gap of any length is covered by the next cycle.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar

from pyspark.sql import Column
from pyspark.sql import functions as F

import dataops_jobs.schemas.analysis  # noqa: F401  (registers job_anomalies)
from dataops_jobs.anomaly.resources import (
    STREAM,
    context_seconds,
    long_metrics,
    metric_series,
    saturation_anomalies,
    stream_points,
)
from dataops_jobs.anomaly.runs import cost_detector, cost_points, run_points, runs_detector
from dataops_jobs.anomaly.series import ANALYSIS_STATE, Detection, detect, read_state
from dataops_jobs.io import merge_into, read_output
from dataops_jobs.processors import AnalysisWindow, BaseProcessor, ProcessResult

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)
_ID_PARTS = ("anomaly_type", "workspace_id", "job_id", "run_id", "cluster_id", "metric")
_JOB = ["workspace_id", "job_id"]


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


def _job_of(series: DataFrame, kind: str, column: str) -> DataFrame:
    """``(workspace_id, <column>)`` of the ``<kind>:<id>`` series in ``series``."""
    return (series.where(F.col("series_id").startswith(f"{kind}:"))
            .select("workspace_id", F.expr(f"substring(series_id, {len(kind) + 2})").alias(column)).distinct())


class AnomalyDetector(BaseProcessor):
    """Finds run, failure, cost and resource anomalies causally and MERGEs ``job_anomalies``."""

    name: ClassVar[str] = "anomalies"
    output: ClassVar[str] = "job_anomalies"

    def _run_detection(self, runs: DataFrame, window: AnalysisWindow) -> list[Detection]:
        """Durations and failures of newly finished runs; DBUs per hour of newly priced runs."""
        done = runs.where(F.col("end_time").isNull() | (F.col("end_time") <= F.lit(window.end)))
        new_runs = done.where(window.collected()) if not window.backfill else done.where(
            F.col("end_time") > F.lit(window.start))

        def run_history(keys: DataFrame) -> DataFrame:
            return run_points(done.join(_job_of(keys, "job", "job_id"), _JOB, "left_semi"))

        found = [detect(self.spark, self.locator, runs_detector(self.config.anomaly), run_points(new_runs),
                        run_history, backfill=window.backfill, at=window.end)]
        costs = read_output(self.spark, self.locator, "job_costs")
        if costs is None:
            return found
        if window.backfill:
            new_costs = cost_points(new_runs, costs)
        else:
            fresh = (costs.where(window.collected()).select("workspace_id", "job_id", "run_id")
                     .unionByName(new_runs.select("workspace_id", "job_id", "run_id")).distinct())
            new_costs = cost_points(done.join(fresh, [*_JOB, "run_id"], "left_semi"), costs)

        def cost_history(keys: DataFrame) -> DataFrame:
            return cost_points(done.join(_job_of(keys, "job", "job_id"), _JOB, "left_semi"), costs)

        found.append(detect(self.spark, self.locator, cost_detector(self.config.anomaly), new_costs, cost_history,
                            backfill=window.backfill, at=window.end))
        return found

    def _resource_detection(self, window: AnalysisWindow) -> tuple[list[Detection], DataFrame | None]:
        """The streaming detector per series, and the saturation checks with their context."""
        metrics = read_output(self.spark, self.locator, "resource_metrics")
        if metrics is None:
            return [], None
        cfg = self.config.anomaly
        metrics = metrics.where(F.col("timestamp") <= F.lit(window.end))
        names = list(cfg.resource_metrics)
        if window.backfill:
            new = metrics.where(F.col("timestamp") > F.lit(window.start))
            shared = None
        else:
            new = metrics.where(window.collected())
            state = read_state(self.spark, self.locator, STREAM.name)
            shared = None if state is None else _job_of(state, "cluster", "cluster_id")
        history_from = window.end - timedelta(days=self.config.analysis.backfill_days
                                              or self.config.collection.lookback_days)

        def stream_history(keys: DataFrame) -> DataFrame:
            old = metrics.where(F.col("timestamp") > F.lit(history_from))
            rows = old.join(_job_of(keys, "job", "job_id"), _JOB, "left_semi").unionByName(
                old.join(_job_of(keys, "cluster", "cluster_id"), ["workspace_id", "cluster_id"], "left_semi"))
            series = metric_series(long_metrics(rows, names), _job_of(keys, "cluster", "cluster_id"))
            return stream_points(series.join(keys, ["workspace_id", "series_id", "metric"], "left_semi"))

        points = stream_points(metric_series(long_metrics(new, names), shared))
        stream = detect(self.spark, self.locator, STREAM, points, stream_history, backfill=window.backfill,
                        at=window.end)
        first_new = new.groupBy("workspace_id", "cluster_id").agg(F.min("timestamp").alias("_first")).localCheckpoint()
        earliest = first_new.agg(F.min("_first")).first()
        if earliest is None or earliest[0] is None:
            return [stream], None
        lead = timedelta(seconds=context_seconds(cfg))
        context = (metrics.where(F.col("timestamp") >= F.lit(earliest[0] - lead))
                   .join(first_new, ["workspace_id", "cluster_id"])
                   .where(F.col("timestamp") >= F.col("_first") - F.expr(f"INTERVAL {context_seconds(cfg)} SECONDS")))
        saturation = (saturation_anomalies(context.drop("_first"), cfg)
                      .join(first_new, ["workspace_id", "cluster_id"])
                      .where(F.col("detected_at") >= F.col("_first")).drop("_first"))
        return [stream], saturation

    def process(self, interval: AnalysisWindow) -> ProcessResult:
        """Score what was collected in the window and MERGE its anomalies, then the detector states."""
        window = AnalysisWindow.of(interval)
        runs = read_output(self.spark, self.locator, "job_monitoring")
        if runs is None:
            log.info("job_monitoring does not exist yet: no anomalies to compute")
            return ProcessResult(self.name, 0, {"skipped": "no job_monitoring table"})
        detections = self._run_detection(runs, window)
        streams, saturation = self._resource_detection(window)
        detections += streams
        found = detections[0].candidates
        for d in detections[1:]:
            found = found.unionByName(d.candidates)
        if saturation is not None:
            found = found.unionByName(saturation)
        names = runs.groupBy(*_JOB).agg(F.max_by("job_name", "start_time").alias("job_name"))
        new = (
            found.join(names, _JOB, "left")
            .withColumn("severity", severity(F.col("score"), self.config.anomaly.severity_thresholds))
            .withColumn("interval_end", F.lit(window.end).cast("timestamp"))
            .withColumn("backfilled", window.backfilled("detected_at"))
            .withColumn("anomaly_id", anomaly_id())
            .localCheckpoint()
        )
        # Anomalies first, then the states: a cycle killed in between finds its states behind and
        # redoes the same detections; the other way round it replays the series (see series.py).
        written = merge_into(self.spark, self.locator, self.output, new) if not new.isEmpty() else 0
        states = detections[0].states
        for d in detections[1:]:
            states = states.unionByName(d.states)
        if not states.isEmpty():
            merge_into(self.spark, self.locator, ANALYSIS_STATE.name, states)
        counts = new.groupBy("anomaly_type", "backfilled").agg(F.count(F.lit(1)).alias("n")).collect()
        by_type: dict[str, int] = {}
        for r in counts:
            by_type[r["anomaly_type"]] = by_type.get(r["anomaly_type"], 0) + int(r["n"])
        return ProcessResult(self.name, written, {
            "anomalies_by_type": by_type,
            "backfilled": sum(int(r["n"]) for r in counts if r["backfilled"]),
            "series_replayed": sum(d.replayed for d in detections),
            "backfill": window.backfill,
        })


__all__ = ["AnomalyDetector", "anomaly_id", "severity"]
