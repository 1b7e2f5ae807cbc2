"""simulate_workspace / append_day: plan runs in Python, emit the rows of a day window, write Delta.

Every day's rows are a function of (seed, job, day) only, so simulating N+1 days equals simulating
N days and then calling ``append_day``. Runs in flight at the end have their finished hour slices
written; the next ``append_day`` writes the rest, terminal slice included.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from dataops_jobs.simulator import billing, compute, rows, scd
from dataops_jobs.simulator import constants as c
from dataops_jobs.simulator.catalog import JobSpec, SimConfig, build_catalog
from dataops_jobs.simulator.delta_io import (
    GROUND_TRUTH,
    MANIFEST,
    read_json,
    rows_frame,
    write_json,
    write_table,
)
from dataops_jobs.simulator.ground_truth import ground_truth
from dataops_jobs.simulator.incidents import plan_incidents
from dataops_jobs.simulator.runs import RunPlan, plan_day

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)
MANIFEST_FORMAT = "dataops-simulator/1"


@dataclass(frozen=True)
class SimulationSummary:
    """What one call wrote: period, rows per table (``<schema>.<table>``), incidents so far, seconds."""

    path: str
    seed: int
    jobs: int
    workspaces: int
    start: datetime
    end: datetime
    days: int
    days_written: tuple[int, int]
    row_counts: dict[str, int] = field(default_factory=dict)
    runs: int = 0
    incidents: int = 0
    seconds: float = 0.0


def _midnight(ts: datetime) -> datetime:
    ts = ts.astimezone(timezone.utc) if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
    return ts.replace(hour=0, minute=0, second=0, microsecond=0)


def simulate_workspace(
    spark: SparkSession,
    system_tables_path: str,
    *,
    jobs: int = 200,
    days: int = 30,
    seed: int = 42,
    end: datetime | None = None,
    workspaces: int = 2,
) -> SimulationSummary:
    """Write ``days`` days ending at ``end`` (UTC midnight; default: today's) as fresh system tables."""
    if jobs < 1 or days < 1 or workspaces < 1:
        raise ValueError(f"jobs, days and workspaces must be >= 1 (got {jobs}, {days}, {workspaces})")
    stop = _midnight(end or datetime.now(timezone.utc))
    cfg = SimConfig(seed, jobs, workspaces, stop - timedelta(days=days))
    return _run(spark, system_tables_path, cfg, 0, days)


def append_day(spark: SparkSession, system_tables_path: str) -> SimulationSummary:
    """Append the next day to a simulation described by ``<path>/_simulator.json``."""
    manifest = read_json(system_tables_path, MANIFEST)
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{system_tables_path}/{MANIFEST}: unknown format {manifest.get('format')!r}")
    cfg = SimConfig(
        int(manifest["seed"]),
        int(manifest["jobs"]),
        int(manifest["workspaces"]),
        datetime.fromisoformat(manifest["start"]),
    )
    days = int(manifest["days"])
    return _run(spark, system_tables_path, cfg, days, days + 1)


_PY_TABLES = (
    "lakeflow.jobs",
    "lakeflow.job_tasks",
    "lakeflow.job_run_timeline",
    "lakeflow.job_task_run_timeline",
    "compute.clusters",
    "billing.usage",
)


@dataclass
class _Batch:
    """Rows of one emission window, per table, plus node intervals."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {t: [] for t in _PY_TABLES})
    intervals: list[compute.Interval] = field(default_factory=list)


def _plans(cfg: SimConfig, catalog: list[JobSpec], day_to: int) -> dict[int, list[RunPlan]]:
    incidents = plan_incidents(cfg, catalog, day_to)
    return {
        job.index: [p for d in range(day_to) for p in plan_day(cfg, job, d, incidents[job.index])]
        for job in catalog
    }


def _collect(
    cfg: SimConfig, catalog: list[JobSpec], plans: dict[int, list[RunPlan]], day_from: int, day_to: int
) -> _Batch:
    window = rows.Window(None if day_from == 0 else cfg.day_start(day_from), cfg.day_start(day_to))
    lo_s, hi_s = int(cfg.day_start(day_from).timestamp()), int(cfg.day_start(day_to).timestamp())
    batch = _Batch()
    t = batch.tables
    for job in catalog:
        t["lakeflow.jobs"] += scd.job_rows(job, window)
        t["lakeflow.job_tasks"] += scd.job_task_rows(job, window)
        for plan in plans[job.index]:
            if plan.day < day_from - c.LOOKBACK_DAYS:
                continue
            t["lakeflow.job_run_timeline"] += rows.run_rows(plan, window)
            t["lakeflow.job_task_run_timeline"] += rows.task_rows(plan, window)
            t["compute.clusters"] += rows.job_cluster_rows(plan, window)
            t["billing.usage"] += billing.job_usage_rows(plan, window)
            batch.intervals += [i for i in compute.job_intervals(plan) if i.start_s < hi_s and i.end_s > lo_s]
    t["compute.clusters"] += compute.all_purpose_cluster_rows(cfg, window)
    for day in range(day_from, day_to):
        intervals, usage = compute.all_purpose_day(cfg, day)
        batch.intervals += intervals
        t["billing.usage"] += usage
    return batch


def _write(
    spark: SparkSession, root: str, cfg: SimConfig, batch: _Batch, day_from: int, day_to: int
) -> dict[str, int]:
    from dataops_jobs.simulator.nodes import node_timeline

    overwrite = day_from == 0
    counts: dict[str, int] = {}
    for table, data in batch.tables.items():
        began = time.monotonic()
        write_table(spark, root, table, rows_frame(spark, table, data), overwrite=overwrite)
        counts[table] = len(data)
        log.debug("wrote %s rows to %s in %.1f s", len(data), table, time.monotonic() - began)
    lo_s, hi_s = int(cfg.day_start(day_from).timestamp()), int(cfg.day_start(day_to).timestamp())
    nodes = node_timeline(spark, batch.intervals, lo_s, hi_s, cfg.seed)
    write_table(spark, root, "compute.node_timeline", nodes, overwrite=overwrite)
    counts["compute.node_timeline"] = sum(compute.minutes_in(i, lo_s, hi_s) for i in batch.intervals)
    prices = billing.list_price_rows(cfg, cfg.day_start(day_to))
    changed = overwrite or prices != billing.list_price_rows(cfg, cfg.day_start(day_from))
    reference = [
        ("compute.node_types", compute.node_type_rows(), overwrite),
        ("billing.list_prices", prices, changed),
    ]
    for table, data, write in reference:  # reference tables are rewritten only when they change
        if write:
            write_table(spark, root, table, rows_frame(spark, table, data), overwrite=True)
        counts[table] = len(data) if write else 0
    return counts


SIZING_LABELS = "_sizing_labels.json"


def sizing_labels(catalog: list[JobSpec]) -> list[dict[str, Any]]:
    """The labelled sizing jobs (``simulator.sizing``) with their right answers."""
    from dataops_jobs.simulator import sizing

    out = []
    for job in catalog:
        profile = sizing.profile_of(job.index, len(catalog))
        if profile is None:
            continue
        out.append({"job_id": job.job_id, "workspace_id": job.workspace_id, "index": job.index,
                    "label": profile.label, "node_type": profile.node, "workers": profile.workers,
                    "right_workers": profile.right_workers(),
                    "node_dbu_per_hour": c.NODE_TYPE_BY_NAME[profile.node].dbu_per_hour})
    return out


def _run(spark: SparkSession, root: str, cfg: SimConfig, day_from: int, day_to: int) -> SimulationSummary:
    began = time.monotonic()
    catalog = build_catalog(cfg)
    plans = _plans(cfg, catalog, day_to)
    batch = _collect(cfg, catalog, plans, day_from, day_to)
    log.debug("planned and collected rows in %.1f s", time.monotonic() - began)
    counts = _write(spark, root, cfg, batch, day_from, day_to)
    end = cfg.day_start(day_to)
    incidents = ground_truth(cfg, catalog, plans, end)
    write_json(root, GROUND_TRUTH, incidents)
    write_json(root, SIZING_LABELS, sizing_labels(catalog))
    write_json(
        root,
        MANIFEST,
        {
            "format": MANIFEST_FORMAT,
            "seed": cfg.seed,
            "jobs": cfg.jobs,
            "workspaces": cfg.workspaces,
            "start": cfg.start.isoformat(),
            "end": end.isoformat(),
            "days": day_to,
            "account_id": c.ACCOUNT_ID,
            "workspace_ids": cfg.workspace_ids,
            "tables": sorted(counts),
        },
    )
    run_ids = Counter(r["run_id"] for r in batch.tables["lakeflow.job_run_timeline"])
    summary = SimulationSummary(
        root,
        cfg.seed,
        cfg.jobs,
        cfg.workspaces,
        cfg.start,
        end,
        day_to,
        (day_from, day_to),
        counts,
        len(run_ids),
        len(incidents),
        round(time.monotonic() - began, 2),
    )
    log.info("simulated days %s-%s into %s: %s", day_from, day_to, root, counts)
    return summary
