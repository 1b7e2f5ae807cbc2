"""JobsCollector: job runs assembled from ``system.lakeflow`` timeline slices into ``job_monitoring``.

A run longer than an hour arrives as hour-aligned slices with the result only on the final one; a
repaired run gets another terminal slice under the same run_id; a run in flight has no terminal
slice yet. Each cycle re-assembles every run touched by a new slice from all of its slices, so an
in-flight run is updated when it finishes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from dataops_jobs.collectors.base import BaseCollector, CollectResult, Interval, advance, read_stats
from dataops_jobs.io import merge_into, read_table

if TYPE_CHECKING:
    from collections.abc import Sequence

RUN_KEYS = ["workspace_id", "job_id", "run_id"]
FAILED_STATES = ("ERROR", "FAILED", "TIMED_OUT")
#: Runs can last up to Databricks' 48 h default timeout plus repairs: slices older than this before
#: the incremental window are re-read only for the runs that the window touches.
MAX_RUN_SPAN = timedelta(days=3)

_FAILURE_CATEGORIES = {
    "user_error": ("RUN_EXECUTION_ERROR", "LIBRARY_INSTALLATION_ERROR", "INVALID_RUN_CONFIGURATION",
                   "UNAUTHORIZED_ERROR", "RESOURCE_NOT_FOUND", "REPOSITORY_CHECKOUT_FAILED",
                   "STORAGE_ACCESS_ERROR"),
    "platform": ("DRIVER_ERROR", "CLUSTER_ERROR", "CLOUD_FAILURE", "INVALID_CLUSTER_REQUEST", "INTERNAL_ERROR"),
    "capacity": ("WORKSPACE_RUN_LIMIT_EXCEEDED", "CLUSTER_REQUEST_LIMIT_EXCEEDED",
                 "MAX_CONCURRENT_RUNS_EXCEEDED", "MAX_SPARK_CONTEXTS_EXCEEDED", "MAX_JOB_QUEUE_SIZE_EXCEEDED"),
    "cancelled": ("CANCELLED", "SKIPPED", "USER_CANCELED", "CANCELED"),
}


def latest_rows(df: DataFrame, keys: Sequence[str], order_col: str = "change_time") -> DataFrame:
    """The latest row per key of an SCD table (deleted entities keep their deletion row)."""
    w = Window.partitionBy(*keys).orderBy(F.col(order_col).desc())
    return df.withColumn("_rn", F.row_number().over(w)).where("_rn = 1").drop("_rn")


def failure_category(code: Column) -> Column:
    """Group a termination code: user_error, platform, capacity, cancelled, or NULL."""
    expr = F.lit(None).cast("string")
    for category, codes in _FAILURE_CATEGORIES.items():
        expr = F.when(code.isin(*codes), F.lit(category)).otherwise(expr)
    return F.when(code.isNull() | (code == "SUCCESS"), F.lit(None).cast("string")).otherwise(
        F.coalesce(expr, F.lit("other"))
    )


def assemble_runs(slices: DataFrame) -> DataFrame:
    """One row per run from its timeline slices (final state from the last terminal slice)."""
    terminal = slices.where(F.col("result_state").isNotNull())
    last_w = Window.partitionBy(*RUN_KEYS).orderBy(F.col("period_end_time").desc())
    final = (
        terminal.withColumn("_rn", F.row_number().over(last_w)).where("_rn = 1")
        .select(*RUN_KEYS, "result_state", "termination_code", "termination_type", "queue_duration_seconds",
                "setup_duration_seconds", "execution_duration_seconds",
                F.col("period_end_time").alias("end_time"))
    )
    attempts = terminal.groupBy(*RUN_KEYS).agg(F.count(F.lit(1)).cast("int").alias("attempts"))
    spans = slices.groupBy(*RUN_KEYS).agg(
        F.min("period_start_time").alias("start_time"),
        F.sum(F.unix_timestamp("period_end_time") - F.unix_timestamp("period_start_time")).alias("_secs"),
        F.min_by("trigger_type", "period_start_time").alias("trigger_type"),
        F.min_by("run_type", "period_start_time").alias("run_type"),
        F.min_by("run_name", "period_start_time").alias("run_name"),
    )
    runs = spans.join(final, RUN_KEYS, "left").join(attempts, RUN_KEYS, "left")
    return runs.select(
        *RUN_KEYS,
        F.coalesce(F.col("result_state"), F.lit("RUNNING")).alias("status"),
        "start_time",
        "end_time",
        (F.col("_secs") / 60.0).alias("duration_minutes"),
        "result_state",
        "termination_code",
        "termination_type",
        failure_category(F.col("termination_code")).alias("failure_category"),
        "trigger_type",
        "run_type",
        "run_name",
        F.coalesce(F.col("attempts"), F.lit(0)).alias("attempts"),
        F.coalesce(F.col("result_state").isin(*FAILED_STATES), F.lit(False)).alias("is_failed"),
        "queue_duration_seconds",
        "setup_duration_seconds",
        "execution_duration_seconds",
    )


def run_compute(task_slices: DataFrame) -> DataFrame:
    """Clusters and task count per job run from the task timeline."""
    exploded = task_slices.select(
        "workspace_id", "job_id", F.col("job_run_id").alias("run_id"), "task_key",
        F.explode_outer("compute_ids").alias("cluster_id"),
    )
    return exploded.groupBy(*RUN_KEYS).agg(
        F.array_sort(F.collect_set("cluster_id")).alias("cluster_ids"),
        F.countDistinct("task_key").cast("int").alias("task_count"),
    )


def job_attributes(latest_jobs: DataFrame) -> DataFrame:
    """Name, creator, tags, run_as and deletion flag per job from its latest SCD row."""
    return latest_jobs.select(
        "workspace_id",
        "job_id",
        F.col("name").alias("job_name"),
        F.coalesce("creator_user_name", "creator_id").alias("created_by"),
        "tags",
        F.coalesce("run_as_user_name", "run_as").alias("run_as"),
        F.col("delete_time").isNotNull().alias("job_deleted"),
    )


def build_job_monitoring(
    runs: DataFrame, compute: DataFrame, jobs: DataFrame, collected_at: datetime
) -> DataFrame:
    """Join runs with their compute and their job's attributes into ``job_monitoring`` rows."""
    joined = runs.join(compute, RUN_KEYS, "left").join(jobs, ["workspace_id", "job_id"], "left")
    return joined.select(
        "*",
        F.try_element_at(F.col("cluster_ids"), F.lit(1)).alias("cluster_id"),
        F.lit(collected_at).cast("timestamp").alias("collected_at"),
    ).withColumn("task_count", F.coalesce("task_count", F.lit(0)))


class JobsCollector(BaseCollector):
    """Collects job runs into ``job_monitoring`` (the seed's columns plus what users need)."""

    name = "jobs"
    output = "job_monitoring"

    def collect(self, interval: Interval, watermarks: dict[str, datetime]) -> CollectResult:
        new = self.read_new("job_run_timeline", "period_end_time", interval, watermarks).cache()
        touched = new.select(*RUN_KEYS).distinct()
        since = (watermarks.get("job_run_timeline") or (interval.end - self.lookback)) - self.overlap - MAX_RUN_SPAN
        all_slices = read_table(self.spark, self.locator.source("job_run_timeline"))
        slices = all_slices.where(
            (F.col("period_start_time") >= F.lit(since)) & (F.col("period_end_time") <= F.lit(interval.end))
        ).join(touched, RUN_KEYS, "left_semi")
        tasks = read_table(self.spark, self.locator.source("job_task_run_timeline")).where(
            (F.col("period_start_time") >= F.lit(since)) & (F.col("period_end_time") <= F.lit(interval.end))
        ).join(touched.withColumnRenamed("run_id", "job_run_id"), ["workspace_id", "job_id", "job_run_id"],
               "left_semi")
        jobs = job_attributes(latest_rows(read_table(self.spark, self.locator.source("jobs")),
                                          ["workspace_id", "job_id"]))
        rows = build_job_monitoring(assemble_runs(slices), run_compute(tasks), jobs, interval.end)
        mark = watermarks.get("job_run_timeline")
        n_read, n_new, newest, _ = read_stats(new, "period_end_time", mark)
        written = merge_into(self.spark, self.locator, self.output, rows) if n_read else 0
        new.unpersist()
        changed, changed_new, jobs_wm = self._refresh_changed_jobs(jobs, interval, watermarks)
        return CollectResult(
            name=self.name,
            rows_read={"job_run_timeline": n_read, "jobs": changed},
            rows_new={"job_run_timeline": n_new, "jobs": changed_new},
            rows_written=written,
            watermarks={"job_run_timeline": (advance(mark, newest), n_new), "jobs": (jobs_wm, changed_new)},
            incremental=mark is not None,
        )

    def _refresh_changed_jobs(
        self, jobs: DataFrame, interval: Interval, watermarks: dict[str, datetime]
    ) -> tuple[int, int, datetime | None]:
        """Renames, retags and deletions reach the runs already collected for those jobs."""
        from dataops_jobs.io import read_output

        changes = self.read_new("jobs", "change_time", interval, watermarks).select(
            "workspace_id", "job_id", "change_time").cache()
        n_changed, n_new, newest, _ = read_stats(changes, "change_time", watermarks.get("jobs"))
        existing = read_output(self.spark, self.locator, self.output)
        if n_changed and existing is not None and "jobs" in watermarks:
            attrs = ["job_name", "created_by", "tags", "run_as", "job_deleted"]
            stale = existing.join(changes.select("workspace_id", "job_id").distinct(),
                                  ["workspace_id", "job_id"], "left_semi").drop(*attrs)
            merge_into(self.spark, self.locator, self.output, stale.join(jobs, ["workspace_id", "job_id"], "left"))
        changes.unpersist()
        return n_changed, n_new, advance(watermarks.get("jobs"), newest)
