"""Right-sizing and cost recommendations: the ``recommendations`` stage.

Every cycle: the per-run evidence of the runs collected since the stage's watermark
(``analysis.recommendations``) is summarised into ``recommendation_run_stats``. At most every
``recommendations.evaluate_every_hours`` (watermark ``analysis.recommendations_evaluated``): the
jobs' evidence over the last ``lookback_days`` is turned into recommendations (``rules``) and MERGEd
into ``job_recommendations`` (one row per job, kind and week; ``is_current`` marks the rows the
latest evaluation wrote). Formulas: README "Recommendations".
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dataops_jobs.recommend.rules import (
    KINDS,
    ClusterEvidence,
    JobEvidence,
    Recommendation,
    cluster_idle,
    recommend,
)
from dataops_jobs.recommend.tables import JOB_RECOMMENDATIONS, RUN_RESOURCE_STATS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from dataops_jobs.config import Config
    from dataops_jobs.io import TableLocator
    from dataops_jobs.processors import AnalysisWindow

log = logging.getLogger(__name__)
EVALUATED_MARK = "recommendations_evaluated"
"""``_watermarks`` row ``analysis.recommendations_evaluated``: the instant of the last evaluation."""
MONTH_DAYS = 30.0

__all__ = [
    "JOB_RECOMMENDATIONS",
    "KINDS",
    "RUN_RESOURCE_STATS",
    "ClusterEvidence",
    "JobEvidence",
    "Recommendation",
    "RecommendationsResult",
    "evaluate",
    "recommend",
    "run_recommendations",
    "top_recommendations",
    "update_run_stats",
]


@dataclass
class RecommendationsResult:
    """What one stage run did (JSON-safe for XCom and the cycle summary)."""

    stats_rows: int = 0
    evaluated: bool = False
    recommendations: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    monthly_savings: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {**asdict(self), "monthly_savings": round(self.monthly_savings, 2)}


def update_run_stats(spark: SparkSession, config: Config, locator: TableLocator, window: AnalysisWindow) -> int:
    """Summarise the runs and cluster-days collected in the window; MERGE ``recommendation_run_stats``."""
    from dataops_jobs.io import merge_into, read_output
    from dataops_jobs.recommend.features import RUN_SPAN, run_stats, touched_minutes

    metrics = read_output(spark, locator, "resource_metrics")
    if metrics is None:
        return 0
    floor = window.end - timedelta(days=config.recommendations.lookback_days) - RUN_SPAN
    if not window.backfill and window.since is not None:
        floor = max(floor, window.since - RUN_SPAN)
    minutes = touched_minutes(metrics, window.since, window.end, floor)
    return merge_into(spark, locator, RUN_RESOURCE_STATS.name, run_stats(minutes, config.recommendations, window.end))


def _sla_limits(config: Config) -> tuple[dict[str, float], dict[str, float]]:
    by_id: dict[str, float] = {}
    by_name: dict[str, float] = {}
    for sla in config.sla.jobs:
        if sla.max_duration_minutes is None:
            continue
        if sla.job_id:
            by_id[sla.job_id] = sla.max_duration_minutes
        if sla.job_name:
            by_name[sla.job_name] = sla.max_duration_minutes
    return by_id, by_name


def _evidence(row: dict[str, Any], config: Config) -> JobEvidence:
    by_id, by_name = _sla_limits(config)
    names = {f.name for f in fields(JobEvidence)}
    values = {k: v for k, v in row.items() if k in names and v is not None}
    values["workers"] = None if row.get("worker_count") is None else int(row["worker_count"])
    values["autoscale_max"] = None if row.get("max_autoscale_workers") is None else int(row["max_autoscale_workers"])
    values["worker_node"] = row.get("worker_node_type")
    values["sla_limit_minutes"] = by_id.get(row["job_id"], by_name.get(row.get("job_name") or ""))
    return JobEvidence(**values)


def _read_inputs(spark: SparkSession, config: Config, locator: TableLocator, start: datetime, end: datetime
                 ) -> dict[str, DataFrame | None]:
    from pyspark.sql import functions as F

    from dataops_jobs.io import read_output, read_table
    from dataops_jobs.recommend.features import ALL_PURPOSE_SOURCES, RUN_SPAN, current_prices, job_runs

    runs = read_output(spark, locator, "job_monitoring")
    stats = read_output(spark, locator, RUN_RESOURCE_STATS.name)
    src = locator.source
    clusters = read_table(spark, src("clusters")).where(
        F.col("cluster_source").isin(*ALL_PURPOSE_SOURCES) | (F.col("change_time") >= F.lit(start - RUN_SPAN)))
    costs = read_output(spark, locator, "job_costs")
    return {
        "runs": None if runs is None else job_runs(runs, start, end),
        "stats": None if stats is None else stats.where(F.col("start_time") > F.lit(start - timedelta(days=1))),
        # Billing of a run can start before the run's first metric minute, never days before it.
        "costs": None if costs is None else costs.where(F.col("usage_start") > F.lit(start - RUN_SPAN)),
        "clusters": clusters,
        "node_types": read_table(spark, src("node_types")),
        "prices": current_prices(read_table(spark, src("list_prices"))),
        "usage": read_table(spark, src("usage")),
    }


def evaluate(spark: SparkSession, config: Config, locator: TableLocator, end: datetime) -> list[Recommendation]:
    """The recommendations the last ``lookback_days`` before ``end`` support (nothing is written)."""
    from dataops_jobs.recommend.features import _ap_rates, cluster_config, cluster_features, job_features

    cfg = config.recommendations
    start = end - timedelta(days=cfg.lookback_days)
    scale = MONTH_DAYS / cfg.lookback_days
    data = _read_inputs(spark, config, locator, start, end)
    runs, stats, prices = data["runs"], data["stats"], data["prices"]
    if runs is None or stats is None or prices is None or data["clusters"] is None or data["node_types"] is None \
            or data["usage"] is None:
        return []
    runs = runs.cache()
    stats = stats.cache()
    prices = prices.cache()
    conf = cluster_config(data["clusters"], data["node_types"]).cache()
    ap = _ap_rates(data["usage"], prices, start, end).cache()
    try:
        # One row per job (and per all-purpose cluster) crosses into Python: bounded by the job count.
        jobs = job_features(runs, stats, data["costs"], conf, ap, prices, cfg, scale).collect()
        clusters = cluster_features(stats, conf, ap, scale).collect()
    finally:
        for df in (runs, stats, prices, conf, ap):
            df.unpersist()
    found = [rec for row in jobs for rec in recommend(_evidence(row.asDict(), config), cfg)]
    for row in clusters:
        c = row.asDict()
        rec = cluster_idle(ClusterEvidence(c["workspace_id"], c["cluster_id"], c["cluster_name"],
                                           float(c["up_hours"] or 0.0), float(c["idle_hours"] or 0.0),
                                           float(c["monthly_cost"] or 0.0), c["auto_termination_minutes"],
                                           c["currency"] or "USD"), cfg)
        if rec is not None:
            found.append(rec)
    return found


def week_of(instant: datetime) -> date:
    """Monday (UTC) of the week of ``instant``: the ``period`` of a recommendation row."""
    day = instant.date()
    return day - timedelta(days=day.weekday())


def _rows(recs: list[Recommendation], runs_by_job: dict[str, int], start: datetime, end: datetime) -> list[tuple[Any, ...]]:
    period = week_of(end)
    out = []
    for r in recs:
        runs = r.evidence.get("runs", r.evidence.get("runs_with_metrics"))
        out.append((r.workspace_id, r.job_id, r.cluster_id, r.kind, period, r.job_name, r.current, r.proposed,
                    r.proposed_change, r.confidence, r.monthly_savings, r.monthly_cost, r.currency, r.p95_minutes,
                    r.predicted_p95_minutes, r.duration_risk, json.dumps(r.evidence, sort_keys=True, default=str),
                    runs if runs is not None else runs_by_job.get(r.job_id or ""), start, end, end, True))
    return out


def write_recommendations(spark: SparkSession, locator: TableLocator, recs: list[Recommendation], start: datetime,
                          end: datetime) -> int:
    """MERGE the rows of one evaluation, then mark every row it did not write as no longer current."""
    from dataops_jobs.io import ensure_table, merge_into, update_where

    ensure_table(spark, locator.output(JOB_RECOMMENDATIONS.name), JOB_RECOMMENDATIONS)
    written = 0
    if recs:
        schema = ", ".join(f"`{c.name}` {c.type}" for c in JOB_RECOMMENDATIONS.columns)
        df = spark.createDataFrame(_rows(recs, {}, start, end), schema)
        written = merge_into(spark, locator, JOB_RECOMMENDATIONS.name, df)
    stamp = end.strftime("%Y-%m-%d %H:%M:%S.%f")
    update_where(spark, locator, JOB_RECOMMENDATIONS.name,
                 f"is_current AND evaluated_at < TIMESTAMP '{stamp}'", {"is_current": "false"})
    return written


def evaluation_due(last_evaluated: datetime | None, end: datetime, every_hours: float) -> bool:
    """True on the first evaluation and once ``every_hours`` have passed since the last one."""
    return last_evaluated is None or end - last_evaluated >= timedelta(hours=every_hours)


def run_recommendations(spark: SparkSession, config: Config, locator: TableLocator, window: AnalysisWindow,
                        last_evaluated: datetime | None) -> RecommendationsResult:
    """The stage: gather the new runs' evidence; evaluate when ``evaluate_every_hours`` have passed."""
    cfg = config.recommendations
    result = RecommendationsResult()
    if not cfg.enabled:
        return result
    result.stats_rows = update_run_stats(spark, config, locator, window)
    if not evaluation_due(last_evaluated, window.end, cfg.evaluate_every_hours):
        return result
    recs = evaluate(spark, config, locator, window.end)
    write_recommendations(spark, locator, recs, window.end - timedelta(days=cfg.lookback_days), window.end)
    result.evaluated = True
    result.recommendations = len(recs)
    for rec in recs:
        result.by_kind[rec.kind] = result.by_kind.get(rec.kind, 0) + 1
    result.monthly_savings = sum(max(0.0, r.monthly_savings) for r in recs)
    return result


def top_recommendations(spark: SparkSession, locator: TableLocator, limit: int = 3) -> list[dict[str, Any]]:
    """The current recommendations with the largest savings, as plain dicts (at most ``limit``)."""
    from pyspark.sql import functions as F

    from dataops_jobs.io import read_output

    table = read_output(spark, locator, JOB_RECOMMENDATIONS.name)
    if table is None:
        return []
    rows = (table.where(F.col("is_current") & (F.col("estimated_monthly_savings") > 0))
            .orderBy(F.col("estimated_monthly_savings").desc(), "job_id", "kind").limit(limit).collect())
    return [r.asDict() for r in rows]
