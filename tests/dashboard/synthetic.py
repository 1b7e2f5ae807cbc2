"""Output tables in the local layout, written with deltalake + pyarrow (no JVM), for the dashboard's tests
and benchmark.

The rows follow the registered schemas column for column (``arrow_schema``), with values shaped like a
cycle's: lognormal durations, failures with termination codes, daily health rows with points lost,
anomalies with explanations, costs per run, per-5-minute cluster metrics, alert state, history and
outbox rows, watermarks. One job (``JOB_WITH_INCIDENT``) has a clear duration regression and a
failure streak so pages have something to show.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from deltalake import write_deltalake

from dataops_intelligence.dashboard.tables import arrow_schema
from dataops_jobs.schemas.output import OUTPUT_TABLES

if TYPE_CHECKING:
    from pathlib import Path

CATALOG, SCHEMA = "dataops_intelligence", "monitoring"
TEAMS = ("data-eng", "ml-platform", "finance-analytics", "marketing")
WORKSPACES = ("1001", "1002")
JOB_WITH_INCIDENT = ("1001", "100")
CODES = ("RUN_EXECUTION_ERROR", "DRIVER_ERROR", "CLUSTER_ERROR", "USER_CANCELED", "INTERNAL_ERROR")


@dataclass
class Written:
    """What was written (counts per table, and the ids tests look for)."""

    warehouse: Path
    now: datetime
    jobs: list[tuple[str, str, str]]
    rows: dict[str, int]


def table_path(warehouse: Path, name: str) -> Path:
    physical = "_watermarks" if name == "watermarks" else name
    return warehouse / CATALOG / SCHEMA / physical


def _write(warehouse: Path, name: str, columns: dict[str, Any], rows: dict[str, int]) -> None:
    spec = OUTPUT_TABLES[name]
    schema = arrow_schema(spec)
    n = len(next(iter(columns.values())))
    arrays = []
    for field in schema:
        value = columns.get(field.name)
        arrays.append(pa.nulls(n, field.type) if value is None else pa.array(value, type=field.type))
    table = pa.Table.from_arrays(arrays, schema=schema)
    write_deltalake(str(table_path(warehouse, name)), table, mode="overwrite")
    rows[name] = n


def _ids(prefix: str, values: Any) -> list[str]:
    return [hashlib.sha256(f"{prefix}{v}".encode()).hexdigest()[:32] for v in values]


def write_tables(warehouse: Path, *, jobs: int = 12, days: int = 14, now: datetime | None = None,
                 seed: int = 7, metrics_every_minutes: int = 5) -> Written:
    """Write every table the dashboard reads for ``jobs`` jobs over ``days`` days ending at ``now``."""
    import dataops_intelligence.dashboard.tables  # noqa: F401  (registers every table)

    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    rng = np.random.default_rng(seed)
    rows: dict[str, int] = {}
    job_list = [(WORKSPACES[i % 2], str(100 + i), f"job_{i:04d}_etl") for i in range(jobs)]
    start = now - timedelta(days=days)
    runs = _runs(rng, job_list, start, now)
    _write(warehouse, "job_monitoring", runs, rows)
    _write(warehouse, "job_costs", _costs(rng, runs), rows)
    _write(warehouse, "resource_metrics", _metrics(rng, runs, now, metrics_every_minutes), rows)
    _write(warehouse, "job_health_scores", _health(rng, job_list, start, now), rows)
    _write(warehouse, "job_anomalies", _anomalies(runs, now), rows)
    _write(warehouse, "sla_breaches", _breaches(runs, now), rows)
    _alerts(warehouse, job_list, now, rows)
    _write(warehouse, "watermarks", {
        "source": ["job_run_timeline", "node_timeline", "usage", "analysis.health", "analysis.anomalies",
                   "analysis.sla", "analysis.alerts"],
        "watermark": [now - timedelta(minutes=m) for m in (35, 36, 40, 30, 30, 30, 30)],
        "rows_read": [1200, 53000, 800, 0, 0, 0, 0],
        "updated_at": [now - timedelta(minutes=30)] * 7,
    }, rows)
    return Written(warehouse, now, job_list, rows)


def _runs(rng: np.random.Generator, jobs: list[tuple[str, str, str]], start: datetime, now: datetime) -> dict[str, Any]:
    cols: dict[str, list[Any]] = {k: [] for k in ("workspace_id", "job_id", "job_name", "run_id", "start_time",
                                                   "end_time", "duration_minutes", "status", "result_state",
                                                   "termination_code", "is_failed", "tags", "cluster_id",
                                                   "attempts", "failure_category", "trigger_type")}
    span_h = (now - start).total_seconds() / 3600
    for index, (ws, job_id, name) in enumerate(jobs):
        every_h = (1, 4, 6, 12, 24)[index % 5]
        median = float(rng.uniform(5, 60))
        starts = np.arange(rng.uniform(0, every_h), span_h - 0.1, every_h)
        durations = median * np.exp(rng.normal(0, 0.15, len(starts)))
        failed = rng.random(len(starts)) < 0.04
        if (ws, job_id) == JOB_WITH_INCIDENT:
            durations[-max(3, len(starts) // 5):] *= 3.0
            failed[-3:] = True
        tags = [("team", TEAMS[index % len(TEAMS)]), ("env", "prod" if index % 3 else "dev")]
        for k, (offset, minutes, bad) in enumerate(zip(starts, durations, failed, strict=True)):
            begin = start + timedelta(hours=float(offset))
            end = begin + timedelta(minutes=float(minutes))
            running = end > now
            cols["workspace_id"].append(ws)
            cols["job_id"].append(job_id)
            cols["job_name"].append(name)
            cols["run_id"].append(f"{job_id}{k:05d}")
            cols["start_time"].append(begin)
            cols["end_time"].append(None if running else end)
            cols["duration_minutes"].append(None if running else float(minutes))
            state = "RUNNING" if running else ("FAILED" if bad else "SUCCEEDED")
            cols["status"].append(state)
            cols["result_state"].append(None if running else state)
            cols["termination_code"].append(None if running else (CODES[k % len(CODES)] if bad else "SUCCESS"))
            cols["is_failed"].append(bool(bad) and not running)
            cols["tags"].append(tags)
            cols["cluster_id"].append(f"cl-{job_id}-{k}")
            cols["attempts"].append(1)
            cols["failure_category"].append("user_error" if bad and not running else None)
            cols["trigger_type"].append("CRON")
    return cols


def _costs(rng: np.random.Generator, runs: dict[str, Any]) -> dict[str, Any]:
    n = len(runs["run_id"])
    dbus = [float(d or 1) / 60 * 4 for d in runs["duration_minutes"]]
    return {
        "workspace_id": runs["workspace_id"], "job_id": runs["job_id"], "run_id": runs["run_id"],
        "usage_start": runs["start_time"], "usage_end": [s + timedelta(hours=1) for s in runs["start_time"]],
        "dbus": [Decimal(f"{x:.6f}") for x in dbus], "list_cost": [Decimal(f"{x * 0.15:.6f}") for x in dbus],
        "currency_code": ["USD"] * n, "sku_names": [["JOBS_COMPUTE"]] * n, "is_serverless": [False] * n,
        "record_count": [1] * n,
    }


def _metrics(rng: np.random.Generator, runs: dict[str, Any], now: datetime, every: int) -> dict[str, Any]:
    """One row per ``every`` minutes of each run (vectorised: a 1,000-job, 90-day set has millions)."""
    durations = np.array([d or 10.0 for d in runs["duration_minutes"]])
    points = np.maximum(1, (durations // every).astype(np.int64))
    index = np.repeat(np.arange(len(points)), points)
    step = np.arange(len(index)) - np.repeat(np.cumsum(points) - points, points)
    starts = np.array([t.replace(tzinfo=None) for t in runs["start_time"]], dtype="datetime64[us]")
    stamps = starts[index] + (step * every * 60_000_000).astype("timedelta64[us]")
    cpu = np.clip(rng.normal(55, 12, len(index)), 0, 100)
    mem = np.clip(40 + 30 * step / np.maximum(points[index], 1) + rng.normal(0, 3, len(index)), 0, 100)

    def pick(name: str) -> Any:
        return np.asarray(runs[name], dtype=object)[index]

    return {
        "workspace_id": pick("workspace_id"), "job_id": pick("job_id"), "run_id": pick("run_id"),
        "cluster_id": pick("cluster_id"), "timestamp": stamps, "cpu_utilization": cpu, "memory_utilization": mem,
        "cpu_utilization_max": np.minimum(100.0, cpu + 10), "memory_utilization_max": np.minimum(100.0, mem + 5),
    }


def _health(rng: np.random.Generator, jobs: list[tuple[str, str, str]], start: datetime, now: datetime) -> dict[str, Any]:
    cols: dict[str, list[Any]] = {k: [] for k in ("workspace_id", "job_id", "job_name", "calculation_time",
                                                   "health_score", "trend", "success_rate", "explanation",
                                                   "points_lost_success_rate", "points_lost_duration_drift",
                                                   "points_lost_uncertainty", "confidence", "runs_in_window",
                                                   "failed_runs", "window_end", "trend_reason")}
    first = start.replace(hour=0, minute=0, second=0) + timedelta(days=1)
    day_count = (now - first).days + 2
    for ws, job_id, name in jobs:
        bad = (ws, job_id) == JOB_WITH_INCIDENT
        base = float(rng.uniform(70, 99))
        for d in range(day_count):
            t = first + timedelta(days=d)
            late = bad and d >= day_count - 3
            score = 38.0 if late else base + float(rng.normal(0, 1.5))
            lost_sr = 32.0 if late else max(0.0, 100 - score - 3)
            cols["workspace_id"].append(ws)
            cols["job_id"].append(job_id)
            cols["job_name"].append(name)
            cols["calculation_time"].append(t)
            cols["health_score"].append(score)
            cols["trend"].append("degrading" if late else "stable")
            cols["success_rate"].append(0.6 if late else 0.98)
            cols["explanation"].append(
                "lost 32 on success rate (3/8 failed); lost 27 on duration drift (x3.0 the baseline median)"
                if late else f"lost {100 - score:.0f} on success rate and stability")
            cols["points_lost_success_rate"].append(lost_sr)
            cols["points_lost_duration_drift"].append(27.0 if late else 0.0)
            cols["points_lost_uncertainty"].append(3.0)
            cols["confidence"].append(1.0)
            cols["runs_in_window"].append(14)
            cols["failed_runs"].append(3 if late else 0)
            cols["window_end"].append(min(t, now))
            cols["trend_reason"].append("failure rate 38% vs 2% in the baseline, z=3.1" if late else "no significant change")
    return cols


def _anomalies(runs: dict[str, Any], now: datetime) -> dict[str, Any]:
    cols: dict[str, list[Any]] = {k: [] for k in ("anomaly_id", "workspace_id", "job_id", "job_name", "run_id",
                                                   "metric", "observed", "expected", "lower_bound", "upper_bound",
                                                   "score", "severity", "method", "anomaly_type", "detected_at",
                                                   "interval_end", "explanation", "backfilled")}
    by_job: dict[tuple[str, str], list[int]] = {}
    for i in range(len(runs["run_id"])):
        by_job.setdefault((runs["workspace_id"][i], runs["job_id"][i]), []).append(i)
    for key, indexes in by_job.items():
        picks = indexes[-3:] if key == JOB_WITH_INCIDENT else indexes[len(indexes) // 2: len(indexes) // 2 + 1]
        for i in picks:
            if runs["duration_minutes"][i] is None:
                continue
            observed = float(runs["duration_minutes"][i])
            expected = observed / (3.0 if key == JOB_WITH_INCIDENT else 1.8)
            severity = "high" if key == JOB_WITH_INCIDENT else "medium"
            cols["anomaly_id"].append(_ids("a", [runs["run_id"][i]])[0])
            cols["workspace_id"].append(key[0])
            cols["job_id"].append(key[1])
            cols["job_name"].append(runs["job_name"][i])
            cols["run_id"].append(runs["run_id"][i])
            cols["metric"].append("duration_minutes")
            cols["observed"].append(observed)
            cols["expected"].append(expected)
            cols["lower_bound"].append(expected * 0.7)
            cols["upper_bound"].append(expected * 1.4)
            cols["score"].append(0.97)
            cols["severity"].append(severity)
            cols["method"].append("robust_baseline")
            cols["anomaly_type"].append("duration_regression")
            cols["detected_at"].append(runs["end_time"][i])
            cols["interval_end"].append(now)
            cols["explanation"].append(
                f"run took {observed:.0f} min, {observed / expected:.1f}x its median of {expected:.0f} min "
                f"(expected {expected * 0.7:.0f}-{expected * 1.4:.0f} min)")
            cols["backfilled"].append(False)
    return cols


def _breaches(runs: dict[str, Any], now: datetime) -> dict[str, Any]:
    picks = [i for i in range(len(runs["run_id"])) if (runs["workspace_id"][i], runs["job_id"][i]) == JOB_WITH_INCIDENT
             and runs["duration_minutes"][i] is not None][-2:]
    return {
        "workspace_id": [runs["workspace_id"][i] for i in picks], "job_id": [runs["job_id"][i] for i in picks],
        "job_name": [runs["job_name"][i] for i in picks], "run_id": [runs["run_id"][i] for i in picks],
        "sla_kind": ["max_duration"] * len(picks), "in_flight": [False] * len(picks),
        "status": ["SUCCEEDED"] * len(picks), "start_time": [runs["start_time"][i] for i in picks],
        "end_time": [runs["end_time"][i] for i in picks],
        "observed_minutes": [runs["duration_minutes"][i] for i in picks], "limit_minutes": [60.0] * len(picks),
        "overrun_minutes": [runs["duration_minutes"][i] - 60.0 for i in picks],
        "message": [f"run {runs['run_id'][i]} took {runs['duration_minutes'][i]:.0f} min (SLA 60 min)" for i in picks],
        "evaluated_at": [now] * len(picks), "backfilled": [False] * len(picks),
    }


def _alerts(warehouse: Path, jobs: list[tuple[str, str, str]], now: datetime, rows: dict[str, int]) -> None:
    ws, job_id = JOB_WITH_INCIDENT
    fp_fail, fp_old = "f" * 64, "e" * 64
    _write(warehouse, "alert_state", {
        "fingerprint": [fp_fail, fp_old], "alert_id": ["a-fail", "a-old"], "rule": ["job_failures", "health_low"],
        "alert_type": ["job_failure", "health_score"], "status": ["firing", "resolved"],
        "severity": ["error", "warning"], "job_id": [job_id, jobs[-1][1]], "group_key": ["g1", "g2"],
        "labels": [[("job_id", job_id), ("workspace_id", ws)], [("job_id", jobs[-1][1])]],
        "first_seen": [now - timedelta(hours=3), now - timedelta(days=2)],
        "last_seen": [now - timedelta(minutes=30), now - timedelta(days=1)],
        "last_sent": [now - timedelta(hours=3), now - timedelta(days=2)],
        "resolved_at": [None, now - timedelta(days=1)], "tracked": [True, False], "state_json": ["{}", "{}"],
    }, rows)
    _write(warehouse, "alert_history", {
        "alert_id": ["a-fail", "a-old"], "job_id": [job_id, jobs[-1][1]], "alert_type": ["job_failure", "health_score"],
        "severity": ["error", "warning"],
        "message": [f"job_{int(job_id) - 100:04d}_etl failed 3 times in a row", "health score 58 < 60"],
        "created_at": [now - timedelta(hours=3), now - timedelta(days=2)],
        "resolved_at": [None, now - timedelta(days=1)], "channels_sent": [["slack", "email"], ["slack"]],
        "fingerprint": [fp_fail, fp_old], "status": ["firing", "resolved"], "group_key": ["g1", "g2"],
        "deliveries": [["slack:sent:abc", "email:failed:def"], ["slack:sent:123"]], "rule": ["job_failures", "health_low"],
        "escalation_level": [0, 0], "updated_at": [now - timedelta(minutes=30), now - timedelta(days=1)],
    }, rows)
    _write(warehouse, "alert_outbox", {
        "delivery_id": ["d1", "d2", "d3", "d4"], "channel": ["slack", "email", "slack", "teams"],
        "status": ["sent", "failed", "sent", "pending"], "attempts": [1, 3, 1, 0],
        "last_error": [None, "SMTP 421 service not available", None, None],
        "next_attempt_at": [None, now + timedelta(seconds=30), None, now],
        "created_at": [now - timedelta(hours=3)] * 2 + [now - timedelta(days=2), now - timedelta(minutes=30)],
        "sent_at": [now - timedelta(hours=3), None, now - timedelta(days=2), None],
        "is_open": [False, True, False, True],
        "fingerprints": [[fp_fail], [fp_fail], [fp_old], [fp_fail]], "notification": ["{}"] * 4,
    }, rows)
    _write(warehouse, "alert_cycles", {
        "interval_end": [now - timedelta(minutes=30)], "interval_start": [now - timedelta(minutes=60)],
        "evaluated_at": [now - timedelta(minutes=29)], "candidates": [3], "notifications": [1], "sent": [1],
        "failed": [1], "deferred": [0],
    }, rows)
