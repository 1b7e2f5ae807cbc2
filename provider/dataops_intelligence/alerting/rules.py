"""Built-in alert rules evaluated over plain dict rows (pure: no Spark, no Airflow, ``now`` injected).

Inputs are lists of rows keyed by table: ``runs`` (job_monitoring: job_id, job_name, run_id, status,
start_time, end_time, duration_minutes, workspace_id, tags), ``health`` (job_health_scores plus
previous_score), ``anomalies`` (job_id, metric, severity, score), ``costs`` (job_id, cost,
baseline_cost), ``freshness`` (source, last_row_time) and ``recommendations`` (the current
``job_recommendations`` rows). Each rule turns matching rows into
fingerprinted :class:`AlertCandidate` objects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, timezone
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from dataops_intelligence.alerting.matchers import name_matches
from dataops_intelligence.alerting.model import AlertCandidate, Row, Severity

FAILED_STATES = frozenset({"FAILED", "ERROR", "TIMED_OUT", "TIMEDOUT", "INTERNAL_ERROR", "FAILURE"})
SUCCESS_STATES = frozenset({"SUCCESS", "SUCCEEDED"})


class RuleKind(str, Enum):
    """The built-in rule kinds and the input table each reads."""

    JOB_FAILURE = "job_failure"
    HEALTH_SCORE = "health_score"
    ANOMALY = "anomaly"
    SLA_DURATION = "sla_duration"
    SLA_DEADLINE = "sla_deadline"
    SLA_BREACH = "sla_breach"
    COST_SPIKE = "cost_spike"
    STALE_DATA = "stale_data"
    RECOMMENDATIONS_DIGEST = "recommendations_digest"


INPUT_TABLE: Mapping[RuleKind, str] = {
    RuleKind.JOB_FAILURE: "runs",
    RuleKind.HEALTH_SCORE: "health",
    RuleKind.ANOMALY: "anomalies",
    RuleKind.SLA_DURATION: "runs",
    RuleKind.SLA_DEADLINE: "runs",
    RuleKind.SLA_BREACH: "sla_breaches",
    RuleKind.COST_SPIKE: "costs",
    RuleKind.STALE_DATA: "freshness",
    RuleKind.RECOMMENDATIONS_DIGEST: "recommendations",
}


@dataclass(frozen=True)
class Rule:
    """One configured rule: what to look for, which jobs it covers, how severe, where it goes."""

    name: str
    kind: RuleKind
    severity: Severity = Severity.WARNING
    job_name: str = "*"
    tags: Mapping[str, str] = field(default_factory=dict)
    workspaces: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    routes: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def covers(self, row: Mapping[str, Any]) -> bool:
        """Matchers on job name (glob or ``re:``), tags and workspace."""
        if self.workspaces and str(row.get("workspace_id", "")) not in self.workspaces:
            return False
        if self.job_name != "*" and not name_matches(self.job_name, str(row.get("job_name", ""))):
            return False
        tags = row.get("tags") or {}
        return all(str(tags.get(k)) == v for k, v in self.tags.items())

    def param(self, key: str, default: Any) -> Any:
        value = self.params.get(key)
        return default if value is None else value

    def candidate(
        self, row: Mapping[str, Any], message: str, severity: Severity | None = None, **extra: str
    ) -> AlertCandidate:
        labels = {
            "job_id": str(row.get("job_id", "")),
            "job_name": str(row.get("job_name", "")),
            "workspace_id": str(row.get("workspace_id", "")),
            **dict(self.labels),
            **extra,
        }
        if row.get("cluster_id"):
            labels.setdefault("cluster_id", str(row["cluster_id"]))
        return AlertCandidate(
            rule=self.name,
            labels={k: v for k, v in labels.items() if v},
            severity=severity or self.severity,
            message=message,
            alert_type=self.kind.value,
            job_id=str(row.get("job_id") or "") or None,
            channels=self.routes,
        )


def _ts(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _status(row: Mapping[str, Any]) -> str:
    return str(row.get("result_state") or row.get("status") or "").upper()


def _runs_by_job(rows: Sequence[Row]) -> dict[str, list[Row]]:
    jobs: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        jobs[str(row.get("job_id"))].append(row)
    for runs in jobs.values():
        runs.sort(
            key=lambda r: (
                _ts(r.get("end_time") or r.get("start_time")) or datetime.min.replace(tzinfo=timezone.utc)
            )
        )
    return jobs


def _job_failure(rule: Rule, rows: Sequence[Row], now: datetime) -> Iterator[AlertCandidate]:
    min_consecutive = int(rule.param("min_consecutive", 1))
    critical_after = int(rule.param("critical_after", 3))
    for runs in _runs_by_job(rows).values():
        streak = 0
        for run in reversed(runs):
            if _status(run) not in FAILED_STATES:
                break
            streak += 1
        if streak < min_consecutive:
            continue
        last = runs[-1]
        severity = Severity.CRITICAL if streak >= critical_after else rule.severity
        reason = f" ({last['termination_code']})" if last.get("termination_code") else ""
        yield rule.candidate(
            last,
            f"Job {last.get('job_name')} failed {streak} consecutive time(s); "
            f"last run {last.get('run_id')}{reason}",
            severity,
        )


def _health_score(rule: Rule, rows: Sequence[Row], now: datetime) -> Iterator[AlertCandidate]:
    threshold = float(rule.param("threshold", 70.0))
    drop = rule.params.get("drop_points")
    for row in rows:
        score = float(row.get("health_score", 100.0))
        previous = row.get("previous_score")
        if score < threshold:
            yield rule.candidate(row, f"Health of {row.get('job_name')} is {score:.1f} (< {threshold:g})")
        elif drop is not None and previous is not None and float(previous) - score >= float(drop):
            yield rule.candidate(
                row, f"Health of {row.get('job_name')} dropped from {float(previous):.1f} to {score:.1f}"
            )


def _anomaly(rule: Rule, rows: Sequence[Row], now: datetime) -> Iterator[AlertCandidate]:
    minimum = Severity(str(rule.param("min_severity", "warning")))
    for row in rows:
        severity = Severity(str(row.get("severity", "info")).lower())
        if severity.rank >= minimum.rank:
            metric = str(row.get("metric", "duration"))
            yield rule.candidate(
                row,
                f"Anomaly in {metric} of {row.get('job_name')} (score {float(row.get('score', 0)):.2f})",
                severity,
                metric=metric,
            )


def _sla_duration(rule: Rule, rows: Sequence[Row], now: datetime) -> Iterator[AlertCandidate]:
    limit = float(rule.param("max_duration_minutes", 60.0))
    for runs in _runs_by_job(rows).values():
        last = runs[-1]
        duration = last.get("duration_minutes")
        start = _ts(last.get("start_time"))
        if duration is None and start is not None and last.get("end_time") is None:
            duration = (now - start).total_seconds() / 60.0  # still running: its age so far
        if duration is not None and float(duration) > limit:
            yield rule.candidate(
                last,
                f"Run {last.get('run_id')} of {last.get('job_name')} took "
                f"{float(duration):.0f} min (max {limit:g})",
            )


def _deadline_today(rule: Rule, now: datetime) -> datetime:
    zone = ZoneInfo(str(rule.param("timezone", "UTC")))
    local = now.astimezone(zone)
    hour, minute = (int(x) for x in str(rule.param("deadline", "06:00")).split(":"))
    return datetime.combine(local.date(), time(hour, minute), tzinfo=zone)


def _sla_deadline(rule: Rule, rows: Sequence[Row], now: datetime) -> Iterator[AlertCandidate]:
    deadline = _deadline_today(rule, now)
    if now < deadline:
        return
    day_start = deadline.replace(hour=0, minute=0)
    for runs in _runs_by_job(rows).values():
        done = [
            r
            for r in runs
            if _status(r) in SUCCESS_STATES
            and (_ts(r.get("end_time")) or day_start) >= day_start
            and (_ts(r.get("end_time")) or deadline) <= deadline
        ]
        if not done:
            last = runs[-1]
            yield rule.candidate(
                last, f"Job {last.get('job_name')} had not finished by {deadline.strftime('%H:%M %Z')}"
            )


_SLA_ALERT_TYPE = {"max_duration": RuleKind.SLA_DURATION.value, "finish_by": RuleKind.SLA_DEADLINE.value}


def _sla_breach(rule: Rule, rows: Sequence[Row], now: datetime) -> Iterator[AlertCandidate]:
    """Breaches of the config's ``sla.jobs`` found by the SLA stage (``sla_breaches`` rows): one
    fingerprint per run and SLA kind, so a run that stays late is one alert, not one per cycle.
    ``finish_by`` misses are raised to ``error`` at least (the data is late for its consumers)."""
    for row in rows:
        kind = str(row.get("sla_kind") or "max_duration")
        severity = rule.severity
        if kind == "finish_by" and severity.rank < Severity.ERROR.rank:
            severity = Severity.ERROR
        message = str(row.get("message") or f"SLA {kind} breached by run {row.get('run_id')}")
        candidate = rule.candidate(row, message, severity, run_id=str(row.get("run_id") or ""), sla_kind=kind)
        # The same alert types as the run-based SLA rules, so inhibition matchers cover both.
        yield replace(candidate, alert_type=_SLA_ALERT_TYPE.get(kind, RuleKind.SLA_DURATION.value))


def _cost_spike(rule: Rule, rows: Sequence[Row], now: datetime) -> Iterator[AlertCandidate]:
    factor = float(rule.param("factor", 2.0))
    min_delta = float(rule.param("min_delta", 0.0))
    for row in rows:
        cost, baseline = float(row.get("cost", 0.0)), float(row.get("baseline_cost", 0.0))
        if baseline > 0 and cost >= baseline * factor and cost - baseline >= min_delta:
            yield rule.candidate(
                row,
                f"Cost of {row.get('job_name')} is {cost:.2f} "
                f"({cost / baseline:.1f}x its baseline {baseline:.2f})",
            )


#: Sources that receive rows continuously while a workspace is busy. SCD tables (``jobs``) change
#: only when someone edits a job and billing lands up to 12 h late: neither says data is stale.
DEFAULT_STALE_SOURCES = "job_run_timeline,node_timeline"


def _stale_data(rule: Rule, rows: Sequence[Row], now: datetime) -> Iterator[AlertCandidate]:
    """A source that lags the freshest of the watched sources by more than ``max_age_minutes`` (one
    system table stopped while the others go on), or all of them silent for ``max_silence_minutes``
    (24 h by default: a workspace quiet at night, or simulated data that ends at midnight, is not
    stale; a day without a single run or node sample is). ``sources``: watched ``_watermarks``
    sources, comma-separated (default ``job_run_timeline,node_timeline``)."""
    wanted = {s.strip() for s in str(rule.param("sources", DEFAULT_STALE_SOURCES)).split(",") if s.strip()}
    watched = [
        r for r in rows if str(r.get("source", "")).rsplit(".", 1)[-1] in wanted or r.get("source") in wanted
    ]
    max_lag = timedelta(minutes=float(rule.param("max_age_minutes", 120.0)))
    max_silence = timedelta(minutes=float(rule.param("max_silence_minutes", 1440.0)))
    times = {str(r.get("source", "")): _ts(r.get("last_row_time")) for r in watched}
    newest = max((t for t in times.values() if t is not None), default=None)
    for row in watched:
        source = str(row.get("source", ""))
        last = times[source]
        if last is None:
            yield rule.candidate(row, f"No rows ever read from {source}", source=source)
        elif newest is not None and newest - last > max_lag:
            lag = (newest - last).total_seconds() / 60
            yield rule.candidate(
                row,
                f"No new rows in {source} for {lag:.0f} min while other system tables moved on "
                f"(last: {last.isoformat()})",
                source=source,
            )
    if newest is not None and now - newest > max_silence:
        silent = (now - newest).total_seconds() / 3600
        yield rule.candidate(
            {"source": ",".join(sorted(times))},
            f"No new rows in any of {', '.join(sorted(times))} for {silent:.1f} h (last: {newest.isoformat()})",
            source="*",
        )


def _iso_week(now: datetime) -> str:
    year, week, _ = now.astimezone(timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def _recommendations_digest(rule: Rule, rows: Sequence[Row], now: datetime) -> Iterator[AlertCandidate]:
    """One digest per week of the current ``job_recommendations`` rows (``dataops_jobs.recommend``).

    The ISO week is a label, so the fingerprint (the dedup key) is the same all week: the engine
    sends the digest once and every later cycle of the week is a duplicate. Params: ``weekday``
    (ISO 1-7, the first day it may go out, default 1 = Monday), ``min_total_savings`` (default 0),
    ``top`` (recommendations listed, default 5).
    """
    if now.astimezone(timezone.utc).isoweekday() < int(rule.param("weekday", 1)):
        return
    current = [r for r in rows if r.get("is_current", True) and float(r.get("estimated_monthly_savings") or 0) > 0]
    total = sum(float(r["estimated_monthly_savings"]) for r in current)
    if not current or total < float(rule.param("min_total_savings", 0.0)):
        return
    current.sort(key=lambda r: (-float(r["estimated_monthly_savings"]), str(r.get("job_id")), str(r.get("kind"))))
    currency = str(current[0].get("currency") or "USD")
    lines = [
        f"- {r.get('job_name') or r.get('job_id') or r.get('cluster_id')}: {r.get('proposed_change')} "
        f"({r.get('kind')}, {float(r['estimated_monthly_savings']):,.2f} {currency}/month)"
        for r in current[: int(rule.param("top", 5))]
    ]
    message = (f"{len(current)} recommendations could save {total:,.2f} {currency} per month at list prices:\n"
               + "\n".join(lines))
    candidate = rule.candidate({}, message, week=_iso_week(now), digest="recommendations")
    yield replace(candidate, job_id=None)


_Evaluator = Callable[[Rule, Sequence[Row], datetime], Iterator[AlertCandidate]]
EVALUATORS: Mapping[RuleKind, _Evaluator] = {
    RuleKind.JOB_FAILURE: _job_failure,
    RuleKind.HEALTH_SCORE: _health_score,
    RuleKind.ANOMALY: _anomaly,
    RuleKind.SLA_DURATION: _sla_duration,
    RuleKind.SLA_DEADLINE: _sla_deadline,
    RuleKind.SLA_BREACH: _sla_breach,
    RuleKind.COST_SPIKE: _cost_spike,
    RuleKind.STALE_DATA: _stale_data,
    RuleKind.RECOMMENDATIONS_DIGEST: _recommendations_digest,
}


def evaluate_rules(
    rules: Sequence[Rule], inputs: Mapping[str, Sequence[Row]], now: datetime
) -> list[AlertCandidate]:
    """Every candidate the rules produce over the input tables (rows outside a rule's matchers skipped)."""
    out: list[AlertCandidate] = []
    for rule in rules:
        rows = [r for r in inputs.get(INPUT_TABLE[rule.kind], ()) if rule.covers(r)]
        out.extend(EVALUATORS[rule.kind](rule, rows, now))
    return out
