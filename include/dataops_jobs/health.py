"""HealthAnalyzer: the ``health`` processor writing ``job_health_scores`` (one row per job per cycle).

Scores sit on a daily grid, so the history is the same however the cycles were cut: the row with
``calculation_time`` ``T`` (a UTC midnight) scores the day that ends at ``T``. Each cycle (re)writes
the rows of the days completed since the stage's watermark, the days a late-collected run changed,
and the row of the current day "as of" the cycle's end (``as_of`` < ``T`` until the day is over; the
next cycle overwrites it). The first cycle writes every day of the backfill window.

Formula (``T`` = the grid day's end, ``A`` = ``as_of`` = min(T, cycle end), ``W`` =
``health.window_days``, ``B`` = ``health.baseline_days``):

* Runs: terminal runs (not RUNNING or SKIPPED, ended by ``A``) started in the window ``(T-W, A]``;
  the baseline is ``(T-W-B, T-W]``. A job gets a row when it has at least one terminal run in the
  window.
* Components, each a goodness ``g`` in [0, 1] (NULL = not applicable to the job):

  - success_rate: the column is ``1 - failed / runs`` (failed = ERROR, FAILED, TIMED_OUT), its goodness
    ``g = 1 - clip(failed / runs / health.max_failure_rate)``: with 0.5 each failure costs twice its
    share and a job failing every other run has lost all these points;
  - current_failures ``g = 1 - clip(streak / health.failing_streak_runs)``, ``streak`` the failed runs
    since the job's last successful run in the window (``current_failure_streak``): a job that is
    failing now loses half of it on one failed latest run and all of it on two;
  - performance_stability ``g = clip(1 - max(0, cv - 0.1) / 0.9)``, ``cv = 1.4826 * MAD(ln duration)``
    over successful runs (a robust coefficient of variation; >= 3 runs);
  - sla_adherence ``g`` = share of runs meeting the job's SLA (``sla.jobs``: max duration and/or
    ``finish_by`` for runs started before the deadline); NULL without an SLA;
  - retry_rate ``g = 1 - retried / runs`` (repaired, ``attempts > 1``, or an automatic retry run);
  - duration_drift ``d = median(window durations) / median(baseline durations) - 1`` and
    ``g = 1 - clip(d - tol)`` (``tol`` = ``health.drift_tolerance``, 10 %: +110 % costs it all);
  - cost_drift, the same on DBUs per run from ``job_costs``.
* ``raw = 100 * sum(w_i * g_i) / sum(w_i)`` over the applicable components (``health.weights``,
  normalised per job), so every point lost is attributable: component ``i`` costs
  ``100 * w_i / sum(w) * (1 - g_i)`` points.
* Why these weights (the ranking an on-call engineer expects): reliability first (success rate 0.4,
  current failures 0.2), then promises (SLA 0.15), then retries (0.05) and performance (stability
  0.08, duration drift 0.07, cost drift 0.05: 0.2 together). The ratios guarantee, whatever the
  normalisation: failing more than 10 % of runs costs more than any duration variance (0.4 * 0.1 /
  0.5 = 0.08, the stability weight); failing 25 % costs as much as stability, duration and cost drift
  at their worst together; and a job whose last two runs failed ranks below a job with the same
  failures that has since recovered, and below one that recovered from up to a quarter of the
  window's runs more failures (0.2 = 0.4 * 0.25 / 0.5).
* Confidence ``c = min(1, runs / health.min_runs_for_confidence)``; the score is shrunk toward the
  neutral prior ``P`` (``health.neutral_score``, 75): ``health_score = P + c * (raw - P)``. The
  ``points_lost_*`` columns are the component losses times ``c``; ``points_lost_uncertainty =
  (1 - c) * (100 - P)``; together they add up to ``100 - health_score``. Two runs give ``c = 0.2``:
  whatever happened, the score stays near the prior and says so.
* Trend, window against baseline (each side needs >= 5 runs): a two-proportion z-test on the failure
  rate (pooled, with Yates' continuity correction so that small counts are not over-read), and a test on the median log duration of successful runs (standard error
  ``1.2533 * sigma * sqrt(1/n_w + 1/n_b)``, ``sigma`` the larger robust spread of the two periods) that also needs a
  change of at least ``tol``. ``degrading`` when either z >= ``health.trend_z`` (2.58, one-sided
  p ~ 0.005), ``improving`` when either z <= -``trend_z`` and nothing degrades, else ``stable``.
  Random variation of a stable job stays ``stable``.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, ClassVar

from pyspark.sql import Column
from pyspark.sql import functions as F

import dataops_jobs.schemas.analysis  # noqa: F401  (registers job_health_scores)
from dataops_jobs.io import merge_into, read_output
from dataops_jobs.processors import AnalysisWindow, BaseProcessor, ProcessResult
from dataops_jobs.schemas.analysis import COMPONENTS, JOB_HEALTH_SCORES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from dataops_jobs.collectors.base import Interval
    from dataops_jobs.config import HealthConfig, JobSla

log = logging.getLogger(__name__)

MIN_TREND_RUNS = 5
_JOB = ["workspace_id", "job_id"]
_KEY = [*_JOB, "calculation_time"]
_SLA_SCHEMA = "sla_job_id STRING, sla_job_name STRING, max_duration_minutes DOUBLE, finish_by STRING, tz STRING"


def _clip01(col: Column) -> Column:
    return F.least(F.greatest(col, F.lit(0.0)), F.lit(1.0))


def sla_rules(spark: SparkSession, slas: list[JobSla]) -> DataFrame:
    """The configured SLAs as a small DataFrame (matched by job id, else by job name)."""
    rows = [(s.job_id, s.job_name, s.max_duration_minutes, s.finish_by, s.timezone) for s in slas]
    return spark.createDataFrame(rows, _SLA_SCHEMA)


def with_sla(runs: DataFrame, rules: DataFrame) -> DataFrame:
    """Add ``sla_met`` (NULL when the job has no SLA) to each run."""
    by_id = rules.where(F.col("sla_job_id").isNotNull()).dropDuplicates(["sla_job_id"])
    by_name = rules.where(F.col("sla_job_id").isNull()).dropDuplicates(["sla_job_name"])
    cols = ["max_duration_minutes", "finish_by", "tz"]
    joined = (
        runs.join(by_id.select(F.col("sla_job_id").alias("job_id"), *[F.col(c).alias(f"_i_{c}") for c in cols]),
                  "job_id", "left")
        .join(by_name.select(F.col("sla_job_name").alias("job_name"), *[F.col(c).alias(f"_n_{c}") for c in cols]),
              "job_name", "left")
    )
    has_id = F.col("_i_tz").isNotNull()
    pick = {c: F.when(has_id, F.col(f"_i_{c}")).otherwise(F.col(f"_n_{c}")) for c in cols}
    local_start = F.from_utc_timestamp("start_time", pick["tz"])
    deadline = F.to_timestamp(F.concat(F.to_date(local_start).cast("string"), F.lit(" "), pick["finish_by"]),
                              "yyyy-MM-dd HH:mm")
    on_time = F.when(pick["finish_by"].isNull() | (local_start > deadline), True).otherwise(
        F.from_utc_timestamp("end_time", pick["tz"]) <= deadline)
    fast = F.when(pick["max_duration_minutes"].isNull(), True).otherwise(
        F.col("duration_minutes") <= pick["max_duration_minutes"])
    met = F.when(pick["tz"].isNull(), F.lit(None).cast("boolean")).otherwise(on_time & fast)
    return joined.withColumn("sla_met", met).drop(*[f"_{p}_{c}" for p in "in" for c in cols])


def grid(spark: SparkSession, ends: list[datetime], as_of: datetime, cfg: HealthConfig) -> DataFrame:
    """The grid points to score: ``calculation_time`` T, ``as_of`` min(T, as_of) and the window start."""
    rows = [(t, min(t, as_of), t - timedelta(days=cfg.window_days)) for t in ends]
    return spark.createDataFrame(rows, "calculation_time TIMESTAMP, as_of TIMESTAMP, window_start TIMESTAMP")


def day_ends(after: datetime, end: datetime) -> list[datetime]:
    """UTC midnights in ``(after, end]``, plus the end of the day ``end`` is in when it is not one."""
    first = datetime.combine(after.date(), time()) + timedelta(days=1)
    out = []
    t = first
    while t <= end:
        out.append(t)
        t += timedelta(days=1)
    if not out or out[-1] < end:
        out.append(datetime.combine(end.date(), time()) + timedelta(days=1))
    return out


def window_runs(runs: DataFrame, points: DataFrame, cfg: HealthConfig) -> DataFrame:
    """Terminal runs of each grid point's window and baseline, tagged ``in_window``; ``ln_d`` for successes."""
    ok = F.col("status") == "SUCCEEDED"
    first = F.col("window_start") - F.expr(f"INTERVAL {cfg.baseline_days} DAYS")
    terminal = runs.where(F.col("end_time").isNotNull() & ~F.col("status").isin("RUNNING", "SKIPPED"))
    return (
        terminal.join(F.broadcast(points), (F.col("start_time") > first) & (F.col("start_time") <= F.col("as_of"))
                      & (F.col("end_time") <= F.col("as_of")))
        .withColumn("in_window", F.col("start_time") > F.col("window_start"))
        .withColumn("ln_d", F.when(ok & (F.col("duration_minutes") > 0), F.log(F.col("duration_minutes"))))
        .withColumn("retried", (F.coalesce(F.col("attempts"), F.lit(1)) > 1) | (F.col("trigger_type") == "ONETIME_RETRY"))
    )


def _period_stats(tagged: DataFrame, prefix: str) -> DataFrame:
    """Counts, medians and robust spread of one period (``w_`` window, ``b_`` baseline) per job."""
    med = tagged.groupBy(*_KEY).agg(
        F.median("ln_d").alias("_med"),
        F.max(F.when(F.col("status") == "SUCCEEDED", F.col("start_time"))).alias("_last_ok"))
    since_ok = F.col("_last_ok").isNull() | (F.col("start_time") > F.col("_last_ok"))
    spread = (tagged.join(med, _KEY).groupBy(*_KEY)
              .agg(F.median(F.abs(F.col("ln_d") - F.col("_med"))).alias("mad"),
                   F.sum((F.col("is_failed") & since_ok).cast("int")).alias("streak")))
    stats = tagged.groupBy(*_KEY).agg(
        F.count(F.lit(1)).alias("runs"),
        F.sum(F.col("is_failed").cast("int")).alias("failed"),
        F.sum(F.col("retried").cast("int")).alias("retried"),
        F.count("ln_d").alias("ok_runs"),
        F.median("ln_d").alias("ln_med"),
        F.count("sla_met").alias("sla_runs"),
        F.sum(F.col("sla_met").cast("int")).alias("sla_ok"),
        F.median("dbus").alias("dbus_med"),
        F.count("dbus").alias("cost_runs"),
        F.max_by("job_name", "start_time").alias("job_name"),
    )
    out = stats.join(spread, _KEY, "left")
    return out.select(*_KEY, *[F.col(c).alias(f"{prefix}{c}") for c in out.columns if c not in _KEY])


def _drift_goodness(ratio: Column, tol: float) -> Column:
    # NULL (not applicable) stays NULL: least/greatest skip NULLs, so a bare _clip01 would turn a
    # job without a baseline or without costs into one with a perfect drift component.
    return F.when(ratio.isNotNull(), F.lit(1.0) - _clip01(ratio - F.lit(1.0) - F.lit(tol)))


def components(stats: DataFrame, cfg: HealthConfig) -> DataFrame:
    """Component values and goodness ``g_<name>`` (NULL when not applicable)."""
    tol = cfg.drift_tolerance
    failed_share = F.try_divide(F.col("w_failed"), F.col("w_runs"))
    cv = F.lit(1.4826) * F.col("w_mad")
    dur_ratio = F.exp(F.col("w_ln_med") - F.col("b_ln_med"))
    cost_ratio = F.try_divide(F.col("w_dbus_med").cast("double"), F.col("b_dbus_med").cast("double"))
    has_dur = (F.col("w_ok_runs") >= 3) & (F.col("b_ok_runs") >= 3)
    has_cost = (F.col("w_cost_runs") >= 3) & (F.col("b_cost_runs") >= 3) & (F.col("b_dbus_med") > 0)
    return (
        stats.withColumn("success_rate", F.lit(1.0) - F.try_divide(F.col("w_failed"), F.col("w_runs")))
        .withColumn("performance_stability", F.when(F.col("w_ok_runs") >= 3, _clip01(
            F.lit(1.0) - F.greatest(cv - F.lit(0.1), F.lit(0.0)) / F.lit(0.9))))
        .withColumn("sla_adherence", F.when(F.col("w_sla_runs") > 0, F.try_divide(F.col("w_sla_ok"), F.col("w_sla_runs"))))
        .withColumn("retry_rate", F.try_divide(F.col("w_retried"), F.col("w_runs")))
        .withColumn("duration_drift", F.when(has_dur, dur_ratio - F.lit(1.0)))
        .withColumn("cost_drift", F.when(has_cost, cost_ratio - F.lit(1.0)))
        .withColumn("g_success_rate", F.lit(1.0) - _clip01(failed_share / F.lit(cfg.max_failure_rate)))
        .withColumn("g_current_failures", F.lit(1.0) - _clip01(
            F.coalesce(F.col("w_streak"), F.lit(0)) / F.lit(float(cfg.failing_streak_runs))))
        .withColumn("g_performance_stability", F.col("performance_stability"))
        .withColumn("g_sla_adherence", F.col("sla_adherence"))
        .withColumn("g_retry_rate", F.lit(1.0) - F.col("retry_rate"))
        .withColumn("g_duration_drift", _drift_goodness(F.col("duration_drift") + F.lit(1.0), tol))
        .withColumn("g_cost_drift", _drift_goodness(F.col("cost_drift") + F.lit(1.0), tol))
    )


def score(df: DataFrame, cfg: HealthConfig) -> DataFrame:
    """Raw score, confidence, shrunk score and the points each component cost (see module doc)."""
    weights = cfg.weights.as_dict()
    applicable = [F.when(F.col(f"g_{c}").isNotNull(), F.lit(weights[c])).otherwise(0.0) for c in COMPONENTS]
    total = sum(applicable[1:], applicable[0])
    gained = [F.coalesce(F.col(f"g_{c}") * F.lit(weights[c]), F.lit(0.0)) for c in COMPONENTS]
    prior = F.lit(cfg.neutral_score)
    out = (
        df.withColumn("_wsum", total)
        .withColumn("raw_score", F.try_divide(F.lit(100.0) * sum(gained[1:], gained[0]), F.col("_wsum")))
        .withColumn("confidence", F.least(F.lit(1.0), F.col("w_runs") / F.lit(float(cfg.min_runs_for_confidence))))
        .withColumn("health_score", prior + F.col("confidence") * (F.col("raw_score") - prior))
        .withColumn("points_lost_uncertainty", (F.lit(1.0) - F.col("confidence")) * (F.lit(100.0) - prior))
    )
    for c in COMPONENTS:
        lost = F.try_divide(F.lit(100.0 * weights[c]), F.col("_wsum")) * (F.lit(1.0) - F.col(f"g_{c}")) * F.col("confidence")
        out = out.withColumn(f"points_lost_{c}", F.coalesce(lost, F.lit(0.0)))
    return out


def trend(df: DataFrame, cfg: HealthConfig) -> DataFrame:
    """``trend``, ``trend_statistic`` (z, positive = worse) and ``trend_reason``."""
    n1, n0 = F.col("w_runs"), F.coalesce(F.col("b_runs"), F.lit(0))
    p1, p0 = F.try_divide(F.col("w_failed"), n1), F.try_divide(F.col("b_failed"), n0)
    pooled = F.try_divide(F.col("w_failed") + F.coalesce(F.col("b_failed"), F.lit(0)), n1 + n0)
    se_f = F.sqrt(pooled * (F.lit(1.0) - pooled) * (F.try_divide(F.lit(1.0), n1) + F.try_divide(F.lit(1.0), n0)))
    gap = p1 - p0
    yates = F.lit(0.5) * (F.try_divide(F.lit(1.0), n1) + F.try_divide(F.lit(1.0), n0))
    corrected = F.signum(gap) * F.greatest(F.abs(gap) - yates, F.lit(0.0))
    z_f = F.when((n1 >= MIN_TREND_RUNS) & (n0 >= MIN_TREND_RUNS) & (se_f > 0), F.try_divide(corrected, se_f)).otherwise(0.0)
    sigma = F.greatest(F.lit(1.4826) * F.greatest(F.col("b_mad"), F.col("w_mad")), F.lit(0.02))
    m1, m0 = F.col("w_ok_runs"), F.col("b_ok_runs")
    diff = F.col("w_ln_med") - F.col("b_ln_med")
    se_d = F.lit(1.2533) * sigma * F.sqrt(F.try_divide(F.lit(1.0), m1) + F.try_divide(F.lit(1.0), m0))
    material = F.abs(F.exp(diff) - F.lit(1.0)) >= F.lit(cfg.drift_tolerance)
    z_d = F.when((m1 >= MIN_TREND_RUNS) & (m0 >= MIN_TREND_RUNS) & material, F.try_divide(diff, se_d)).otherwise(0.0)
    z = F.lit(cfg.trend_z)
    by_failures = F.abs(F.col("_z_f")) >= F.abs(F.col("_z_d"))
    reason = F.when(by_failures, F.format_string(
        "failure rate %.0f%% (%d/%d) vs %.0f%% (%d/%d) in the baseline, z=%.2f",
        p1 * 100, F.col("w_failed"), n1, F.coalesce(p0, F.lit(0.0)) * 100, F.coalesce(F.col("b_failed"), F.lit(0)),
        n0, F.col("_z_f"))).otherwise(F.format_string(
            "median duration %+.0f%% vs the baseline, z=%.2f", (F.exp(diff) - 1) * 100, F.col("_z_d")))
    return (
        df.withColumn("_z_f", F.coalesce(z_f, F.lit(0.0))).withColumn("_z_d", F.coalesce(z_d, F.lit(0.0)))
        .withColumn("trend", F.when((F.col("_z_f") >= z) | (F.col("_z_d") >= z), "degrading")
                    .when((F.col("_z_f") <= -z) | (F.col("_z_d") <= -z), "improving").otherwise("stable"))
        .withColumn("trend_statistic", F.when(by_failures, F.col("_z_f")).otherwise(F.col("_z_d")))
        .withColumn("trend_reason", reason)
    )


def explanation(cfg: HealthConfig) -> Column:
    """"lost 24 points on success rate (6/10 failed), 8 on duration drift (+85% vs baseline)"."""
    def part(component: str, text: Column) -> Column:
        return F.when(F.col(f"points_lost_{component}") >= 0.5, text)

    def pts(component: str) -> Column:
        return F.round(F.col(f"points_lost_{component}")).cast("int")

    parts = [
        part("success_rate", F.format_string("%d on success rate (%d/%d failed)", pts("success_rate"),
                                             F.col("w_failed"), F.col("w_runs"))),
        part("current_failures", F.when(F.col("w_streak") == 1, F.format_string(
            "%d on current failures (the latest run failed)", pts("current_failures"))).otherwise(F.format_string(
                "%d on current failures (the last %d runs failed)", pts("current_failures"), F.col("w_streak")))),
        part("sla_adherence", F.format_string("%d on SLA adherence (%d/%d runs missed the SLA)",
                                              pts("sla_adherence"), F.col("w_sla_runs") - F.col("w_sla_ok"),
                                              F.col("w_sla_runs"))),
        part("retry_rate", F.format_string("%d on retry rate (%d/%d runs retried)", pts("retry_rate"),
                                           F.col("w_retried"), F.col("w_runs"))),
        part("performance_stability", F.format_string(
            "%d on performance stability (robust CV %.0f%%)", pts("performance_stability"),
            F.col("w_mad") * 148.26)),
        part("duration_drift", F.format_string("%d on duration drift (%+.0f%% vs baseline)", pts("duration_drift"),
                                               F.col("duration_drift") * 100)),
        part("cost_drift", F.format_string("%d on cost drift (%+.0f%% DBUs per run vs baseline)",
                                           pts("cost_drift"), F.col("cost_drift") * 100)),
        part("uncertainty", F.format_string("%d to low confidence (%d runs of the %d needed)", pts("uncertainty"),
                                            F.col("w_runs"), F.lit(cfg.min_runs_for_confidence))),
    ]
    lost = F.concat_ws(", ", *parts)
    head = F.when(lost == "", F.format_string("no points lost over %d runs", F.col("w_runs"))).otherwise(
        F.concat(F.lit("lost "), lost))
    return F.concat(head, F.lit("; trend "), F.col("trend"), F.lit(": "), F.col("trend_reason"))


def health_scores(runs: DataFrame, costs: DataFrame | None, rules: DataFrame, points: DataFrame,
                  cfg: HealthConfig) -> DataFrame:
    """``job_health_scores`` rows for every grid point (:func:`grid`) and job with a terminal run in
    the point's window."""
    tagged = window_runs(runs, points, cfg)
    if costs is not None:
        tagged = tagged.join(costs.select(*_JOB, "run_id", F.col("dbus").cast("double").alias("dbus")),
                             [*_JOB, "run_id"], "left")
    else:
        tagged = tagged.withColumn("dbus", F.lit(None).cast("double"))
    tagged = with_sla(tagged, rules)
    stats = _period_stats(tagged.where("in_window"), "w_").join(
        _period_stats(tagged.where(~F.col("in_window")), "b_"), _KEY, "left")
    scored = trend(score(components(stats, cfg), cfg), cfg)
    out = (
        scored.join(F.broadcast(points), "calculation_time")
        .withColumn("explanation", explanation(cfg))
        .withColumn("window_end", F.col("as_of"))
        .withColumn("job_name", F.col("w_job_name"))
        .withColumn("runs_in_window", F.col("w_runs").cast("int"))
        .withColumn("failed_runs", F.col("w_failed").cast("int"))
        .withColumn("baseline_runs", F.coalesce(F.col("b_runs"), F.lit(0)).cast("int"))
        .withColumn("current_failure_streak", F.coalesce(F.col("w_streak"), F.lit(0)).cast("int"))
    )
    types = {c.name: c.type for c in JOB_HEALTH_SCORES.columns}
    return out.select(*[F.col(c).cast(t).alias(c) for c, t in types.items()])


class HealthAnalyzer(BaseProcessor):
    """Scores every job's health at the interval end and MERGEs ``job_health_scores``."""

    name: ClassVar[str] = "health"
    output: ClassVar[str] = "job_health_scores"

    def grid_points(self, runs: DataFrame, window: AnalysisWindow) -> list[datetime]:
        """Days to (re)score: those completed since the watermark or touched by a late-collected run
        (bounded by the backfill window), and the current day as of the window's end."""
        floor = window.end - timedelta(days=self.config.analysis.backfill_days or self.config.collection.lookback_days)
        after = window.start
        if not window.backfill:
            late = runs.where(window.collected() & F.col("end_time").isNotNull()).agg(F.min("end_time")).first()
            if late is not None and late[0] is not None:
                after = min(after, late[0] - timedelta(microseconds=1))
        return day_ends(max(after, floor), window.end)

    def process(self, interval: Interval) -> ProcessResult:
        """Score the grid days the window touches (one row per job and day, see the module doc)."""
        window = AnalysisWindow.of(interval)
        cfg = self.config.health
        runs = read_output(self.spark, self.locator, "job_monitoring")
        if runs is None:
            log.info("job_monitoring does not exist yet: no health scores to compute")
            return ProcessResult(self.name, 0, {"skipped": "no job_monitoring table"})
        ends = self.grid_points(runs, window)
        first = ends[0] - timedelta(days=cfg.window_days + cfg.baseline_days + 1)
        runs = runs.where((F.col("start_time") > F.lit(first)) & (F.col("start_time") <= F.lit(window.end)))
        costs = read_output(self.spark, self.locator, "job_costs")
        rules = sla_rules(self.spark, list(self.config.sla.jobs))
        points = grid(self.spark, ends, window.end, cfg)
        scores = health_scores(runs, costs, rules, points, cfg).localCheckpoint()
        written = merge_into(self.spark, self.locator, self.output, scores)
        latest = scores.where(F.col("calculation_time") == F.lit(ends[-1]))
        summary = latest.agg(F.avg("health_score").alias("mean"), F.count(F.lit(1)).alias("jobs"),
                             F.sum((F.col("trend") == "degrading").cast("int")).alias("degrading")).first()
        details = {"jobs": int(summary["jobs"] or 0) if summary else 0, "days_scored": len(ends),
                   "mean_score": round(float(summary["mean"] or 0.0), 1) if summary else None,
                   "degrading": int(summary["degrading"] or 0) if summary else 0}
        return ProcessResult(self.name, written, details)


__all__ = ["HealthAnalyzer", "health_scores", "sla_rules", "with_sla"]
