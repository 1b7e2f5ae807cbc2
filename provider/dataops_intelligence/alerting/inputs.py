"""Rule inputs for one data interval: the output tables read into the plain rows ``rules.py`` evaluates.

One reader per input table of :data:`~dataops_intelligence.alerting.rules.INPUT_TABLE`, each one bounded
SQL query through a :class:`~dataops_intelligence.alerting.sql.SqlRunner` (a cap per table, exceeded
loudly rather than truncated: a silently dropped job would look "cleared" and resolve its alert). The
same SQL runs on local Spark and on a Databricks SQL warehouse. Everything is read *as of* the
interval end, so re-evaluating an interval gives the same rows.

- ``runs``: the last ``runs_per_job`` runs of every job that started a run in the ``runs_lookback``
  before the interval end (a failure streak needs the runs before the interval; a job whose latest
  run failed keeps failing until a later run succeeds). A run that ended after the interval end is
  shown as still running. ``cluster_id`` is left out: job clusters change with every run, and as an
  alert label it would give every failed run its own fingerprint.
- ``health``: the latest ``job_health_scores`` row per job and the score before it (``previous_score``).
- ``anomalies``: ``job_anomalies`` found by an analysis cycle since the alert watermark (their
  ``interval_end``), except those marked ``backfilled`` (too old when found: a first deployment's
  history, a long outage); the detector's severities (low/medium/high) are mapped onto the
  engine's (info/warning/error).
- ``costs``: per job, its most expensive run billed since the alert watermark and the median run cost
  over ``cost_baseline`` before it.
- ``freshness``: one row per ``_watermarks`` source (``last_row_time`` = its watermark).
- ``sla_breaches``: rows of the ``sla_breaches`` table (``dataops_jobs.sla``) evaluated since the
  alert watermark and not ``backfilled``, when the table exists.
- ``recommendations``: the current rows of ``job_recommendations`` (the weekly digest rule).

"Since the alert watermark": the events window starts at the end of the last successful alert
cycle (``_watermarks`` row ``analysis.alerts``), or at the interval start if that is earlier, so a
gap of any length (a paused DAG, a failed alert task) is covered by the next cycle. The first cycle
looks back ``notify_window``. ``event_lag`` widens the window further back.

Timestamps are read as ISO-8601 UTC strings, so nothing depends on the worker's time zone. Interval
bounds and constants are parameters; table names come from ``TableLocator`` (validated, backquoted).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from dataops_intelligence.alerting.errors import AlertingError
from dataops_intelligence.alerting.rules import INPUT_TABLE, RuleKind
from dataops_intelligence.alerting.sql import col, iso

if TYPE_CHECKING:
    from dataops_intelligence.alerting.model import Row
    from dataops_intelligence.alerting.sql import SqlRunner
    from dataops_jobs.io import TableLocator, TableRef

log = logging.getLogger(__name__)
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
_SLA_TIME_COLUMN = "evaluated_at"


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
    :param since: the alert watermark (end of the last successful alert cycle), None before the first.
    :param notify_window: how far back the first cycle looks for events (``analysis.notify_max_age_hours``).
    """

    start: datetime
    end: datetime
    runs_lookback: timedelta = timedelta(days=7)
    runs_per_job: int = 10
    health_lookback: timedelta = timedelta(days=7)
    cost_baseline: timedelta = timedelta(days=30)
    event_lag: timedelta = timedelta(0)
    max_rows: int = 100_000
    since: datetime | None = None
    notify_window: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("InputWindow needs timezone-aware start and end")
        if self.start >= self.end:
            raise ValueError(f"empty interval ({self.start}, {self.end}]")

    @property
    def event_start(self) -> datetime:
        """Start of the events window: the alert watermark or the interval start, whichever is earlier."""
        first = self.start if self.since is None else min(self.start, self.since)
        if self.since is None:
            first = min(first, self.end - self.notify_window)
        return first - self.event_lag


def _ref(runner: SqlRunner, locator: TableLocator, name: str) -> TableRef | None:
    ref = locator.output(name)
    return ref if runner.table_exists(ref) else None


def _collect(runner: SqlRunner, sql: str, params: Mapping[str, Any], table: str, window: InputWindow) -> list[Row]:
    """At most ``max_rows`` rows; more is an error. ``None`` values are dropped so the rules'
    ``row.get(key, default)`` defaults apply."""
    rows = runner.query(sql, params, limit=window.max_rows + 1)
    if len(rows) > window.max_rows:
        raise AlertInputError(
            f"{table}: more than {window.max_rows} rows for interval ({window.start}, {window.end}]; "
            "raise max_rows or shorten the lookback"
        )
    return [{k: v for k, v in r.items() if v is not None} for r in rows]


def _between(column: str, lo: str, hi: str) -> str:
    """``lo < column <= hi`` with ``lo``/``hi`` parameter names (bound as ISO strings)."""
    return f"{col(column)} > CAST(:{lo} AS TIMESTAMP) AND {col(column)} <= CAST(:{hi} AS TIMESTAMP)"


def read_runs(runner: SqlRunner, locator: TableLocator, window: InputWindow) -> list[Row]:
    """The last runs of each recently active job, as of the interval end."""
    ref = _ref(runner, locator, "job_monitoring")
    if ref is None:
        return []
    done = "(`end_time` IS NOT NULL AND `end_time` <= CAST(:end AS TIMESTAMP))"
    as_of = ", ".join(
        f"CASE WHEN `_done` THEN `{c}` END AS `{c}`" for c in ("result_state", "termination_code", "duration_minutes")
    )
    sql = f"""
        SELECT `job_id`, `job_name`, `run_id`, `workspace_id`, `tags`, `attempts`,
               {iso("`start_time`", "start_time")},
               CASE WHEN `_done` THEN `status` ELSE :running END AS `status`,
               {as_of}, {iso("CASE WHEN `_done` THEN `end_time` END", "end_time")}
        FROM (
            SELECT *, {done} AS `_done`,
                   row_number() OVER (PARTITION BY `workspace_id`, `job_id`
                                      ORDER BY `start_time` DESC, `run_id` DESC) AS `_n`
            FROM {ref.sql}
            WHERE {_between("start_time", "lo", "end")}
        ) AS r
        WHERE `_n` <= CAST(:per_job AS INT)"""
    params = {"end": window.end, "lo": window.end - window.runs_lookback, "running": "RUNNING",
              "per_job": window.runs_per_job}
    return _collect(runner, sql, params, "job_monitoring", window)


def read_health(runner: SqlRunner, locator: TableLocator, window: InputWindow) -> list[Row]:
    """The latest health score per job, with the previous one as ``previous_score``."""
    ref = _ref(runner, locator, "job_health_scores")
    if ref is None:
        return []
    sql = f"""
        SELECT `job_id`, `job_name`, `workspace_id`, `health_score`, `previous_score`,
               {iso("`calculation_time`", "calculation_time")}, `trend`, `confidence`, `explanation`
        FROM (
            SELECT `job_id`, `job_name`, `workspace_id`, `health_score`, `calculation_time`, `trend`,
                   `confidence`, `explanation`,
                   lead(`health_score`) OVER w AS `previous_score`, row_number() OVER w AS `_n`
            FROM {ref.sql}
            WHERE {_between("calculation_time", "lo", "end")} AND `health_score` IS NOT NULL
            WINDOW w AS (PARTITION BY `workspace_id`, `job_id` ORDER BY `calculation_time` DESC)
        ) AS h
        WHERE `_n` = 1"""
    params = {"end": window.end, "lo": window.end - window.health_lookback}
    return _collect(runner, sql, params, "job_health_scores", window)


def read_anomalies(runner: SqlRunner, locator: TableLocator, window: InputWindow) -> list[Row]:
    """Anomalies found since the alert watermark, not backfilled; ``cluster_id`` only for series
    without a job."""
    ref = _ref(runner, locator, "job_anomalies")
    if ref is None:
        return []
    params: dict[str, Any] = {"lo": window.event_start, "end": window.end, "info": "info"}
    pairs = []
    for i, (theirs, ours) in enumerate(ANOMALY_SEVERITY.items()):
        params[f"sk{i}"], params[f"sv{i}"] = theirs, ours
        pairs.append(f":sk{i}, :sv{i}")
    mapping = f"map({', '.join(pairs)})"
    sql = f"""
        SELECT `anomaly_id`, `job_id`, `job_name`, `workspace_id`, `run_id`, `metric`, `observed`, `expected`,
               coalesce(`score`, CAST(0 AS DOUBLE)) AS `score`,
               coalesce({mapping}[lower(`severity`)], :info) AS `severity`,
               `severity` AS `anomaly_severity`,
               CASE WHEN `job_id` IS NULL THEN `cluster_id` END AS `cluster_id`,
               `anomaly_type`, {iso("`detected_at`", "detected_at")}, `explanation`
        FROM {ref.sql}
        WHERE {_between("interval_end", "lo", "end")} AND NOT coalesce(`backfilled`, FALSE)"""
    return _collect(runner, sql, params, "job_anomalies", window)


def read_costs(runner: SqlRunner, locator: TableLocator, window: InputWindow) -> list[Row]:
    """Per job billed in the interval: its most expensive run and the median run cost before it."""
    costs = _ref(runner, locator, "job_costs")
    if costs is None:
        return []
    runs = _ref(runner, locator, "job_monitoring")
    names_cte = names_col = names_join = ""
    if runs is not None:
        names_cte = f""",
        names AS (
            SELECT `workspace_id`, `job_id`, max_by(`job_name`, `start_time`) AS `job_name`
            FROM {runs.sql} WHERE {_between("start_time", "names_lo", "end")}
            GROUP BY `workspace_id`, `job_id`)"""
        names_col = ", n.`job_name`"
        names_join = "LEFT JOIN names AS n ON r.`workspace_id` = n.`workspace_id` AND r.`job_id` = n.`job_id`"
    sql = f"""
        WITH c AS (
            SELECT `workspace_id`, `job_id`, `run_id`, `usage_end`, CAST(`list_cost` AS DOUBLE) AS `cost`
            FROM {costs.sql}),
        recent AS (
            SELECT `workspace_id`, `job_id`, max(`cost`) AS `cost`, max_by(`run_id`, `cost`) AS `run_id`
            FROM c WHERE {_between("usage_end", "lo", "end")} AND `job_id` IS NOT NULL
            GROUP BY `workspace_id`, `job_id`),
        baseline AS (
            SELECT `workspace_id`, `job_id`, percentile_approx(`cost`, 0.5) AS `baseline_cost`,
                   count(1) AS `baseline_runs`
            FROM c WHERE {_between("usage_end", "base_lo", "lo")}
            GROUP BY `workspace_id`, `job_id`){names_cte}
        SELECT r.`workspace_id`, r.`job_id`, r.`cost`, r.`run_id`,
               coalesce(b.`baseline_cost`, CAST(0 AS DOUBLE)) AS `baseline_cost`, b.`baseline_runs`{names_col}
        FROM recent AS r
        LEFT JOIN baseline AS b ON r.`workspace_id` = b.`workspace_id` AND r.`job_id` = b.`job_id`
        {names_join}"""
    params = {"lo": window.event_start, "end": window.end, "base_lo": window.event_start - window.cost_baseline}
    if runs is not None:
        params["names_lo"] = window.end - window.cost_baseline
    return _collect(runner, sql, params, "job_costs", window)


def read_freshness(runner: SqlRunner, locator: TableLocator, window: InputWindow) -> list[Row]:
    """One row per collection source: its watermark as ``last_row_time``."""
    ref = _ref(runner, locator, "watermarks")
    if ref is None:
        return []
    sql = (f"SELECT `source`, {iso('`watermark`', 'last_row_time')}, `rows_read`, "
           f"{iso('`updated_at`', 'updated_at')} FROM {ref.sql}")
    return _collect(runner, sql, {}, "watermarks", window)


def read_sla_breaches(runner: SqlRunner, locator: TableLocator, window: InputWindow) -> list[Row]:
    """Rows of the ``sla_breaches`` table (``dataops_jobs.sla``) evaluated in the interval."""
    from dataops_jobs.sla import SLA_BREACHES

    ref = _ref(runner, locator, "sla_breaches")
    if ref is None:
        return []
    cells = ", ".join(
        iso(col(c.name), c.name) if c.type.upper() == "TIMESTAMP" else col(c.name) for c in SLA_BREACHES.columns
    )
    sql = (f"SELECT {cells} FROM {ref.sql} WHERE {_between(_SLA_TIME_COLUMN, 'lo', 'end')} "
           "AND NOT coalesce(`backfilled`, FALSE)")
    return _collect(runner, sql, {"lo": window.event_start, "end": window.end}, "sla_breaches", window)


def read_recommendations(runner: SqlRunner, locator: TableLocator, window: InputWindow) -> list[Row]:
    """The current rows of ``job_recommendations`` (``dataops_jobs.recommend``), largest saving first."""
    ref = _ref(runner, locator, "job_recommendations")
    if ref is None:
        return []
    sql = (f"SELECT `workspace_id`, `job_id`, `cluster_id`, `job_name`, `kind`, `proposed_change`, "
           f"`estimated_monthly_savings`, `currency`, `confidence`, `duration_risk`, `is_current` FROM {ref.sql} "
           "WHERE `is_current` ORDER BY `estimated_monthly_savings` DESC")
    return _collect(runner, sql, {}, "job_recommendations", window)


ALERT_WATERMARK = "analysis.alerts"


def read_watermark(runner: SqlRunner, locator: TableLocator, source: str = ALERT_WATERMARK) -> datetime | None:
    """A ``_watermarks`` row's watermark (UTC, aware), None when the row or the table does not exist."""
    ref = _ref(runner, locator, "watermarks")
    if ref is None:
        return None
    rows = runner.query(f"SELECT {iso('`watermark`', 'watermark')} FROM {ref.sql} WHERE `source` = :source",
                        {"source": source}, limit=1)
    if not rows or not rows[0].get("watermark"):
        return None
    value = rows[0]["watermark"]
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


Reader = Callable[["SqlRunner", "TableLocator", InputWindow], "list[Row]"]
READERS: Mapping[str, Reader] = {
    "runs": read_runs,
    "health": read_health,
    "anomalies": read_anomalies,
    "costs": read_costs,
    "freshness": read_freshness,
    "sla_breaches": read_sla_breaches,
    "recommendations": read_recommendations,
}


def read_inputs(
    runner: SqlRunner, locator: TableLocator, window: InputWindow, tables: Iterable[str] | None = None
) -> dict[str, list[Row]]:
    """The rule inputs for ``window``: only the ``tables`` asked for (default: all of them)."""
    wanted = list(READERS) if tables is None else sorted(set(tables))
    unknown = [t for t in wanted if t not in READERS]
    if unknown:
        raise ValueError(f"unknown rule input(s) {', '.join(unknown)}; expected {', '.join(READERS)}")
    inputs = {name: READERS[name](runner, locator, window) for name in wanted}
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
    "ALERT_WATERMARK",
    "ANOMALY_SEVERITY",
    "READERS",
    "AlertInputError",
    "InputWindow",
    "read_anomalies",
    "read_costs",
    "read_freshness",
    "read_health",
    "read_inputs",
    "read_recommendations",
    "read_runs",
    "read_sla_breaches",
    "read_watermark",
    "tables_for",
]
