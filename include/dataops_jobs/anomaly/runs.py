"""Run-level detectors as resumable series: one job's finished runs, in the order they ended.

* ``runs``: run durations (:class:`~dataops_jobs.anomaly.durations.RunSeriesDetector` over successful,
  unrepaired runs) and failure patterns (:class:`~dataops_jobs.anomaly.failures.FailureTracker`
  over every finished run), in one state per job.
* ``cost``: DBUs per hour of each priced run (price changes and duration regressions do not move it;
  a cost spike does), with the same robust detector.

Runs are ordered by their end (then run id): a run is judged by the runs that had ended before it,
which is also what a cycle knows, so a run in flight at a cycle's end never lands before one already
learnt. The seasonal bucket (hour of day for jobs running several times a day, else day of week) is
decided from the job's last start times, causally.
"""

from __future__ import annotations

import itertools
import statistics
from collections import deque
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from dataops_jobs.anomaly.durations import (
    LEVEL_SHIFT,
    RunDetectorConfig,
    RunPoint,
    RunSeriesDetector,
    seasonal_bucket,
)
from dataops_jobs.anomaly.failures import FailureConfig, FailureTracker, TerminalRun
from dataops_jobs.anomaly.series import SeriesDetector, terminal_runs

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd
    from pyspark.sql import DataFrame

    from dataops_jobs.config import AnomalyConfig

DURATION = RunDetectorConfig()
COST = RunDetectorConfig(min_ratio=1.5, min_abs=0.0, unit="DBU/h", noun="burned")
_STARTS = 21
"""Start times kept per job to tell sub-daily jobs from daily and weekly ones."""
_REMEMBER = 200
"""Run ids a state remembers: a repaired run that comes back replays its job's series."""


def _sub_daily(starts: deque[float]) -> bool:
    ordered = sorted(starts)
    gaps = [b - a for a, b in itertools.pairwise(ordered)]
    return bool(gaps) and statistics.median(gaps) < 20 * 3600


def _verdict_rows(detector: RunSeriesDetector, point: RunPoint, end: datetime, cluster: str | None,
                  names: tuple[str, str, str]) -> list[dict[str, Any]]:
    metric, regression, shift = names
    return [{"run_id": v.run_id, "cluster_id": cluster, "metric": metric, "observed": v.value,
             "expected": v.expected, "lower_bound": v.lower, "upper_bound": v.upper, "score": v.score,
             "method": "robust_median_mad", "anomaly_type": shift if v.kind == LEVEL_SHIFT else regression,
             "detected_at": end, "explanation": v.explanation} for v in detector.update(point)]


def step_runs(points: pd.DataFrame, saved: dict[str, Any] | None, *, duration: RunDetectorConfig,
              failures: FailureConfig) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Durations and failure patterns of one job's newly finished runs (see the module docstring)."""
    saved = saved or {}
    dur = RunSeriesDetector.from_state(saved["duration"], duration) if saved else RunSeriesDetector(duration)
    fails = FailureTracker.from_state(saved["failures"], failures) if saved else FailureTracker(failures)
    starts: deque[float] = deque(saved.get("starts", []), maxlen=_STARTS)
    job = str(points["series_id"].iloc[0]).removeprefix("job:")
    found: list[dict[str, Any]] = []
    for rec in points.itertuples(index=False):
        start, end = rec.start_time.to_pydatetime(), rec.ts.to_pydatetime()
        starts.append(start.timestamp())
        cluster = None if rec.cluster_id is None else str(rec.cluster_id)
        run = TerminalRun(str(rec.pid), start, end, bool(rec.is_failed), rec.result_state, rec.termination_code,
                          bool(rec.retried), cluster)
        found += fails.update(run)
        if rec.status == "SUCCEEDED" and not rec.repaired and rec.duration_minutes > 0:
            point = RunPoint(str(rec.pid), start, float(rec.duration_minutes), seasonal_bucket(start, _sub_daily(starts)))
            found += _verdict_rows(dur, point, end, cluster,
                                   ("duration_minutes", "duration_regression", "duration_level_shift_accepted"))
    for f in found:
        f["job_id"] = job
    return found, {"duration": dur.to_state(), "failures": fails.to_state(), "starts": list(starts)}


def step_cost(points: pd.DataFrame, saved: dict[str, Any] | None, *,
              config: RunDetectorConfig) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """DBUs per hour of one job's newly priced runs."""
    detector = RunSeriesDetector.from_state(saved["cost"], config) if saved else RunSeriesDetector(config)
    starts: deque[float] = deque((saved or {}).get("starts", []), maxlen=_STARTS)
    job = str(points["series_id"].iloc[0]).removeprefix("job:")
    found: list[dict[str, Any]] = []
    for rec in points.itertuples(index=False):
        start, end = rec.start_time.to_pydatetime(), rec.ts.to_pydatetime()
        starts.append(start.timestamp())
        point = RunPoint(str(rec.pid), start, float(rec.value), seasonal_bucket(start, _sub_daily(starts)))
        found += _verdict_rows(detector, point, end, None, ("dbus_per_hour", "cost_spike", "cost_level_shift_accepted"))
    for f in found:
        f["job_id"] = job
    return found, {"cost": detector.to_state(), "starts": list(starts)}


def runs_detector(config: AnomalyConfig) -> SeriesDetector:
    """The ``runs`` series detector for the configured thresholds."""
    failures = FailureConfig(config.failure_streak_runs, config.failure_streak_hours, config.min_history_runs,
                             config.retry_storm_runs, config.retry_storm_window)
    duration = replace(DURATION, min_history=config.min_history_runs)
    return SeriesDetector("runs", partial(step_runs, duration=duration, failures=failures), remember_ids=_REMEMBER)


def cost_detector(config: AnomalyConfig) -> SeriesDetector:
    """The ``cost`` series detector."""
    return SeriesDetector("cost", partial(step_cost, config=replace(COST, min_history=config.min_history_runs)),
                          remember_ids=_REMEMBER)


def _series_keys(metric: str) -> list[Any]:
    return ["workspace_id", F.concat(F.lit("job:"), F.col("job_id")).alias("series_id"), F.lit(metric).alias("metric")]


def run_points(runs: DataFrame) -> DataFrame:
    """``runs`` series points: finished runs of ``job_monitoring`` rows."""
    retried = (F.coalesce(F.col("attempts"), F.lit(1)) > 1) | (F.col("trigger_type") == "ONETIME_RETRY")
    return terminal_runs(runs).select(
        *_series_keys("runs"), F.col("end_time").alias("ts"), F.col("run_id").alias("pid"), "start_time", "status",
        F.coalesce(F.col("is_failed"), F.lit(False)).alias("is_failed"), "result_state", "termination_code",
        retried.alias("retried"), (F.coalesce(F.col("attempts"), F.lit(1)) > 1).alias("repaired"),
        F.coalesce(F.col("duration_minutes"), F.lit(0.0)).cast("double").alias("duration_minutes"), "cluster_id",
    )


def cost_points(runs: DataFrame, costs: DataFrame) -> DataFrame:
    """``cost`` series points: DBUs per hour of finished runs that have a cost row."""
    done = terminal_runs(runs).where(F.col("duration_minutes") > 0)
    rate = F.try_divide(F.col("dbus").cast("double"), F.col("duration_minutes") / 60.0)
    priced = done.join(costs.select("workspace_id", "job_id", "run_id", "dbus"), ["workspace_id", "job_id", "run_id"])
    return priced.select(*_series_keys("dbus_per_hour"), F.col("end_time").alias("ts"), F.col("run_id").alias("pid"),
                         "start_time", rate.alias("value")).where(F.col("value").isNotNull() & (F.col("value") > 0))


__all__ = ["COST", "DURATION", "cost_detector", "cost_points", "run_points", "runs_detector", "step_cost",
           "step_runs"]
