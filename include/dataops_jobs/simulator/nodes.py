"""node_timeline generated in Spark: instance up-intervals exploded to one row per minute, with
deterministic pseudo-random metrics from hashes of (seed, instance, minute) (no Python loop, no UDF).

Shapes: CPU is low during cluster setup then varies around the job's level; ``cpu_target`` (CPU
saturation incident) pins user+system CPU near the target. Memory grows slowly over a run; with
``leak_target`` (memory leak incident) it ramps towards the target, and swap appears above 90 %.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from dataops_jobs.schemas.system import SYSTEM_TABLES
from dataops_jobs.simulator import constants as c

if TYPE_CHECKING:
    from dataops_jobs.simulator.compute import Interval

_INTERVALS = StructType(
    [
        StructField("workspace_id", StringType()),
        StructField("cluster_id", StringType()),
        StructField("instance_id", StringType()),
        StructField("driver", BooleanType()),
        StructField("node_type", StringType()),
        StructField("start_s", LongType()),
        StructField("end_s", LongType()),
        StructField("busy_s", LongType()),
        StructField("base_cpu", DoubleType()),
        StructField("base_mem", DoubleType()),
        StructField("leak_target", DoubleType()),
        StructField("cpu_target", DoubleType()),
        StructField("net_bytes_per_min", LongType()),
        StructField("disk_bytes", LongType()),
        StructField("low_after_s", LongType()),
        StructField("low_cpu", DoubleType()),
    ]
)


def _uniform(seed: int, salt: str) -> Column:
    """A deterministic uniform [0, 1) per (seed, instance, minute, salt)."""
    h = F.xxhash64(F.lit(seed), F.col("instance_id"), F.col("minute_s"), F.lit(salt))
    return F.pmod(h, F.lit(1_000_003)).cast("double") / F.lit(1_000_003.0)


def _clip(col: Column, lo: float = 0.0, hi: float = 100.0) -> Column:
    return F.least(F.greatest(col, F.lit(lo)), F.lit(hi))


def _metrics(seed: int) -> list[Column]:
    progress = _clip(
        (F.col("minute_s") - F.col("start_s")) / F.greatest(F.col("end_s") - F.col("start_s"), F.lit(1)),
        0.0,
        1.0,
    )
    busy = F.col("minute_s") >= F.col("busy_s")
    level = F.when(F.col("low_after_s").isNotNull() & (F.col("minute_s") >= F.col("low_after_s")),
                   F.col("low_cpu")).otherwise(F.col("base_cpu"))
    cpu_normal = F.when(
        busy, level * (F.lit(0.7) + F.lit(0.6) * _uniform(seed, "cpu"))
    ).otherwise(F.lit(3.0) + F.lit(8.0) * _uniform(seed, "cpu"))
    cpu_total = F.when(
        F.col("cpu_target").isNotNull() & busy & ~F.col("driver"),
        F.col("cpu_target") + F.lit(4.0) * (_uniform(seed, "cpu") - F.lit(0.5)),
    ).otherwise(cpu_normal)
    system_share = F.lit(0.06) + F.lit(0.06) * _uniform(seed, "sys")
    mem_normal = F.col("base_mem") + F.lit(8.0) * progress + F.lit(4.0) * (_uniform(seed, "mem") - F.lit(0.5))
    mem_leak = (
        F.col("base_mem")
        + (F.col("leak_target") - F.col("base_mem")) * F.pow(progress, F.lit(1.3))
        + F.lit(1.0) * (_uniform(seed, "mem") - F.lit(0.5))
    )
    mem = _clip(F.when(F.col("leak_target").isNotNull(), mem_leak).otherwise(mem_normal), 1.0, 99.9)
    net = F.col("net_bytes_per_min") * F.when(busy, F.lit(0.3) + _uniform(seed, "net")).otherwise(F.lit(0.02))
    disk_used = F.col("disk_bytes") * (F.lit(0.05) + F.lit(0.5) * progress)
    return [
        F.round(_clip(cpu_total * (F.lit(1.0) - system_share)), 2).alias("cpu_user_percent"),
        F.round(_clip(cpu_total * system_share), 2).alias("cpu_system_percent"),
        F.round(F.lit(4.0) * F.pow(_uniform(seed, "wait"), F.lit(3.0)), 2).alias("cpu_wait_percent"),
        F.round(mem, 2).alias("mem_used_percent"),
        F.round(F.when(mem > 90, (mem - F.lit(90.0)) * F.lit(1.5)).otherwise(F.lit(0.0)), 2).alias(
            "mem_swap_percent"
        ),
        net.cast("bigint").alias("network_sent_bytes"),
        (net * (F.lit(1.5) + _uniform(seed, "rx"))).cast("bigint").alias("network_received_bytes"),
        F.create_map(
            F.lit("/"),
            F.lit(28 * 10**9).cast("bigint") - (F.lit(10**9) * _uniform(seed, "root")).cast("bigint"),
            F.lit("/local_disk0"),
            (F.col("disk_bytes") - disk_used).cast("bigint"),
        ).alias("disk_free_bytes_per_mount_point"),
    ]


def node_timeline(
    spark: SparkSession, intervals: list[Interval], lo_s: int, hi_s: int, seed: int
) -> DataFrame:
    """node_timeline rows (exact system schema) of ``intervals`` for minutes in ``[lo_s, hi_s)``."""
    df = spark.createDataFrame(intervals, _INTERVALS, verifySchema=False)
    first = F.greatest(F.floor(F.col("start_s") / 60) * 60, F.lit(lo_s))
    last = F.floor((F.least(F.col("end_s"), F.lit(hi_s)) - 1) / 60) * 60
    minutes = (
        df.withColumn("first_s", first.cast("bigint"))
        .withColumn("last_s", last.cast("bigint"))
        .where(F.col("last_s") >= F.col("first_s"))
        .withColumn("minute_s", F.explode(F.sequence("first_s", "last_s", F.lit(60).cast("bigint"))))
    )
    out = minutes.select(
        F.lit(c.ACCOUNT_ID).alias("account_id"),
        "workspace_id",
        "cluster_id",
        "instance_id",
        F.timestamp_seconds("minute_s").alias("start_time"),
        F.timestamp_seconds(F.col("minute_s") + 60).alias("end_time"),
        "driver",
        *_metrics(seed),
        "node_type",
    )
    schema = SYSTEM_TABLES["compute.node_timeline"]
    return out.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])
