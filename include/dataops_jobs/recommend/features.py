"""Spark side of the recommendations: per-run evidence (incremental) and per-job features.

``run_stats`` summarises ``resource_metrics`` per (cluster, run) and per cluster-day; the stage
recomputes only the runs and cluster-days collected since its watermark and MERGEs them into
``recommendation_run_stats``, so an evaluation reads one small row per run, not the minutes.
``job_features`` joins those rows with the runs, costs, cluster configuration and list prices of the
evidence window into one row per job (and ``cluster_features`` one row per all-purpose cluster).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from dataops_jobs.collectors.jobs import latest_rows

if TYPE_CHECKING:
    from dataops_jobs.config import RecommendationsConfig

ALL_PURPOSE_SOURCES = ("UI", "API")
#: Runs last at most this long (collectors.jobs.MAX_RUN_SPAN): how far back a touched run is re-read.
RUN_SPAN = timedelta(days=3)


def _worker(mean: str, driver: str) -> Column:
    """Workers' mean from the all-instance mean and the driver's value (all instances when unknown)."""
    k = F.col("instance_count")
    return F.when((k >= 2) & F.col(driver).isNotNull(), (F.col(mean) * k - F.col(driver)) / (k - 1)).otherwise(
        F.col(mean))


def run_stats(minutes: DataFrame, cfg: RecommendationsConfig, updated_at: datetime) -> DataFrame:
    """Per (cluster, run) and per cluster-day rows of ``recommendation_run_stats`` from metric minutes."""
    p = cfg.utilization_percentile
    m = minutes.select(
        "workspace_id", "cluster_id", "job_id", "run_id", "timestamp", "memory_utilization_max", "swap_percent",
        (F.col("instance_count") - 1).alias("_workers"),
        _worker("cpu_utilization", "driver_cpu_utilization").alias("_cpu"),
        _worker("memory_utilization", "driver_memory_utilization").alias("_mem"),
    )
    busy = F.col("_cpu") >= F.lit(cfg.idle_cpu_percent)
    needed = F.greatest(F.lit(1), F.floor(F.col("_workers") * F.col("_cpu") / cfg.cpu_target_percent) + 1)
    share = F.when(busy & (F.col("_workers") >= 1), F.least(needed, F.col("_workers")) / F.col("_workers"))
    runs = m.where(F.col("run_id").isNotNull()).groupBy("workspace_id", "cluster_id", "job_id", "run_id").agg(
        F.min("timestamp").alias("start_time"),
        F.count(F.lit(1)).cast("int").alias("minutes"),
        F.sum(busy.cast("int")).cast("int").alias("busy_minutes"),
        F.max("_workers").cast("int").alias("workers"),
        F.percentile_approx(F.when(busy, F.col("_cpu")), p, 10000).alias("cpu_p"),
        F.percentile_approx(F.when(busy, F.col("_mem")), p, 10000).alias("mem_p"),
        F.avg(share).alias("mean_needed_share"),
        F.percentile_approx(share, 0.1, 10000).alias("low_needed_share"),
        F.max("memory_utilization_max").alias("memory_peak"),
        F.max("swap_percent").alias("swap_max"),
    ).withColumn("idle_minutes", F.col("minutes") - F.coalesce("busy_minutes", F.lit(0)))
    days = m.withColumn("day", F.to_date("timestamp")).groupBy("workspace_id", "cluster_id", "day").agg(
        F.min("timestamp").alias("start_time"),
        F.countDistinct("timestamp").cast("int").alias("minutes"),
        F.countDistinct(F.when(F.col("run_id").isNull(), F.col("timestamp"))).cast("int").alias("idle_minutes"),
        F.max("_workers").cast("int").alias("workers"),
        F.max("memory_utilization_max").alias("memory_peak"),
        F.max("swap_percent").alias("swap_max"),
    )
    at = F.lit(updated_at).cast("timestamp")
    run_rows = runs.withColumn("day", F.to_date("start_time")).withColumn("updated_at", at)
    none = F.lit(None)
    day_rows = days.select(
        "*", none.cast("string").alias("job_id"), none.cast("string").alias("run_id"),
        none.cast("int").alias("busy_minutes"), *(none.cast("double").alias(c) for c in
                                                  ("cpu_p", "mem_p", "mean_needed_share", "low_needed_share")),
        at.alias("updated_at"))
    return run_rows.unionByName(day_rows)


def touched_minutes(metrics: DataFrame, since: datetime | None, end: datetime, floor: datetime) -> DataFrame:
    """Every metric minute of the runs and cluster-days that got a row collected in ``(since, end]``."""
    upper = F.col("collected_at") <= F.lit(end)
    new = metrics.where(upper if since is None else upper & (F.col("collected_at") > F.lit(since)))
    if since is None:
        return new.where(F.col("timestamp") >= F.lit(floor))
    keys = new.select("workspace_id", "cluster_id", F.to_date("timestamp").alias("_day")).distinct()
    span = metrics.where((F.col("timestamp") >= F.lit(floor)) & upper).withColumn("_day", F.to_date("timestamp"))
    runs = new.where(F.col("run_id").isNotNull()).select("workspace_id", "cluster_id", "run_id").distinct()
    # A run's minutes on its cluster, and every minute of the cluster-days touched.
    by_day = span.join(keys, ["workspace_id", "cluster_id", "_day"], "left_semi")
    by_run = span.join(runs, ["workspace_id", "cluster_id", "run_id"], "left_semi")
    return by_day.unionByName(by_run).dropDuplicates(["workspace_id", "cluster_id", "timestamp", "job_id", "run_id"]
                                                     ).drop("_day")


def current_prices(prices: DataFrame) -> DataFrame:
    """(cloud, sku_name, price, currency) in force now: the open-ended row of each SKU."""
    price = F.coalesce(F.col("pricing.effective_list.default"), F.col("pricing.default")).cast("double")
    w = Window.partitionBy("cloud", "sku_name").orderBy(F.col("price_start_time").desc())
    return (prices.where(F.col("price_end_time").isNull()).withColumn("_rn", F.row_number().over(w))
            .where("_rn = 1").select("cloud", "sku_name", price.alias("price"), "currency_code"))


def job_runs(runs: DataFrame, start: datetime, end: datetime) -> DataFrame:
    """Terminal runs started in ``(start, end]``."""
    return runs.where((F.col("start_time") > F.lit(start)) & (F.col("start_time") <= F.lit(end))
                      & F.col("end_time").isNotNull() & (F.col("end_time") <= F.lit(end)))


def cluster_config(clusters: DataFrame, node_types: DataFrame) -> DataFrame:
    """Latest row per cluster with its kind and the relative DBU weights (core counts) of its nodes."""
    latest = latest_rows(clusters, ["workspace_id", "cluster_id"])
    cores = node_types.select("node_type", F.col("core_count").cast("double").alias("_cores"))
    d, w = cores.withColumnRenamed("node_type", "driver_node_type").withColumnRenamed("_cores", "driver_weight"), \
        cores.withColumnRenamed("node_type", "worker_node_type").withColumnRenamed("_cores", "worker_weight")
    kind = F.when(F.col("cluster_source").isin(*ALL_PURPOSE_SOURCES), F.lit("all_purpose")).otherwise(F.lit("job_cluster"))
    return (latest.join(F.broadcast(d), "driver_node_type", "left").join(F.broadcast(w), "worker_node_type", "left")
            .select("workspace_id", "cluster_id", "cluster_name", "change_time", "worker_count", "max_autoscale_workers",
                    "min_autoscale_workers", "worker_node_type", "auto_termination_minutes", kind.alias("compute"),
                    F.coalesce("driver_weight", F.lit(1.0)).alias("driver_weight"),
                    F.coalesce("worker_weight", F.lit(1.0)).alias("worker_weight")))


def _median(col: str) -> Column:
    return F.percentile_approx(col, 0.5, 10000)


def _per_job_stats(stats: DataFrame, runs: DataFrame, cfg: RecommendationsConfig) -> DataFrame:
    """Medians over the job's runs of the per-run evidence, pressure counts, idle share."""
    keys = ["workspace_id", "job_id", "run_id"]
    st = stats.where(F.col("run_id").isNotNull()).join(runs.select(*keys, "is_failed"), keys)
    pressure = (F.col("memory_peak") >= cfg.memory_pressure_percent) | (F.coalesce("swap_max", F.lit(0.0)) > 0)
    per_job = st.groupBy("workspace_id", "job_id").agg(
        F.countDistinct("run_id").cast("int").alias("metric_runs"),
        _median("cpu_p").alias("cpu_p"), _median("mem_p").alias("mem_p"),
        F.percentile_approx(F.col("busy_minutes") / F.col("minutes"), 0.5, 10000).alias("busy_fraction"),
        _median("mean_needed_share").alias("needed_mean_share"),
        _median("low_needed_share").alias("needed_low_share"),
        _median("memory_peak").alias("memory_peak"),
        F.sum(pressure.cast("int")).cast("int").alias("pressure_runs"),
        F.sum((pressure & F.col("is_failed")).cast("int")).cast("int").alias("memory_failures"),
        F.sum("idle_minutes").alias("_run_idle"),
    )
    days = stats.where(F.col("run_id").isNull()).select("workspace_id", "cluster_id", "minutes",
                                                        F.col("idle_minutes").alias("_day_idle"))
    clusters = st.select("workspace_id", "job_id", "cluster_id").distinct()
    up = clusters.join(days, ["workspace_id", "cluster_id"]).groupBy("workspace_id", "job_id").agg(
        F.sum("minutes").alias("_up"), F.sum("_day_idle").alias("_day_idle"))
    share = F.when(F.col("_up") > 0, (F.coalesce("_day_idle", F.lit(0)) + F.col("_run_idle")) / F.col("_up"))
    return per_job.join(up, ["workspace_id", "job_id"], "left").withColumn("idle_share", F.least(share, F.lit(1.0))
                                                                            ).drop("_up", "_day_idle", "_run_idle")


def _per_job_cost(runs: DataFrame, costs: DataFrame, prices: DataFrame, scale: float) -> DataFrame:
    """Monthly cost of the job's runs at today's list prices, and of its failed runs."""
    keys = ["workspace_id", "job_id", "run_id"]
    by_sku = prices.groupBy("sku_name").agg(F.first("price").alias("_price"), F.first("currency_code").alias("currency"))
    c = (costs.join(runs.select(*keys, "is_failed"), keys)
         .withColumn("sku_name", F.element_at("sku_names", 1)).join(F.broadcast(by_sku), "sku_name", "left"))
    money = F.col("dbus").cast("double") * F.coalesce("_price", F.col("list_cost").cast("double") /
                                                       F.col("dbus").cast("double"))
    return c.groupBy("workspace_id", "job_id").agg(
        (F.sum(money) * scale).alias("monthly_cost"),
        (F.sum(F.when(F.col("is_failed"), money).otherwise(0.0)) * scale).alias("failed_monthly_cost"),
        F.first("currency", ignorenulls=True).alias("currency"),
    )


def _ap_rates(usage: DataFrame, prices: DataFrame, start: datetime, end: datetime) -> DataFrame:
    """All-purpose clusters over the window: DBUs per hour up, DBUs, all-purpose and jobs prices."""
    ap = usage.where((F.col("billing_origin_product") == "ALL_PURPOSE") & F.col("usage_metadata.cluster_id").isNotNull()
                     & (F.col("usage_start_time") >= F.lit(start)) & (F.col("usage_end_time") <= F.lit(end)))
    hours = (F.unix_timestamp("usage_end_time") - F.unix_timestamp("usage_start_time")) / 3600.0
    per = ap.groupBy("workspace_id", F.col("usage_metadata.cluster_id").alias("cluster_id"), "cloud").agg(
        F.sum(F.col("usage_quantity").cast("double")).alias("ap_dbus"),
        F.sum(hours).alias("_hours"), F.first("sku_name").alias("sku_name"))
    p = prices.select("cloud", "sku_name", "price", "currency_code")
    jobs = p.withColumnRenamed("sku_name", "_jobs_sku").withColumnRenamed("price", "jobs_price").drop("currency_code")
    return (per.join(F.broadcast(p), ["cloud", "sku_name"], "left")
            .withColumn("_jobs_sku", F.regexp_replace("sku_name", "ALL_PURPOSE_COMPUTE", "JOBS_COMPUTE"))
            .join(F.broadcast(jobs), ["cloud", "_jobs_sku"], "left")
            .select("workspace_id", "cluster_id", "ap_dbus", (F.col("ap_dbus") / F.col("_hours")).alias("dbu_per_hour"),
                    F.col("price").alias("ap_price"), "jobs_price", F.col("currency_code").alias("ap_currency")))


def job_features(runs: DataFrame, stats: DataFrame, costs: DataFrame | None, config: DataFrame, ap: DataFrame,
                 prices: DataFrame, cfg: RecommendationsConfig, scale: float) -> DataFrame:
    """One row per job with runs in the window: the fields of :class:`rules.JobEvidence`."""
    base = runs.groupBy("workspace_id", "job_id").agg(
        F.count(F.lit(1)).cast("int").alias("runs"),
        F.sum(F.col("is_failed").cast("int")).cast("int").alias("failed_runs"),
        F.percentile_approx("duration_minutes", 0.95, 10000).alias("p95_minutes"),
        F.max_by("job_name", "start_time").alias("job_name"),
        F.max_by("cluster_id", "start_time").alias("cluster_id"),
    )
    out = (base.join(config.drop("cluster_name", "change_time"), ["workspace_id", "cluster_id"], "left")
           .join(_per_job_stats(stats, runs, cfg), ["workspace_id", "job_id"], "left"))
    if costs is not None:
        out = out.join(_per_job_cost(runs, costs, prices, scale), ["workspace_id", "job_id"], "left")
    else:
        out = out.select("*", *(F.lit(None).cast(t).alias(c) for c, t in
                                (("monthly_cost", "double"), ("failed_monthly_cost", "double"), ("currency", "string"))))
    ap_runs = runs.join(ap, ["workspace_id", "cluster_id"]).groupBy("workspace_id", "job_id").agg(
        (F.sum(F.col("duration_minutes") / 60.0 * F.col("dbu_per_hour")) * scale).alias("ap_monthly_dbus"),
        F.first("ap_price").alias("ap_price"), F.first("jobs_price").alias("jobs_price"))
    compute = F.when(F.col("cluster_id").isNull(), F.lit("serverless")).otherwise(F.coalesce("compute", F.lit("job_cluster")))
    return out.join(ap_runs, ["workspace_id", "job_id"], "left").withColumn("compute", compute)


def cluster_features(stats: DataFrame, config: DataFrame, ap: DataFrame, scale: float) -> DataFrame:
    """One row per all-purpose cluster up in the window: up and idle hours, monthly cost."""
    days = stats.where(F.col("run_id").isNull()).groupBy("workspace_id", "cluster_id").agg(
        (F.sum("minutes") / 60.0).alias("up_hours"), (F.sum("idle_minutes") / 60.0).alias("idle_hours"))
    apc = config.where(F.col("compute") == "all_purpose").select("workspace_id", "cluster_id", "cluster_name",
                                                               "auto_termination_minutes")
    return (days.join(apc, ["workspace_id", "cluster_id"]).join(ap, ["workspace_id", "cluster_id"])
            .select("workspace_id", "cluster_id", "cluster_name", "up_hours", "idle_hours", "auto_termination_minutes",
                    (F.col("ap_dbus") * F.col("ap_price") * scale).alias("monthly_cost"),
                    F.col("ap_currency").alias("currency")))
