"""Failure patterns per job, with Spark window functions over the job's terminal runs in start order.

* **Failure streak**: consecutive failed runs (ERROR, FAILED, TIMED_OUT). Raised once when the streak
  becomes due -- at its ``failure_streak_runs``-th (N) failure, or earlier at its second failure when
  the failures already span ``failure_streak_hours`` -- and again at 2N (escalated), never at every
  run of the streak. The time condition is for infrequent jobs: a weekly job that failed twice has
  been broken for a week, and waiting for its third failure would mean a third week (the simulated
  workspace's weekly streaks were otherwise never found). Two failures of a daily job span about a
  day, so with the default of 48 hours a daily job still needs N failures.
* **New termination code**: a failed run ends with a termination code this job has not produced in
  its loaded history, once the job has ``min_history_runs`` runs before it.
* **Retry storm**: at least ``retry_storm_runs`` of the last ``retry_storm_window`` runs were repaired
  (``attempts > 1``) or were automatic retries; raised when the count crosses the threshold.

Everything is causal: each window frame ends at the current run. The output has the common
candidate columns of :data:`CANDIDATE_COLUMNS` (ids and severity are added by the processor).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import Column, Window, WindowSpec
from pyspark.sql import functions as F

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from dataops_jobs.config import AnomalyConfig

CANDIDATE_COLUMNS = ["workspace_id", "job_id", "run_id", "cluster_id", "metric", "observed", "expected",
                     "lower_bound", "upper_bound", "score", "method", "anomaly_type", "detected_at",
                     "explanation"]

_JOB = ("workspace_id", "job_id")


def terminal_runs(runs: DataFrame) -> DataFrame:
    """Runs that have finished (not RUNNING, not SKIPPED), one row per run."""
    return runs.where((F.col("status") != "RUNNING") & (F.col("status") != "SKIPPED") & F.col("end_time").isNotNull())


def candidates(df: DataFrame, **cols: Column) -> DataFrame:
    """Project ``df`` onto :data:`CANDIDATE_COLUMNS`, taking the named columns from ``cols``."""
    out = [cols[c].alias(c) if c in cols else F.col(c) for c in CANDIDATE_COLUMNS]
    return df.select(*out)


def _ordered() -> WindowSpec:
    return Window.partitionBy(*_JOB).orderBy("start_time", "run_id")


def failure_streaks(runs: DataFrame, n: int, hours: float | None = None) -> DataFrame:
    """Runs where a failure streak becomes due (N-th failure, or 2nd over ``hours``) or reaches 2N."""
    past = _ordered().rowsBetween(Window.unboundedPreceding, Window.currentRow)
    failed = F.col("is_failed").cast("int")
    # A streak is the failed runs after the job's k-th success: partition by the successes so far.
    streak = Window.partitionBy(*_JOB, "_ok_before").orderBy("start_time", "run_id")
    so_far = streak.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    span_hours = (F.unix_timestamp("end_time") - F.unix_timestamp("_first_failed")) / 3600.0
    long_enough = F.lit(False) if hours is None else (F.col("_streak") >= 2) & (span_hours >= hours)
    due = F.col("is_failed") & ((F.col("_streak") >= n) | long_enough)
    streaks = (
        terminal_runs(runs)
        .withColumn("_ok_before", F.sum(1 - failed).over(past))
        .withColumn("_streak", F.sum(failed).over(so_far))
        .withColumn("_first_failed", F.min(F.when(F.col("is_failed"), F.col("start_time"))).over(so_far))
        .withColumn("_due", due)
        .withColumn("_was_due", F.coalesce(F.lag("_due").over(streak), F.lit(False)))
        .withColumn("_rate", F.avg(failed).over(_ordered().rowsBetween(Window.unboundedPreceding, -1)))
        .where((F.col("_due") & ~F.col("_was_due")) | (F.col("is_failed") & (F.col("_streak") == 2 * n)))
    )
    text = F.format_string(
        "%d consecutive failed runs over %.0f hours (last ended %s with %s); the job failed %.0f%% of its "
        "earlier runs",
        F.col("_streak"), span_hours, F.col("result_state"),
        F.coalesce(F.col("termination_code"), F.lit("no code")), F.coalesce(F.col("_rate"), F.lit(0.0)) * 100)
    return candidates(
        streaks, metric=F.lit("consecutive_failures"), observed=F.col("_streak").cast("double"),
        expected=F.lit(0.0), lower_bound=F.lit(0.0), upper_bound=F.lit(float(n - 1)),
        score=F.lit(1.0) - F.pow(F.lit(0.5), F.col("_streak") * 2.0 / n), method=F.lit("consecutive_failures"),
        anomaly_type=F.lit("failure_streak"), detected_at=F.col("end_time"), explanation=text,
    )


def new_termination_codes(runs: DataFrame, min_history: int) -> DataFrame:
    """Failed runs whose termination code is new for the job (after ``min_history`` earlier runs)."""
    done = terminal_runs(runs)
    first_of_code = Window.partitionBy(*_JOB, "termination_code").orderBy("start_time", "run_id")
    found = (
        done.withColumn("_nth", F.row_number().over(_ordered()))
        .withColumn("_code_nth", F.row_number().over(first_of_code))
        .where(F.col("is_failed") & F.col("termination_code").isNotNull() & (F.col("_code_nth") == 1)
               & (F.col("_nth") > min_history))
    )
    text = F.format_string("run failed with termination code %s, never seen for this job in its previous %d runs",
                           F.col("termination_code"), F.col("_nth") - 1)
    return candidates(
        found, metric=F.lit("termination_code"), observed=F.lit(1.0), expected=F.lit(0.0),
        lower_bound=F.lit(0.0), upper_bound=F.lit(0.0), score=F.lit(0.6), method=F.lit("first_occurrence"),
        anomaly_type=F.lit("new_termination_code"), detected_at=F.col("end_time"), explanation=text,
    )


def retry_storms(runs: DataFrame, threshold: int, window: int) -> DataFrame:
    """Runs at which the number of retried runs among the last ``window`` reaches ``threshold``."""
    retried = ((F.col("attempts") > 1) | (F.col("trigger_type") == "ONETIME_RETRY")).cast("int")
    recent = _ordered().rowsBetween(-(window - 1), Window.currentRow)
    storms = (
        terminal_runs(runs)
        .withColumn("_retried", retried)
        .withColumn("_recent", F.sum("_retried").over(recent))
        .withColumn("_seen", F.count(F.lit(1)).over(recent))
        .where((F.col("_retried") == 1) & (F.col("_recent") == threshold))
    )
    text = F.format_string("retry storm: %d of the last %d runs were repaired or retried", F.col("_recent"),
                           F.col("_seen"))
    return candidates(
        storms, metric=F.lit("retried_runs"), observed=F.col("_recent").cast("double"),
        expected=F.lit(0.0), lower_bound=F.lit(0.0), upper_bound=F.lit(float(threshold - 1)),
        score=F.lit(1.0) - F.pow(F.lit(0.5), F.col("_recent") * 1.0 / threshold * 1.5),
        method=F.lit("rolling_count"), anomaly_type=F.lit("retry_storm"), detected_at=F.col("end_time"),
        explanation=text,
    )


def failure_anomalies(runs: DataFrame, config: AnomalyConfig) -> DataFrame:
    """All failure-pattern candidates of ``runs`` (job_monitoring rows)."""
    return (
        failure_streaks(runs, config.failure_streak_runs, config.failure_streak_hours)
        .unionByName(new_termination_codes(runs, config.min_history_runs))
        .unionByName(retry_storms(runs, config.retry_storm_runs, config.retry_storm_window))
    )
