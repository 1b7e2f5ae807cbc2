"""Compute-side values: node types, all-purpose clusters and the per-instance up-intervals from which
node_timeline is generated in Spark (see ``nodes``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from dataops_jobs.simulator import constants as c
from dataops_jobs.simulator import sizing
from dataops_jobs.simulator.billing import all_purpose_usage_rows
from dataops_jobs.simulator.catalog import SimConfig, all_purpose_cluster_ids
from dataops_jobs.simulator.ids import instance_id, rng
from dataops_jobs.simulator.rows import Row, Window, _aws

if TYPE_CHECKING:
    from dataops_jobs.simulator.runs import RunPlan

AP_UP_HOURS = (6, 20)
"""All-purpose clusters run 06:00-20:00 UTC every day (auto-termination outside office hours)."""
AP_RESIZE_DAY = 10


class Interval(NamedTuple):
    """One instance of one cluster, up during ``[start_s, end_s)`` (epoch seconds)."""

    workspace_id: str
    cluster_id: str
    instance_id: str
    driver: bool
    node_type: str
    start_s: int
    end_s: int
    busy_s: int
    base_cpu: float
    base_mem: float
    leak_target: float | None
    cpu_target: float | None
    net_bytes_per_min: int
    disk_bytes: int
    low_after_s: int | None = None
    low_cpu: float | None = None


def node_type_rows() -> list[Row]:
    return [
        {
            "account_id": c.ACCOUNT_ID,
            "node_type": n.name,
            "core_count": n.cores,
            "memory_mb": n.memory_mb,
            "gpu_count": n.gpus,
        }
        for n in c.NODE_TYPES
    ]


def _epoch(ts: datetime) -> int:
    return int(ts.timestamp())


def job_intervals(plan: RunPlan) -> list[Interval]:
    """Instances of the run's job clusters: the driver, the workers, autoscaled workers later."""
    job = plan.job
    if job.compute != "job_cluster":
        return []
    r = rng("nodes", job.index)
    base_cpu, base_mem = r.uniform(25, 70), r.uniform(30, 60)
    profile = sizing.PROFILES.get(job.index) if job.extra.get("sizing") else None
    if profile is not None:
        base_cpu, base_mem = profile.cpu, profile.mem
    disk = 150 * 10**9 if "d." in job.worker_node else 900 * 10**9
    out = []
    for a in plan.attempts:
        if a.cluster_id is None:
            continue
        start, end, busy = _epoch(a.cluster_start), _epoch(a.end), _epoch(a.cluster_start) + a.setup_s
        leak = sizing.LEAK_TARGET if profile is not None and profile.label == sizing.MEMORY else a.leak_target
        low_after = None
        if profile is not None and profile.low_cpu is not None:
            low_after = busy + int(a.exec_s * profile.high_share)
        workers = job.workers if job.autoscale is None else job.autoscale[0]
        extra = 0 if job.autoscale is None else (job.autoscale[1] - job.autoscale[0]) // 2
        for n in range(1 + workers + extra):
            driver = n == 0
            joins = start if driver else start + 30 + n * 7 + (a.setup_s + 600 if n > workers else 0)
            if joins >= end:
                continue
            out.append(
                Interval(
                    job.workspace_id,
                    a.cluster_id,
                    instance_id(a.cluster_id, n),
                    driver,
                    job.driver_node if driver else job.worker_node,
                    joins,
                    end,
                    busy,
                    base_cpu * (0.35 if driver else 1.0),
                    base_mem * (0.8 if driver else 1.0),
                    leak,
                    a.cpu_target,
                    40_000_000 if driver else 120_000_000,
                    disk,
                    low_after,
                    None if profile is None or profile.low_cpu is None else profile.low_cpu * (0.35 if driver else 1.0),
                )
            )
    return out


def _ap_clusters(cfg: SimConfig) -> list[tuple[str, str, str, datetime]]:
    owners = [f"{u}@{c.EMAIL_DOMAIN}" for u in c.USERS]
    out = []
    for ws_index, (ws, clusters) in enumerate(all_purpose_cluster_ids(cfg).items()):
        for n, cluster in enumerate(clusters):
            created = cfg.start - timedelta(days=90 + 7 * ws_index) + timedelta(hours=n)
            out.append((ws, cluster, owners[(ws_index * 2 + n) % len(owners)], created))
    return out


def all_purpose_cluster_rows(cfg: SimConfig, window: Window) -> list[Row]:
    """SCD rows of the all-purpose (UI) clusters: creation, then a resize to autoscaling on day 10."""
    out = []
    for ws, cluster, owner, created in _ap_clusters(cfg):
        base: Row = {
            "account_id": c.ACCOUNT_ID,
            "workspace_id": ws,
            "cluster_id": cluster,
            "cluster_name": f"{owner.split('.')[0]}'s shared cluster",
            "owned_by": owner,
            "create_time": created,
            "delete_time": None,
            "driver_node_type": "m5d.xlarge",
            "worker_node_type": "m5d.xlarge",
            "worker_count": 2,
            "auto_termination_minutes": 120,
            "enable_elastic_disk": True,
            "tags": {"team": "analytics"},
            "cluster_source": "UI",
            "init_scripts": ["/Volumes/ops/init/install_libs.sh"],
            "aws_attributes": _aws(1),
            "dbr_version": "15.4.x-scala2.12",
            "data_security_mode": "USER_ISOLATION",
            "policy_id": "E0631F5C0D0006B1",
        }
        resize = cfg.day_start(AP_RESIZE_DAY) + timedelta(hours=3)
        versions = [
            (created, base),
            (resize, {**base, "worker_count": None, "min_autoscale_workers": 2, "max_autoscale_workers": 6}),
        ]
        out += [{**row, "change_time": at, "change_date": at.date()} for at, row in versions if at in window]
    return out


def all_purpose_day(cfg: SimConfig, day: int) -> tuple[list[Interval], list[Row]]:
    """Up-intervals and hourly ALL_PURPOSE billing of the all-purpose clusters on ``day``."""
    intervals: list[Interval] = []
    usage: list[Row] = []
    lo = cfg.day_start(day)
    up, down = lo + timedelta(hours=AP_UP_HOURS[0]), lo + timedelta(hours=AP_UP_HOURS[1])
    for ws, cluster, owner, _ in _ap_clusters(cfg):
        for n in range(3):
            node = instance_id(f"{cluster}:{day}", n)
            intervals.append(
                Interval(
                    ws,
                    cluster,
                    node,
                    n == 0,
                    "m5d.xlarge",
                    _epoch(up) + 20 * n,
                    _epoch(down),
                    _epoch(up) + 300,
                    12.0 if n == 0 else 22.0,
                    35.0,
                    None,
                    None,
                    20_000_000,
                    150 * 10**9,
                )
            )
        for h in range(AP_UP_HOURS[1] - AP_UP_HOURS[0]):
            usage += all_purpose_usage_rows(cluster, ws, owner, up + timedelta(hours=h), 3 * 0.69)
    return intervals, usage


def minutes_in(interval: Interval, lo_s: int, hi_s: int) -> int:
    """node_timeline rows of ``interval`` inside ``[lo_s, hi_s)`` (same rule as the Spark expression)."""
    first = max(interval.start_s // 60 * 60, lo_s)
    last = (min(interval.end_s, hi_s) - 1) // 60 * 60
    return (last - first) // 60 + 1 if last >= first else 0
