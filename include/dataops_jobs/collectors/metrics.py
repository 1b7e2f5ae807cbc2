"""MetricsCollector: per cluster per minute utilisation from ``system.compute.node_timeline``.

Instances are aggregated per cluster and minute, then attributed to the job run whose tasks used
the cluster at that minute (from ``job_task_run_timeline.compute_ids``): a job cluster maps to one
run; an all-purpose cluster shared by concurrent runs yields one row per run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dataops_jobs.collectors.base import BaseCollector, CollectResult, Interval, advance, read_stats
from dataops_jobs.io import merge_into, read_table

CLUSTER_KEYS = ["workspace_id", "cluster_id"]


INSTANCE_KEYS = ["workspace_id", "cluster_id", "instance_id"]


def total_free(nodes: DataFrame) -> DataFrame:
    """Adds ``_free``: free bytes summed over the instance's mount points."""
    free = F.aggregate(F.map_values("disk_free_bytes_per_mount_point"), F.lit(0).cast("bigint"),
                       lambda acc, x: acc + F.coalesce(x, F.lit(0).cast("bigint")))
    return nodes.withColumn("_free", free)


def disk_capacity(history: DataFrame) -> DataFrame:
    """Per instance, the most free space it ever showed: node_timeline has no disk size, so this is
    the capacity estimate (an instance starts with its disks nearly empty)."""
    return total_free(history).groupBy(*INSTANCE_KEYS).agg(F.max("_free").alias("_capacity"))


def instance_disk_used(nodes: DataFrame, capacity: DataFrame) -> DataFrame:
    """Per instance-minute disk use in percent of the instance's capacity estimate."""
    return total_free(nodes).join(capacity, INSTANCE_KEYS, "left").withColumn(
        "_disk_used", F.when(F.col("_capacity") > 0, 100.0 * (1 - F.col("_free") / F.col("_capacity")))
    )


def cluster_minutes(nodes: DataFrame, capacity: DataFrame) -> DataFrame:
    """One row per cluster per minute with mean and peak utilisation over its instances."""
    cpu = F.col("cpu_user_percent") + F.col("cpu_system_percent")
    return (
        instance_disk_used(nodes, capacity)
        .withColumn("timestamp", F.date_trunc("minute", "start_time"))
        .groupBy(*CLUSTER_KEYS, "timestamp")
        .agg(
            # Rounded: a floating-point mean depends on summation order, and a re-run must give
            # the same table whatever the partitioning.
            F.round(F.avg(cpu), 4).alias("cpu_utilization"),
            F.round(F.avg("mem_used_percent"), 4).alias("memory_utilization"),
            F.round(F.avg("_disk_used"), 4).alias("disk_utilization"),
            F.sum(F.coalesce("network_sent_bytes", F.lit(0)) + F.coalesce("network_received_bytes", F.lit(0)))
            .cast("bigint").alias("network_io"),
            F.max(cpu).alias("cpu_utilization_max"),
            F.max("mem_used_percent").alias("memory_utilization_max"),
            F.max(F.when(F.col("driver"), F.col("mem_used_percent"))).alias("driver_memory_utilization"),
            F.max(F.when(F.col("driver"), cpu)).alias("driver_cpu_utilization"),
            F.round(F.avg("cpu_wait_percent"), 4).alias("cpu_wait_percent"),
            F.max("mem_swap_percent").alias("swap_percent"),
            F.countDistinct("instance_id").cast("int").alias("instance_count"),
        )
    )


def run_intervals(task_slices: DataFrame) -> DataFrame:
    """(cluster, job, run, start, end) from the task timeline's compute ids."""
    return (
        task_slices.select("workspace_id", "job_id", F.col("job_run_id").alias("run_id"),
                           "period_start_time", "period_end_time",
                           F.explode("compute_ids").alias("cluster_id"))
        .groupBy(*CLUSTER_KEYS, "job_id", "run_id")
        .agg(F.min("period_start_time").alias("_start"), F.max("period_end_time").alias("_end"))
    )


def attribute_to_runs(minutes: DataFrame, intervals: DataFrame) -> DataFrame:
    """Attach job_id/run_id to each cluster-minute that falls inside a run using the cluster."""
    m, r = minutes.alias("m"), intervals.alias("r")
    cond = (
        (F.col("m.workspace_id") == F.col("r.workspace_id"))
        & (F.col("m.cluster_id") == F.col("r.cluster_id"))
        & (F.col("m.timestamp") >= F.date_trunc("minute", F.col("r._start")))
        & (F.col("m.timestamp") < F.col("r._end"))
    )
    return m.join(r, cond, "left").select("m.*", F.col("r.job_id"), F.col("r.run_id"))


class MetricsCollector(BaseCollector):
    """Collects cluster utilisation into ``resource_metrics``, attributed to job runs."""

    name = "metrics"
    output = "resource_metrics"

    def collect(self, interval: Interval, watermarks: dict[str, datetime]) -> CollectResult:
        nodes = self.read_new("node_timeline", "end_time", interval, watermarks).cache()
        mark = watermarks.get("node_timeline")
        n_read, n_new, newest, oldest = read_stats(nodes, "end_time", mark)
        written = 0
        if n_read and oldest is not None:
            since = oldest - timedelta(days=3)
            tasks = read_table(self.spark, self.locator.source("job_task_run_timeline")).where(
                (F.col("period_end_time") >= F.lit(since)) & (F.col("period_start_time") <= F.lit(interval.end))
            )
            history = read_table(self.spark, self.locator.source("node_timeline")).where(
                (F.col("start_time") >= F.lit(since)) & (F.col("end_time") <= F.lit(interval.end))
            ).join(nodes.select(*INSTANCE_KEYS).distinct(), INSTANCE_KEYS, "left_semi")
            rows = attribute_to_runs(cluster_minutes(nodes, disk_capacity(history)), run_intervals(tasks)).withColumn(
                "collected_at", F.lit(interval.end).cast("timestamp"))
            written = merge_into(self.spark, self.locator, self.output, rows)
        nodes.unpersist()
        return CollectResult(self.name, {"node_timeline": n_read}, {"node_timeline": n_new}, written,
                             {"node_timeline": (advance(mark, newest), n_new)}, mark is not None)
