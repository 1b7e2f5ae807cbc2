"""CostsCollector: cost per job run from ``system.billing.usage`` at ``list_prices`` into ``job_costs``.

Only jobs compute and serverless jobs are billed with ``usage_metadata.job_id/job_run_id`` (jobs on
all-purpose clusters are billed to the cluster). Usage records land up to 12 hours late, so billing is
re-read with at least a day of overlap; every run touched by a new record is re-summed from all of
its records, and RETRACTION/RESTATEMENT rows net out in the plain SUM, as Databricks' own queries do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dataops_jobs.collectors.base import BaseCollector, CollectResult, Interval, advance, read_stats
from dataops_jobs.io import merge_into, read_table

BILLING_MIN_OVERLAP = timedelta(hours=24)
MONEY = "decimal(38,18)"


def job_usage(usage: DataFrame) -> DataFrame:
    """Usage rows attributable to a job run."""
    return usage.where(
        (F.col("billing_origin_product") == "JOBS")
        & F.col("usage_metadata.job_id").isNotNull()
        & F.col("usage_metadata.job_run_id").isNotNull()
    ).select(
        "workspace_id", "record_id", "sku_name", "cloud", "usage_start_time", "usage_end_time", "usage_quantity",
        F.col("usage_metadata.job_id").alias("job_id"),
        F.col("usage_metadata.job_run_id").alias("run_id"),
        F.coalesce(F.col("product_features.is_serverless"), F.lit(False)).alias("_serverless"),
    )


def priced(usage: DataFrame, prices: DataFrame) -> DataFrame:
    """Each usage row with the list price in force when it started (effective list, else default)."""
    u, p = usage.alias("u"), prices.alias("p")
    cond = (
        (F.col("u.cloud") == F.col("p.cloud"))
        & (F.col("u.sku_name") == F.col("p.sku_name"))
        & (F.col("u.usage_start_time") >= F.col("p.price_start_time"))
        & (F.col("p.price_end_time").isNull() | (F.col("u.usage_end_time") <= F.col("p.price_end_time")))
    )
    price = F.coalesce(F.col("p.pricing.effective_list.default"), F.col("p.pricing.default"))
    return u.join(p, cond, "left").select(
        "u.*", (F.col("u.usage_quantity") * price).cast(MONEY).alias("_cost"), F.col("p.currency_code")
    )


def run_costs(priced_usage: DataFrame) -> DataFrame:
    """``job_costs`` rows: DBUs and list cost summed per run."""
    return priced_usage.groupBy("workspace_id", "job_id", "run_id").agg(
        F.min("usage_start_time").alias("usage_start"),
        F.max("usage_end_time").alias("usage_end"),
        F.sum("usage_quantity").cast(MONEY).alias("dbus"),
        F.sum("_cost").cast(MONEY).alias("list_cost"),
        F.first("currency_code", ignorenulls=True).alias("currency_code"),
        F.array_sort(F.collect_set("sku_name")).alias("sku_names"),
        F.max("_serverless").alias("is_serverless"),
        F.count(F.lit(1)).cast("int").alias("record_count"),
    )


class CostsCollector(BaseCollector):
    """Collects the list cost of every job run into ``job_costs``."""

    name = "costs"
    output = "job_costs"

    def collect(self, interval: Interval, watermarks: dict[str, datetime]) -> CollectResult:
        overlap = max(self.overlap, BILLING_MIN_OVERLAP)
        new = job_usage(self.read_new("usage", "usage_end_time", interval, watermarks, overlap=overlap)).cache()
        mark = watermarks.get("usage")
        n_read, n_new, newest, oldest = read_stats(new, "usage_end_time", mark)
        written = 0
        if n_read and oldest is not None:
            keys = ["workspace_id", "job_id", "run_id"]
            since = oldest - timedelta(days=3)
            everything = job_usage(read_table(self.spark, self.locator.source("usage")).where(
                (F.col("usage_start_time") >= F.lit(since)) & (F.col("usage_end_time") <= F.lit(interval.end))
            )).join(new.select(*keys).distinct(), keys, "left_semi")
            prices = read_table(self.spark, self.locator.source("list_prices"))
            rows = run_costs(priced(everything, prices)).withColumn("collected_at", F.lit(interval.end).cast("timestamp"))
            written = merge_into(self.spark, self.locator, self.output, rows)
        new.unpersist()
        return CollectResult(self.name, {"usage": n_read}, {"usage": n_new}, written,
                             {"usage": (advance(mark, newest), n_new)}, mark is not None)
