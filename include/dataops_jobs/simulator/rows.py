"""Rows of the lakeflow, clusters and billing tables for a set of runs, inside an emission window.

A row belongs to the day of its time key (slice start, change time, usage hour); hour-aligned slices
never cross midnight, so every day's rows are a pure function of the runs that touch that day.

Slice semantics: every slice carries the run's identity, trigger, type, name, parameters and compute;
``result_state``, ``termination_code``, ``termination_type`` and all ``*_duration_seconds`` columns are
outcome fields, set only on the terminal slice of an attempt (NULL on intermediate slices). Each
attempt (original run, then each repair) ends with its own terminal slice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dataops_jobs.simulator import constants as c

if TYPE_CHECKING:
    from dataops_jobs.simulator.runs import Attempt, RunPlan, TaskRun

Row = dict[str, Any]


class Window:
    """An emission window ``[lo, hi)``; ``lo`` None takes everything before ``hi`` (day 0)."""

    def __init__(self, lo: datetime | None, hi: datetime) -> None:
        self.lo, self.hi = lo, hi

    def __contains__(self, ts: datetime) -> bool:
        return (self.lo is None or ts >= self.lo) and ts < self.hi


def hour_slices(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Split ``[start, end]`` at clock hours (10:15-11:00, 11:00-12:00, 12:00-12:30)."""
    if end <= start:
        return [(start, start)]
    out, t = [], start
    while t < end:
        nxt = min(end, t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        out.append((t, nxt))
        t = nxt
    return out


def _since(ts: datetime, cutoff: datetime, value: Any) -> Any:
    return value if ts >= cutoff else None


def _compute(cluster: str | None) -> list[Row]:
    if cluster is None:
        return [{"type": "SERVERLESS", "cluster_id": None, "warehouse_id": None}]
    return [{"type": "CLUSTER", "cluster_id": cluster, "warehouse_id": None}]


def _outcome(ts: datetime, final: bool, state: str, code: str, durations: Row) -> Row:
    """Outcome columns: only on a terminal slice, and only for columns that existed at ``ts``."""
    if not final:
        return {}
    aug, dec = c.AUG_2024_COLUMNS_SINCE, c.DEC_2025_COLUMNS_SINCE
    row: Row = {
        "result_state": state,
        "termination_code": _since(ts, aug, code),
        "termination_type": _since(ts, dec, c.TERMINATION_TYPE.get(code, "CLIENT_ERROR")),
    }
    row.update({k: _since(ts, dec, v) for k, v in durations.items()})
    return row


def run_rows(plan: RunPlan, window: Window) -> list[Row]:
    """job_run_timeline rows of ``plan`` whose slice starts inside ``window``."""
    job = plan.job
    tags = job.version_at(plan.scheduled).tags
    params = {"env": {"value": tags["env"]}, "run_date": {"value": f"{plan.scheduled:%Y-%m-%d}"}}
    out = []
    for a in plan.attempts:
        slices = hour_slices(a.start, a.end)
        for i, (s, e) in enumerate(slices):
            if s not in window:
                continue
            aug, dec = c.AUG_2024_COLUMNS_SINCE, c.DEC_2025_COLUMNS_SINCE
            row: Row = {
                "account_id": c.ACCOUNT_ID,
                "workspace_id": job.workspace_id,
                "job_id": job.job_id,
                "run_id": plan.run_id,
                "period_start_time": s,
                "period_end_time": e,
                "trigger_type": plan.trigger_type,
                "run_type": plan.run_type,
                "run_name": plan.run_name,
                "compute_ids": _since(s, aug, []),
                "job_parameters": _since(s, aug, params),
                "compute": _since(s, dec, _compute(a.cluster_id)),
            }
            durations = {
                "setup_duration_seconds": a.setup_s,
                "queue_duration_seconds": a.queue_s,
                "run_duration_seconds": int((a.end - a.start).total_seconds()),
                "cleanup_duration_seconds": a.cleanup_s,
                "execution_duration_seconds": a.exec_s,
            }
            row.update(_outcome(s, i == len(slices) - 1, a.result_state, a.termination_code, durations))
            out.append(row)
    return out


def task_rows(plan: RunPlan, window: Window) -> list[Row]:
    """job_task_run_timeline rows of ``plan`` (one series of slices per task run)."""
    out = []
    for a in plan.attempts:
        for t in a.tasks:
            out += _task_slices(plan, a, t, window)
    return out


def _task_slices(plan: RunPlan, a: Attempt, t: TaskRun, window: Window) -> list[Row]:
    job = plan.job
    env = job.version_at(plan.scheduled).tags["env"]
    slices = hour_slices(t.start, t.end)
    out = []
    for i, (s, e) in enumerate(slices):
        if s not in window:
            continue
        aug, dec = c.AUG_2024_COLUMNS_SINCE, c.DEC_2025_COLUMNS_SINCE
        row: Row = {
            "account_id": c.ACCOUNT_ID,
            "workspace_id": job.workspace_id,
            "job_id": job.job_id,
            "run_id": t.run_id,
            "job_run_id": _since(s, aug, plan.run_id),
            "parent_run_id": _since(s, aug, plan.run_id),
            "period_start_time": s,
            "period_end_time": e,
            "task_key": t.key,
            "compute_ids": [a.cluster_id] if a.cluster_id else [],
            "compute": _since(s, dec, _compute(a.cluster_id)),
            "task_parameters": _since(s, dec, {"env": env, "run_date": f"{plan.scheduled:%Y-%m-%d}"}),
        }
        durations = {
            "setup_duration_seconds": t.setup_s,
            "cleanup_duration_seconds": t.cleanup_s,
            "execution_duration_seconds": t.exec_s,
        }
        row.update(_outcome(s, i == len(slices) - 1, t.result_state, t.termination_code, durations))
        out.append(row)
    return out


def job_cluster_rows(plan: RunPlan, window: Window) -> list[Row]:
    """compute.clusters SCD rows of the run's job clusters: one at creation, one at termination."""
    job = plan.job
    out = []
    for a in plan.attempts:
        if job.compute != "job_cluster" or a.cluster_id is None:
            continue
        suffix = f"-repair-{a.number}" if a.number else ""
        base: Row = {
            "account_id": c.ACCOUNT_ID,
            "workspace_id": job.workspace_id,
            "cluster_id": a.cluster_id,
            "cluster_name": f"job-{job.job_id}-run-{plan.run_id}{suffix}",
            "owned_by": job.run_as,
            "create_time": a.cluster_start,
            "driver_node_type": job.driver_node,
            "worker_node_type": job.worker_node,
            "worker_count": None if job.autoscale else job.workers,
            "min_autoscale_workers": job.autoscale[0] if job.autoscale else None,
            "max_autoscale_workers": job.autoscale[1] if job.autoscale else None,
            "auto_termination_minutes": 0,
            "enable_elastic_disk": True,
            "tags": dict(job.version_at(plan.scheduled).tags),
            "cluster_source": "JOB",
            "init_scripts": [],
            "aws_attributes": _aws(job.index),
            "dbr_version": job.dbr_version,
            "data_security_mode": "SINGLE_USER",
            "policy_id": None,
        }
        for change, deleted in ((a.cluster_start, None), (a.end, a.end)):
            if change in window:
                out.append(
                    {**base, "delete_time": deleted, "change_time": change, "change_date": change.date()}
                )
    return out


def _aws(salt: int) -> Row:
    return {
        "instance_profile_arn": None,
        "zone_id": "us-east-1" + "abc"[salt % 3],
        "first_on_demand": 1,
        "availability": "SPOT_WITH_FALLBACK" if salt % 2 else "ON_DEMAND",
        "spot_bid_price_percent": 100,
        "ebs_volume_type": None,
        "ebs_volume_count": 0,
        "ebs_volume_size": None,
        "ebs_volume_iops": None,
        "ebs_volume_throughput": None,
    }
