"""Rule inputs for one data interval: the output tables read into the plain rows ``rules.py`` evaluates.

One reader per input table of :data:`~dataops_intelligence.alerting.rules.INPUT_TABLE`, each a bounded
Spark query collected to the driver (a cap per table, exceeded loudly rather than truncated: a
silently dropped job would look "cleared" and resolve its alert). Everything is read *as of* the
interval end, so re-evaluating an interval gives the same rows.

- ``runs``: the last ``runs_per_job`` runs of every job that started a run in the ``runs_lookback``
  before the interval end (a failure streak needs the runs before the interval; a job whose latest
  run failed keeps failing until a later run succeeds). A run that ended after the interval end is
  shown as still running. ``cluster_id`` is left out: job clusters change with every run, and as an
  alert label it would give every failed run its own fingerprint.
- ``health``: the latest ``job_health_scores`` row per job and the score before it (``previous_score``).
- ``anomalies``: ``job_anomalies`` detected in the interval (widened back by ``event_lag``); the
  detector's severities (low/medium/high) are mapped onto the engine's (info/warning/error).
- ``costs``: per job, its most expensive run billed in the interval and the median run cost over
  ``cost_baseline`` before it.
- ``freshness``: one row per ``_watermarks`` source (``last_row_time`` = its watermark).
- ``sla_breaches``: rows of the ``sla_breaches`` table (``dataops_jobs.sla``) evaluated in the
  interval, when the table exists.

Timestamps are collected as ISO-8601 UTC strings, so nothing depends on the worker's time zone.
pyspark is imported inside the functions only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dataops_intelligence.alerting.errors import AlertingError
from dataops_intelligence.alerting.rules import INPUT_TABLE, RuleKind

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from dataops_intelligence.alerting.model import Row
    from dataops_jobs.io import TableLocator

# dataops_jobs.io is imported inside the readers: dataops_jobs.schemas loads pyspark on import.

log = logging.getLogger(__name__)
_ISO = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSxxx"
# job_anomalies severities (anomaly.severity_thresholds) → the engine's Severity values.
ANOMALY_SEVERITY = {
    "info": "info",
    "low": "info",
    "medium": "warning",
    "high": "error",
    "critical": "critical",
    "warning": "warning",
    "error": "error",
}
# ``dataops_jobs.sla`` stamps each breach with the cycle instant that (re-)evaluated it.
_SLA_TIME_COLUMNS = ("evaluated_at", "breached_at", "detected_at", "start_time")


class AlertInputError(AlertingError):
    """Raised when an input table holds more rows for one interval than the configured cap."""


@dataclass(frozen=True)
class InputWindow:
    """The interval evaluated and how far back each input looks (all bounded).

    :param start: interval start (exclusive), timezone-aware.
    :param end: interval end (inclusive), timezone-aware; the "as of" time of every input.
    :param runs_lookback: jobs that started a run this long before ``end`` are evaluated.
    :param runs_per_job: runs kept per job (covers the longest failure streak a rule counts).
    :param health_lookback: a health score older than this is ignored.
    :param cost_baseline: history the cost baseline (median run cost) is taken from.
    :param event_lag: widens the anomaly, cost and SLA-breach windows back, for late rows (an event
        may then be seen by more than one cycle; the repeat interval bounds re-notification).
    :param max_rows: cap on the rows collected per input table.
    """

    start: datetime
    end: datetime
    runs_lookback: timedelta = timedelta(days=7)
    runs_per_job: int = 10
    health_lookback: timedelta = timedelta(days=7)
    cost_baseline: timedelta = timedelta(days=30)
    event_lag: timedelta = timedelta(0)
    max_rows: int = 100_000

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("InputWindow needs timezone-aware start and end")
        if self.start >= self.end:
            raise ValueError(f"empty interval ({self.start}, {self.end}]")

    @property
    def event_start(self) -> datetime:
        return self.start - self.event_lag


def _iso(df: DataFrame, *columns: str) -> DataFrame:
    from pyspark.sql import functions as F

    for name in columns:
        df = df.withColumn(name, F.date_format(F.col(name), _ISO))
    return df


def _read(spark: SparkSession, locator: TableLocator, name: str) -> DataFrame | None:
    from dataops_jobs.io import read_output

    df: DataFrame | None = read_output(spark, locator, name)
    return df


def _between(column: str, lo: datetime, hi: datetime) -> Column:
    from pyspark.sql import functions as F

    return (F.col(column) > F.lit(lo)) & (F.col(column) <= F.lit(hi))


def _collect(df: DataFrame, table: str, window: InputWindow) -> list[Row]:
    """Collect at most ``max_rows`` rows; more is an error. ``None`` values are dropped so the rules'
    ``row.get(key, default)`` defaults apply."""
    rows = df.limit(window.max_rows + 1).collect()
    if len(rows) > window.max_rows:
        raise AlertInputError(
            f"{table}: more than {window.max_rows} rows for interval ({window.start}, {window.end}]; "
            "raise max_rows or shorten the lookback"
        )
    return [{k: v for k, v in r.asDict(recursive=True).items() if v is not None} for r in rows]


def read_runs(spark: SparkSession, locator: TableLocator, window: InputWindow) -> list[Row]:
    """The last runs of each recently active job, as of the interval end."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    df = _read(spark, locator, "job_monitoring")
    if df is None:
        return []
    end = F.lit(window.end)
    done = F.col("end_time").isNotNull() & (F.col("end_time") <= end)
    runs = df.where(_between("start_time", window.end - window.runs_lookback, window.end)).select(
        "job_id",
        "job_name",
        "run_id",
        "workspace_id",
        "tags",
        "attempts",
        "start_time",
        F.when(done, F.col("status")).otherwise(F.lit("RUNNING")).alias("status"),
        *(
            F.when(done, F.col(c)).alias(c)
            for c in ("result_state", "termination_code", "end_time", "duration_minutes")
        ),
    )
    latest = Window.partitionBy("workspace_id", "job_id").orderBy(
        F.col("start_time").desc(), F.col("run_id").desc()
    )
    runs = (
        runs.withColumn("_n", F.row_number().over(latest))
        .where(F.col("_n") <= window.runs_per_job)
        .drop("_n")
    )
    return _collect(_iso(runs, "start_time", "end_time"), "job_monitoring", window)


def read_health(spark: SparkSession, locator: TableLocator, window: InputWindow) -> list[Row]:
    """The latest health score per job, with the previous one as ``previous_score``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    df = _read(spark, locator, "job_health_scores")
    if df is None:
        return []
    latest = Window.partitionBy("workspace_id", "job_id").orderBy(F.col("calculation_time").desc())
    scores = (
        df.where(_between("calculation_time", window.end - window.health_lookback, window.end))
        .where(F.col("health_score").isNotNull())
        .withColumn("previous_score", F.lead("health_score").over(latest))
        .withColumn("_n", F.row_number().over(latest))
        .where(F.col("_n") == 1)
        .select(
            "job_id",
            "job_name",
            "workspace_id",
            "health_score",
            "previous_score",
            "calculation_time",
            "trend",
            "confidence",
            "explanation",
        )
    )
    return _collect(_iso(scores, "calculation_time"), "job_health_scores", window)


def read_anomalies(spark: SparkSession, locator: TableLocator, window: InputWindow) -> list[Row]:
    """Anomalies detected in the interval; ``cluster_id`` only for series without a job."""
    from pyspark.sql import functions as F

    df = _read(spark, locator, "job_anomalies")
    if df is None:
        return []
    mapping = F.create_map(*(F.lit(x) for kv in ANOMALY_SEVERITY.items() for x in kv))
    found = df.where(_between("detected_at", window.event_start, window.end)).select(
        "anomaly_id",
        "job_id",
        "job_name",
        "workspace_id",
        "run_id",
        "metric",
        "observed",
        "expected",
        F.coalesce(F.col("score"), F.lit(0.0)).alias("score"),
        F.coalesce(mapping[F.lower(F.col("severity"))], F.lit("info")).alias("severity"),
        F.col("severity").alias("anomaly_severity"),
        F.when(F.col("job_id").isNull(), F.col("cluster_id")).alias("cluster_id"),
        "anomaly_type",
        "detected_at",
        "explanation",
    )
    return _collect(_iso(found, "detected_at"), "job_anomalies", window)


def read_costs(spark: SparkSession, locator: TableLocator, window: InputWindow) -> list[Row]:
    """Per job billed in the interval: its most expensive run and the median run cost before it."""
    from pyspark.sql import functions as F

    costs = _read(spark, locator, "job_costs")
    if costs is None:
        return []
    cost = F.col("list_cost").cast("double")
    keys = ["workspace_id", "job_id"]
    recent = (
        costs.where(_between("usage_end", window.event_start, window.end) & F.col("job_id").isNotNull())
        .groupBy(*keys)
        .agg(F.max(cost).alias("cost"), F.max_by("run_id", cost).alias("run_id"))
    )
    base_end = window.event_start
    baseline = (
        costs.where(_between("usage_end", base_end - window.cost_baseline, base_end))
        .groupBy(*keys)
        .agg(F.percentile_approx(cost, 0.5).alias("baseline_cost"), F.count(F.lit(1)).alias("baseline_runs"))
    )
    out = recent.join(baseline, keys, "left").withColumn(
        "baseline_cost", F.coalesce("baseline_cost", F.lit(0.0))
    )
    runs = _read(spark, locator, "job_monitoring")
    if runs is not None:
        names = (
            runs.where(_between("start_time", window.end - window.cost_baseline, window.end))
            .groupBy(*keys)
            .agg(F.max_by("job_name", "start_time").alias("job_name"))
        )
        out = out.join(names, keys, "left")
    return _collect(out, "job_costs", window)


def read_freshness(spark: SparkSession, locator: TableLocator, window: InputWindow) -> list[Row]:
    """One row per collection source: its watermark as ``last_row_time``."""
    from pyspark.sql import functions as F

    df = _read(spark, locator, "watermarks")
    if df is None:
        return []
    marks = df.select("source", F.col("watermark").alias("last_row_time"), "rows_read", "updated_at")
    return _collect(_iso(marks, "last_row_time", "updated_at"), "watermarks", window)


def read_sla_breaches(spark: SparkSession, locator: TableLocator, window: InputWindow) -> list[Row]:
    """Rows of a ``sla_breaches`` table in the interval, when the table exists."""
    from dataops_jobs.schemas.output import OUTPUT_TABLES

    df = _read(spark, locator, "sla_breaches")
    if df is None:
        return []
    registered = OUTPUT_TABLES.get("sla_breaches")
    candidates = (*_SLA_TIME_COLUMNS, registered.time_column) if registered else _SLA_TIME_COLUMNS
    column = next((c for c in candidates if c in df.columns), None)
    if column is None:
        log.warning("sla_breaches has none of the time columns %s: not read", ", ".join(candidates))
        return []
    stamps = [f.name for f in df.schema.fields if f.dataType.typeName() == "timestamp"]
    found = df.where(_between(column, window.event_start, window.end))
    return _collect(_iso(found, *stamps), "sla_breaches", window)


Reader = Callable[["SparkSession", "TableLocator", InputWindow], "list[Row]"]
READERS: Mapping[str, Reader] = {
    "runs": read_runs,
    "health": read_health,
    "anomalies": read_anomalies,
    "costs": read_costs,
    "freshness": read_freshness,
    "sla_breaches": read_sla_breaches,
}


def read_inputs(
    spark: SparkSession, locator: TableLocator, window: InputWindow, tables: Iterable[str] | None = None
) -> dict[str, list[Row]]:
    """The rule inputs for ``window``: only the ``tables`` asked for (default: all of them)."""
    wanted = list(READERS) if tables is None else sorted(set(tables))
    unknown = [t for t in wanted if t not in READERS]
    if unknown:
        raise ValueError(f"unknown rule input(s) {', '.join(unknown)}; expected {', '.join(READERS)}")
    inputs = {name: READERS[name](spark, locator, window) for name in wanted}
    log.info(
        "rule inputs for (%s, %s]: %s",
        window.start,
        window.end,
        ", ".join(f"{k}={len(v)}" for k, v in inputs.items()),
    )
    return inputs


def tables_for(kinds: Iterable[RuleKind]) -> set[str]:
    """The input tables the given rule kinds read (``rules.INPUT_TABLE``)."""
    return {INPUT_TABLE[k] for k in kinds}


__all__ = [
    "ANOMALY_SEVERITY",
    "READERS",
    "AlertInputError",
    "InputWindow",
    "read_anomalies",
    "read_costs",
    "read_freshness",
    "read_health",
    "read_inputs",
    "read_runs",
    "read_sla_breaches",
    "tables_for",
]
