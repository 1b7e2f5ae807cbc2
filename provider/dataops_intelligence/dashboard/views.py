"""What each dashboard page shows, computed from bounded reads (:mod:`.tables`). Pure: no HTTP, no Airflow.

Every function takes a :class:`~dataops_intelligence.dashboard.tables.TableReader` and ``now`` and
returns JSON-ready dicts. Time windows are explicit (``days``) and capped; every query has a limit.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dataops_intelligence.dashboard.tables import MAX_ROWS, Agg, Filter, Query
from dataops_jobs.schemas.analysis import COMPONENTS

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from dataops_intelligence.dashboard.tables import TableReader

MAX_DAYS = 90
SEVERITIES = ("info", "low", "medium", "high", "critical")
#: Previous successful runs the job page's expected duration band is computed from.
BAND_RUNS = 20
#: Points the job page's utilisation chart gets at most (time buckets beyond that).
MAX_POINTS = 1500
Key = tuple[str, str]


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _iso(v) for k, v in row.items()}


def clamp_days(days: int, default: int = 7) -> int:
    """A time window in days, between 1 and :data:`MAX_DAYS`."""
    return max(1, min(int(days or default), MAX_DAYS))


def _key(row: Mapping[str, Any]) -> Key:
    return str(row.get("workspace_id") or ""), str(row.get("job_id") or "")


# -- fleet -------------------------------------------------------------------------------------------
def _latest_health(reader: TableReader, now: datetime) -> dict[Key, list[dict[str, Any]]]:
    """The last two daily health rows per job (current score and yesterday's, for the arrow)."""
    newest = reader.read(Query("job_health_scores", aggregates=(Agg("max", "calculation_time", "last"),),
                               limit=1))
    last = newest[0]["last"] if newest and newest[0].get("last") else now
    rows = reader.read(Query(
        "job_health_scores",
        ("workspace_id", "job_id", "job_name", "calculation_time", "health_score", "trend", "explanation"),
        where=(Filter("calculation_time", ">=", last - timedelta(days=2)),),
        limit=MAX_ROWS,
    ))
    by_job: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_job[_key(row)].append(row)
    for history in by_job.values():
        history.sort(key=lambda r: r["calculation_time"], reverse=True)
    return by_job


def _per_job(reader: TableReader, table: str, time_column: str, since: datetime,
             aggregates: tuple[Agg, ...], where: tuple[Filter, ...] = ()) -> dict[Key, dict[str, Any]]:
    rows = reader.read(Query(table, group_by=("workspace_id", "job_id"), aggregates=aggregates,
                             where=(Filter(time_column, ">=", since), *where), limit=MAX_ROWS))
    return {_key(r): r for r in rows}


def _open_alerts(reader: TableReader) -> dict[str, int]:
    rows = reader.read(Query("alert_state", group_by=("job_id",), aggregates=(Agg("count", "job_id", "n"),),
                             where=(Filter("tracked", "=", True), Filter("status", "=", "firing")),
                             limit=MAX_ROWS))
    return {str(r["job_id"]): int(r["n"]) for r in rows if r.get("job_id")}


def _arrow(trend: str | None, score: float | None, previous: float | None) -> str:
    """``down`` / ``up`` / ``flat``: the trend test first, else a move of at least 5 points."""
    if trend == "degrading":
        return "down"
    if trend == "improving":
        return "up"
    if score is not None and previous is not None and abs(score - previous) >= 5:
        return "up" if score > previous else "down"
    return "flat"


def fleet(reader: TableReader, now: datetime, *, workspace: str | None = None, team: str | None = None,
          tag: str | None = None, days: int = 7) -> dict[str, Any]:
    """Every monitored job, worst health first, with its last-``days`` figures (default 7)."""
    since = now - timedelta(days=clamp_days(days))
    health = _latest_health(reader, now)
    runs = _per_job(reader, "job_monitoring", "start_time", since, (
        Agg("count", "run_id", "runs"), Agg("count_true", "is_failed", "failures"),
        Agg("any", "job_name", "job_name"), Agg("any", "tags", "tags"), Agg("max", "start_time", "last_run"),
    ))
    costs = _per_job(reader, "job_costs", "usage_start", since,
                     (Agg("sum", "list_cost", "cost"), Agg("sum", "dbus", "dbus")))
    anomalies = _per_job(reader, "job_anomalies", "detected_at", since, (Agg("count", "anomaly_id", "n"),))
    alerts = _open_alerts(reader)
    jobs = []
    for key in set(health) | set(runs):
        history = health.get(key, [])
        latest = history[0] if history else {}
        previous = history[1]["health_score"] if len(history) > 1 else None
        run = runs.get(key, {})
        tags = dict(run.get("tags") or {})
        n_runs, failures = int(run.get("runs") or 0), int(run.get("failures") or 0)
        score = latest.get("health_score")
        jobs.append({
            "workspace_id": key[0], "job_id": key[1],
            "job_name": latest.get("job_name") or run.get("job_name") or key[1],
            "health_score": score, "previous_score": previous, "trend": latest.get("trend"),
            "arrow": _arrow(latest.get("trend"), score, previous),
            "scored_at": _iso(latest.get("calculation_time")), "explanation": latest.get("explanation"),
            "runs": n_runs, "failures": failures,
            "success_rate": (n_runs - failures) / n_runs if n_runs else None,
            "cost": costs.get(key, {}).get("cost"), "dbus": costs.get(key, {}).get("dbus"),
            "anomalies": int(anomalies.get(key, {}).get("n") or 0),
            "open_alerts": alerts.get(key[1], 0),
            "last_run": _iso(run.get("last_run")), "tags": tags, "team": tags.get("team"),
        })
    jobs = [j for j in jobs if _keep(j, workspace, team, tag)]
    jobs.sort(key=lambda j: (j["health_score"] is None, j["health_score"] or 0.0, -j["failures"]))
    return {"as_of": now.isoformat(), "days": clamp_days(days), "jobs": jobs,
            "workspaces": sorted({j["workspace_id"] for j in jobs}),
            "teams": sorted({j["team"] for j in jobs if j["team"]})}


def _keep(job: Mapping[str, Any], workspace: str | None, team: str | None, tag: str | None) -> bool:
    if workspace and job["workspace_id"] != workspace:
        return False
    if team and job["team"] != team:
        return False
    if tag:
        name, _, value = tag.partition("=")
        tags = job["tags"]
        return name in tags and (not value or tags[name] == value)
    return True


# -- job page ----------------------------------------------------------------------------------------
_RUN_COLUMNS = ("run_id", "start_time", "end_time", "duration_minutes", "status", "result_state",
                "termination_code", "termination_type", "failure_category", "attempts", "is_failed",
                "cluster_id", "trigger_type")
_HEALTH_COLUMNS = ("calculation_time", "health_score", "trend", "trend_reason", "explanation", "confidence",
                   "runs_in_window", "failed_runs", "raw_score", "points_lost_uncertainty",
                   *(f"points_lost_{c}" for c in COMPONENTS), "job_name")
_ANOMALY_COLUMNS = ("anomaly_id", "run_id", "cluster_id", "metric", "observed", "expected", "lower_bound",
                    "upper_bound", "score", "severity", "method", "anomaly_type", "detected_at", "explanation",
                    "backfilled")


def _job_filters(workspace_id: str, job_id: str, column: str, since: datetime) -> tuple[Filter, ...]:
    return (Filter("workspace_id", "=", workspace_id), Filter("job_id", "=", job_id),
            Filter(column, ">=", since))


def expected_band(runs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per run: a robust band from the previous :data:`BAND_RUNS` successful durations (causal).

    ``exp(median(ln d) +/- 3 * 1.4826 * MAD(ln d))``; no band before 5 successful runs. The detector's own
    band for a flagged run is in its anomaly row (``lower_bound``/``upper_bound``).
    """
    history: list[float] = []
    out = []
    for run in runs:
        low = high = mid = None
        if len(history) >= 5:
            logs = [math.log(max(d, 1e-3)) for d in history[-BAND_RUNS:]]
            centre = statistics.median(logs)
            spread = 1.4826 * statistics.median(abs(x - centre) for x in logs) or 0.05
            mid, low, high = math.exp(centre), math.exp(centre - 3 * spread), math.exp(centre + 3 * spread)
        out.append({"expected": mid, "lower": low, "upper": high})
        duration = run.get("duration_minutes")
        if duration is not None and not run.get("is_failed") and run.get("end_time") is not None:
            history.append(float(duration))
    return out


def downsample(rows: list[dict[str, Any]], points: int = MAX_POINTS) -> list[dict[str, Any]]:
    """At most ``points`` rows: the mean of each time bucket (peaks kept as the bucket's maximum)."""
    if len(rows) <= points:
        return rows
    first, last = rows[0]["timestamp"], rows[-1]["timestamp"]
    width = max((last - first).total_seconds() / points, 1.0)
    buckets: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        buckets[int((row["timestamp"] - first).total_seconds() // width)].append(row)
    out = []
    for index in sorted(buckets):
        group = buckets[index]
        merged: dict[str, Any] = {"timestamp": first + timedelta(seconds=index * width), "cluster_id": None,
                                  "run_id": group[0].get("run_id")}
        for name in ("cpu_utilization", "memory_utilization"):
            values = [r[name] for r in group if r.get(name) is not None]
            merged[name] = sum(values) / len(values) if values else None
        for name in ("cpu_utilization_max", "memory_utilization_max"):
            values = [r[name] for r in group if r.get(name) is not None]
            merged[name] = max(values) if values else None
        out.append(merged)
    return out


def job_page(reader: TableReader, workspace_id: str, job_id: str, now: datetime, *,
             days: int = 30, metric_days: int = 7) -> dict[str, Any]:
    """Everything the job page draws, for the last ``days`` (metrics: the last ``metric_days``)."""
    since = now - timedelta(days=clamp_days(days, 30))
    health = reader.read(Query("job_health_scores", _HEALTH_COLUMNS,
                               where=_job_filters(workspace_id, job_id, "calculation_time", since),
                               order_by=(("calculation_time", False),), limit=MAX_DAYS + 10))
    runs = reader.read(Query("job_monitoring", _RUN_COLUMNS,
                             where=_job_filters(workspace_id, job_id, "start_time", since),
                             order_by=(("start_time", False),), limit=5000))
    band = expected_band(runs)
    anomalies = reader.read(Query("job_anomalies", _ANOMALY_COLUMNS,
                                  where=_job_filters(workspace_id, job_id, "detected_at", since),
                                  order_by=(("detected_at", True),), limit=1000))
    costs = reader.read(Query("job_costs", ("run_id", "usage_start", "dbus", "list_cost", "currency_code"),
                              where=_job_filters(workspace_id, job_id, "usage_start", since),
                              order_by=(("usage_start", False),), limit=5000))
    metric_since = now - timedelta(days=clamp_days(metric_days, 7))
    metrics = reader.read(Query("resource_metrics",
                                ("timestamp", "cluster_id", "run_id", "cpu_utilization", "memory_utilization",
                                 "cpu_utilization_max", "memory_utilization_max"),
                                where=_job_filters(workspace_id, job_id, "timestamp", metric_since),
                                order_by=(("timestamp", False),), limit=20_000))
    breaches = reader.read(Query("sla_breaches",
                                 ("run_id", "sla_kind", "in_flight", "status", "start_time", "observed_minutes",
                                  "limit_minutes", "deadline", "overrun_minutes", "message"),
                                 where=_job_filters(workspace_id, job_id, "start_time", since),
                                 order_by=(("start_time", True),), limit=1000))
    failures = [r for r in runs if r.get("is_failed")]
    codes: dict[str, int] = defaultdict(int)
    for run in failures:
        codes[str(run.get("termination_code") or "UNKNOWN")] += 1
    latest = health[-1] if health else None
    name = (latest or {}).get("job_name") or next((a.get("job_name") for a in anomalies if a.get("job_name")), None)
    return {
        "workspace_id": workspace_id, "job_id": job_id, "job_name": name or job_id,
        "as_of": now.isoformat(), "days": clamp_days(days, 30),
        "health": [_json(r) for r in health],
        "score": _score_breakdown(latest),
        "runs": [_json({**r, **b}) for r, b in zip(runs, band, strict=True)],
        "anomalies": [_json(r) for r in anomalies],
        "failures": [_json(r) for r in reversed(failures)][:200],
        "termination_codes": dict(sorted(codes.items(), key=lambda kv: -kv[1])),
        "costs": [_json(r) for r in costs],
        "metrics": [_json(r) for r in downsample(metrics)],
        "sla_breaches": [_json(r) for r in breaches],
    }


def _score_breakdown(latest: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The current score and the points lost per component (they add up to 100 - score)."""
    if not latest:
        return None
    lost = {c: latest.get(f"points_lost_{c}") for c in COMPONENTS}
    lost["uncertainty"] = latest.get("points_lost_uncertainty")
    return {"health_score": latest.get("health_score"), "trend": latest.get("trend"),
            "trend_reason": latest.get("trend_reason"), "explanation": latest.get("explanation"),
            "confidence": latest.get("confidence"), "runs_in_window": latest.get("runs_in_window"),
            "failed_runs": latest.get("failed_runs"), "calculation_time": _iso(latest.get("calculation_time")),
            "points_lost": {k: v for k, v in lost.items() if v is not None}}


# -- anomalies -------------------------------------------------------------------------------------
def anomalies(reader: TableReader, now: datetime, *, days: int = 7, severity: str | None = None,
              anomaly_type: str | None = None, workspace: str | None = None, job_id: str | None = None,
              limit: int = 500) -> dict[str, Any]:
    """Anomalies detected in the last ``days``, newest first, filtered; ``severity`` is a minimum."""
    where = [Filter("detected_at", ">=", now - timedelta(days=clamp_days(days)))]
    if severity in SEVERITIES:
        where.append(Filter("severity", "in", SEVERITIES[SEVERITIES.index(severity):]))
    if anomaly_type:
        where.append(Filter("anomaly_type", "=", anomaly_type))
    if workspace:
        where.append(Filter("workspace_id", "=", workspace))
    if job_id:
        where.append(Filter("job_id", "=", job_id))
    rows = reader.read(Query("job_anomalies", ("workspace_id", "job_id", "job_name", *_ANOMALY_COLUMNS),
                             where=tuple(where), order_by=(("detected_at", True),),
                             limit=max(1, min(limit, 2000))))
    types = reader.read(Query("job_anomalies", group_by=("anomaly_type",), aggregates=(Agg("count", "anomaly_id", "n"),),
                              where=(where[0],), limit=200))
    return {"as_of": now.isoformat(), "days": clamp_days(days), "anomalies": [_json(r) for r in rows],
            "types": {str(r["anomaly_type"]): int(r["n"]) for r in types}}


# -- alerts ----------------------------------------------------------------------------------------
_HISTORY_COLUMNS = ("alert_id", "job_id", "alert_type", "severity", "message", "created_at", "resolved_at",
                    "channels_sent", "fingerprint", "status", "rule", "escalation_level", "updated_at")
_OUTBOX_COLUMNS = ("delivery_id", "channel", "status", "attempts", "last_error", "next_attempt_at",
                   "created_at", "sent_at", "fingerprints")


def alerts(reader: TableReader, now: datetime, *, days: int = 7, limit: int = 500) -> dict[str, Any]:
    """Alerts updated in the last ``days`` with their deliveries (sent, pending, failed with reason)."""
    since = now - timedelta(days=clamp_days(days))
    history = reader.read(Query("alert_history", _HISTORY_COLUMNS, where=(Filter("updated_at", ">=", since),),
                                order_by=(("updated_at", True),), limit=max(1, min(limit, 2000))))
    outbox = reader.read(Query("alert_outbox", _OUTBOX_COLUMNS, where=(Filter("created_at", ">=", since),),
                               order_by=(("created_at", True),), limit=5000))
    by_fp: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for delivery in outbox:
        for fp in delivery.get("fingerprints") or ():
            by_fp[fp].append(_json({k: v for k, v in delivery.items() if k != "fingerprints"}))
    rows = []
    for alert in history:
        item = _json(alert)
        item["deliveries"] = by_fp.get(str(alert.get("fingerprint")), [])[:20]
        rows.append(item)
    counts: dict[str, int] = defaultdict(int)
    for delivery in outbox:
        counts[str(delivery.get("status"))] += 1
    return {"as_of": now.isoformat(), "days": clamp_days(days), "alerts": rows,
            "firing": sum(1 for a in history if a.get("status") == "firing"),
            "deliveries": dict(counts)}


# -- platform status -----------------------------------------------------------------------------
def platform_status(reader: TableReader, now: datetime) -> dict[str, Any]:
    """Watermark per collection source and analysis stage: last cycle, lag behind now, rows read."""
    marks = reader.read(Query("watermarks", ("source", "watermark", "rows_read", "updated_at"),
                              order_by=(("source", False),), limit=200))
    stages = []
    for row in marks:
        updated = row.get("updated_at")
        stages.append({**_json(row), "lag_minutes": (now - updated).total_seconds() / 60 if updated else None})
    cycles = reader.read(Query("alert_cycles", ("interval_start", "interval_end", "evaluated_at", "candidates",
                                                "notifications", "sent", "failed", "deferred"),
                               order_by=(("interval_end", True),), limit=10))
    return {"as_of": now.isoformat(), "stages": stages, "alert_cycles": [_json(c) for c in cycles]}


__all__ = ["alerts", "anomalies", "clamp_days", "downsample", "expected_band", "fleet", "job_page", "platform_status"]
