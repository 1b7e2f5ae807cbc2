"""SLA evaluation of the monitored jobs over ``job_monitoring``: maximum duration and finish-by time.

Evaluated every cycle "as of" the end of the cycle's interval (never ``now()``), so re-running an
interval gives the same answer. A run still in flight at that instant is judged on its age so far
and, for a finish-by SLA, on whether the deadline has already passed. Breaches are MERGEd into the
small ``sla_breaches`` table (one row per run and SLA kind), which the alert rules consume.

Which runs: those started in the last two days (``LOOKBACK``: runs in flight and just finished) and
every run collected since the stage's watermark (``AnalysisWindow``), so a gap of any length is
covered; the first cycle evaluates the backfill window. A breach found older than
``analysis.notify_max_age_hours`` is recorded with ``backfilled`` and not notified.

Finish-by semantics: a run must end by ``finish_by`` (in the SLA's time zone) on the local day it
started; a run that starts after that time of day must end by the same time on the next day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dataops_jobs.io import merge_into, read_output
from dataops_jobs.schemas.output import OutputTable, _cols, register

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from dataops_jobs.config import Config, JobSla
    from dataops_jobs.io import TableLocator
    from dataops_jobs.processors import AnalysisWindow

#: Runs started this long before the evaluation instant are (re-)evaluated every cycle.
LOOKBACK = timedelta(days=2)
MAX_DURATION = "max_duration"
FINISH_BY = "finish_by"

SLA_BREACHES = OutputTable(
    name="sla_breaches",
    comment="Job runs that broke their configured SLA (maximum duration or finish-by time of day)",
    keys=("workspace_id", "job_id", "run_id", "sla_kind"),
    time_column="start_time",
    columns=_cols(
        ("workspace_id", "STRING", "Workspace id"),
        ("job_id", "STRING", "Databricks job id"),
        ("job_name", "STRING", "Job name"),
        ("run_id", "STRING", "Job run id"),
        ("sla_kind", "STRING", "max_duration or finish_by"),
        ("in_flight", "BOOLEAN", "The run had not ended at evaluation time"),
        ("status", "STRING", "Run status at evaluation time (RUNNING while in flight)"),
        ("start_time", "TIMESTAMP", "Run start (UTC)"),
        ("end_time", "TIMESTAMP", "Run end (UTC); NULL while in flight"),
        ("observed_minutes", "DOUBLE", "Duration, or age so far for a run in flight"),
        ("limit_minutes", "DOUBLE", "max_duration_minutes of the SLA (NULL for finish_by)"),
        ("deadline", "TIMESTAMP", "finish_by deadline of the run in UTC (NULL for max_duration)"),
        ("overrun_minutes", "DOUBLE", "How far past the limit or deadline the run was at evaluation"),
        ("message", "STRING", "One-line description for alerts"),
        ("evaluated_at", "TIMESTAMP", "Evaluation instant (end of the cycle's interval) that wrote the row"),
        ("backfilled", "BOOLEAN", "Found older than analysis.notify_max_age_hours: recorded, not notified"),
    ),
    bookkeeping=("backfilled",),
)
register(SLA_BREACHES)


@dataclass(frozen=True)
class SlaResult:
    """What one evaluation found (small and JSON-safe for XCom)."""

    evaluated_runs: int
    breaches: int
    in_flight_breaches: int

    def to_dict(self) -> dict[str, int]:
        """JSON-safe form."""
        return {"evaluated_runs": self.evaluated_runs, "breaches": self.breaches,
                "in_flight_breaches": self.in_flight_breaches}


def sla_rows(slas: list[JobSla]) -> list[tuple[Any, ...]]:
    """The SLA config as rows: (job_name, job_id, max_minutes, finish hour, finish minute, zone)."""
    rows = []
    for sla in slas:
        hour, minute = (int(p) for p in sla.finish_by.split(":")) if sla.finish_by else (None, None)
        rows.append((sla.job_name, sla.job_id, sla.max_duration_minutes, hour, minute, sla.timezone))
    return rows


_SLA_SCHEMA = ("sla_job_name STRING, sla_job_id STRING, max_minutes DOUBLE, finish_hour INT, "
               "finish_minute INT, sla_tz STRING")


def runs_as_of(runs: DataFrame, now: datetime, since: datetime | None = None,
               collected_since: datetime | None = None) -> DataFrame:
    """Runs started in ``(since or now - LOOKBACK, now]``, plus the runs collected after
    ``collected_since``, as they looked at ``now`` (later ends = in flight)."""
    from pyspark.sql import functions as F

    at = F.lit(now).cast("timestamp")
    recent = F.col("start_time") > F.lit(min(since, now - LOOKBACK) if since is not None else now - LOOKBACK)
    if collected_since is not None:
        recent = recent | (F.col("collected_at") > F.lit(collected_since))
    started = runs.where((F.col("start_time") <= at) & recent)
    ended = F.col("end_time").isNotNull() & (F.col("end_time") <= at)
    age = (F.unix_timestamp(at) - F.unix_timestamp("start_time")) / 60.0
    elapsed = (F.unix_timestamp("end_time") - F.unix_timestamp("start_time")) / 60.0
    return started.select(
        "workspace_id", "job_id", "job_name", "run_id", "start_time",
        F.when(ended, F.col("end_time")).alias("end_time"),
        F.when(ended, F.col("status")).otherwise(F.lit("RUNNING")).alias("status"),
        (~ended).alias("in_flight"),
        F.when(ended, F.coalesce("duration_minutes", elapsed)).otherwise(age).alias("observed_minutes"),
    )


def _deadline_utc() -> Any:
    """The run's finish-by deadline in UTC (see the module docstring for the day it applies to)."""
    from pyspark.sql import functions as F

    local_start = F.from_utc_timestamp("start_time", F.col("sla_tz"))
    day = F.to_date(local_start)
    same_day = F.make_timestamp(F.year(day), F.month(day), F.dayofmonth(day), F.col("finish_hour"),
                                F.col("finish_minute"), F.lit(0))
    local_deadline = F.when(local_start > same_day, same_day + F.expr("INTERVAL 1 DAY")).otherwise(same_day)
    return F.to_utc_timestamp(local_deadline, F.col("sla_tz"))


def find_breaches(runs: DataFrame, slas: DataFrame, now: datetime) -> DataFrame:
    """Pure transform: runs (as of ``now``) joined to the SLAs → one row per breached (run, SLA kind)."""
    from pyspark.sql import functions as F

    at = F.lit(now).cast("timestamp")
    matched = runs.join(
        F.broadcast(slas),
        (F.col("job_name") == F.col("sla_job_name")) | (F.col("job_id") == F.col("sla_job_id")),
    )
    duration = matched.where(F.col("max_minutes").isNotNull() & (F.col("observed_minutes") > F.col("max_minutes")))
    duration = duration.select(
        "*", F.lit(MAX_DURATION).alias("sla_kind"), F.col("max_minutes").alias("limit_minutes"),
        F.lit(None).cast("timestamp").alias("deadline"),
        (F.col("observed_minutes") - F.col("max_minutes")).alias("overrun_minutes"),
    )
    with_deadline = matched.where(F.col("finish_hour").isNotNull()).withColumn("deadline", _deadline_utc())
    finish = F.coalesce(F.col("end_time"), at)
    late = with_deadline.where(finish > F.col("deadline")).select(
        "*", F.lit(FINISH_BY).alias("sla_kind"), F.lit(None).cast("double").alias("limit_minutes"),
        ((F.unix_timestamp(finish) - F.unix_timestamp("deadline")) / 60.0).alias("overrun_minutes"),
    )
    columns = [c for c in SLA_BREACHES.column_names if c not in ("message", "evaluated_at", "backfilled")]
    both = duration.select(*columns).unionByName(late.select(*columns))
    return both.withColumn("message", _message()).withColumn("evaluated_at", at)


def _message() -> Any:
    from pyspark.sql import functions as F

    what = F.when(F.col("in_flight"), F.lit("is still running after ")).otherwise(F.lit("took "))
    duration_msg = F.concat(
        F.lit("Run "), F.col("run_id"), F.lit(" of "), F.col("job_name"), F.lit(" "), what,
        F.format_number("observed_minutes", 0), F.lit(" min (SLA max "), F.format_number("limit_minutes", 0),
        F.lit(" min)"),
    )
    deadline_msg = F.concat(
        F.lit("Run "), F.col("run_id"), F.lit(" of "), F.col("job_name"),
        F.when(F.col("in_flight"), F.lit(" had not finished by its deadline ")).otherwise(
            F.lit(" finished after its deadline ")),
        F.date_format("deadline", "yyyy-MM-dd HH:mm 'UTC'"),
        F.lit(" ("), F.format_number("overrun_minutes", 0), F.lit(" min late)"),
    )
    return F.when(F.col("sla_kind") == MAX_DURATION, duration_msg).otherwise(deadline_msg)


def evaluate_slas(spark: SparkSession, config: Config, locator: TableLocator,
                  at: datetime | AnalysisWindow) -> SlaResult:
    """Evaluate ``config.sla.jobs`` over ``job_monitoring`` as of ``at`` (an instant, or an analysis
    window: its end, plus the runs collected since its watermark); MERGE ``sla_breaches``."""
    from pyspark.sql import functions as F

    from dataops_jobs.cycle import utc_naive
    from dataops_jobs.processors import AnalysisWindow

    window = at if isinstance(at, AnalysisWindow) else AnalysisWindow(at - LOOKBACK, at, since=at - LOOKBACK)
    now = utc_naive(window.end)
    runs = read_output(spark, locator, "job_monitoring")
    if runs is None or not config.sla.jobs:
        return SlaResult(0, 0, 0)
    since = None if window.backfill else window.since
    evaluated = runs_as_of(runs, now, since=window.start if window.backfill else None, collected_since=since)
    slas = spark.createDataFrame(sla_rows(list(config.sla.jobs)), _SLA_SCHEMA)
    when = F.coalesce(F.col("deadline"), F.col("end_time"), F.col("evaluated_at"))
    breaches = find_breaches(evaluated, slas, now).withColumn("backfilled", window.backfilled_at(when)).cache()
    try:
        counts = breaches.agg(F.count("*").alias("n"), F.sum(F.col("in_flight").cast("int")).alias("f")).first()
        total, in_flight = (int(counts["n"] or 0), int(counts["f"] or 0)) if counts else (0, 0)
        if total:
            merge_into(spark, locator, "sla_breaches", breaches)
        n_evaluated = evaluated.count()
    finally:
        breaches.unpersist()
    return SlaResult(n_evaluated, total, in_flight)


def recent_breaches(spark: SparkSession, locator: TableLocator, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
    """Breaches evaluated at ``now`` as plain dicts for the alert engine (bounded by ``limit``)."""
    from pyspark.sql import functions as F

    from dataops_jobs.cycle import utc_naive

    table = read_output(spark, locator, "sla_breaches")
    if table is None:
        return []
    rows = (table.where((F.col("evaluated_at") == F.lit(utc_naive(now)).cast("timestamp"))
                        & ~F.coalesce(F.col("backfilled"), F.lit(False))).limit(limit).collect())
    return [r.asDict() for r in rows]
