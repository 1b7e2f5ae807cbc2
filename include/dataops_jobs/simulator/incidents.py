"""Injected incidents with ground truth: failure streaks, duration regressions, memory leaks, CPU
saturation and cost spikes.

The plan is a pure function of (seed, job, week block), never of the simulated length, so that a
longer simulation and a shorter one followed by ``append_day`` see the same incidents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dataops_jobs.simulator.ids import rng

if TYPE_CHECKING:
    from dataops_jobs.simulator.catalog import JobSpec, SimConfig

FAILURE_STREAK = "failure_streak"
DURATION_REGRESSION = "duration_regression"
MEMORY_LEAK = "memory_leak"
CPU_SATURATION = "cpu_saturation"
COST_SPIKE = "cost_spike"
INCIDENT_TYPES = (FAILURE_STREAK, DURATION_REGRESSION, MEMORY_LEAK, CPU_SATURATION, COST_SPIKE)


@dataclass(frozen=True)
class Incident:
    """An injected incident: the job it hits, its window (``end`` None = ongoing) and parameters."""

    incident_id: str
    type: str
    workspace_id: str
    job_id: str
    job_index: int
    start: datetime
    end: datetime | None
    parameters: dict[str, Any] = field(default_factory=dict)

    def active(self, ts: datetime) -> bool:
        return self.start <= ts and (self.end is None or ts < self.end)


def _make(kind: str, job: JobSpec, start: datetime, end: datetime | None, **params: Any) -> Incident:
    incident_id = f"{kind}-{job.job_id}-{start:%Y%m%d%H%M}"
    return Incident(incident_id, kind, job.workspace_id, job.job_id, job.index, start, end, params)


def _canary(cfg: SimConfig, job: JobSpec) -> list[Incident]:
    """Reserved job indices carry one incident each from the first days (see catalog roles)."""
    d0 = cfg.start
    if job.index == 2:
        return [
            _make(
                FAILURE_STREAK,
                job,
                d0 + timedelta(hours=2, minutes=59),
                d0 + timedelta(hours=15),
                runs=3,
                termination_code="RUN_EXECUTION_ERROR",
            )
        ]
    if job.index == 3:
        return [_make(MEMORY_LEAK, job, d0, d0 + timedelta(days=3), target_mem_percent=97.5)]
    if job.index == 4:
        return [_make(CPU_SATURATION, job, d0, d0 + timedelta(hours=36), cpu_percent=95.0)]
    if job.index == 5:
        return [_make(COST_SPIKE, job, d0, d0 + timedelta(days=2), factor=4.0)]
    if job.index == 6 and len(job.versions) > 1:
        return [_make(DURATION_REGRESSION, job, job.versions[1].change_time, None, factor=3.0)]
    return []


def _regression(cfg: SimConfig, job: JobSpec) -> list[Incident]:
    r = rng(cfg.seed, "regression", job.index)
    if job.kind != "scheduled" or r.random() >= 0.06:
        return []
    start = cfg.day_start(r.randrange(4, 25)) + timedelta(hours=r.randrange(24))
    return [_make(DURATION_REGRESSION, job, start, None, factor=round(r.uniform(2.0, 4.0), 2))]


def _episode(cfg: SimConfig, job: JobSpec, block: int) -> list[Incident]:
    r = rng(cfg.seed, "episode", job.index, block)
    u = r.random()
    start = cfg.day_start(7 * block + r.randrange(7)) + timedelta(hours=r.randrange(24))
    schedule = job.versions[0].schedule
    if u < 0.02 and job.kind == "scheduled" and schedule is not None:
        runs = r.randint(3, 6)
        return [
            _make(
                FAILURE_STREAK,
                job,
                start,
                start + runs * schedule.interval,
                runs=runs,
                termination_code=r.choice(["RUN_EXECUTION_ERROR", "STORAGE_ACCESS_ERROR"]),
            )
        ]
    if u < 0.035 and job.compute == "job_cluster":
        end = start + timedelta(days=r.randint(1, 4))
        return [_make(MEMORY_LEAK, job, start, end, target_mem_percent=round(r.uniform(95.0, 99.5), 1))]
    if u < 0.05 and job.compute == "job_cluster":
        end = start + timedelta(hours=r.randint(6, 48))
        return [_make(CPU_SATURATION, job, start, end, cpu_percent=round(r.uniform(88.0, 98.0), 1))]
    if u < 0.065 and job.compute in ("job_cluster", "serverless"):
        end = start + timedelta(days=r.randint(1, 3))
        return [_make(COST_SPIKE, job, start, end, factor=round(r.uniform(3.0, 5.0), 2))]
    return []


def plan_incidents(cfg: SimConfig, jobs: list[JobSpec], until_day: int) -> dict[int, list[Incident]]:
    """Incidents per job index for days ``[0, until_day)`` (later blocks are simply not planned)."""
    plan: dict[int, list[Incident]] = {}
    for job in jobs:
        if job.extra.get("sizing"):
            plan[job.index] = []  # labelled sizing jobs (simulator.sizing) keep their known right answer
            continue
        found = _canary(cfg, job) + _regression(cfg, job)
        if job.kind != "submit" and job.index not in range(2, 7):
            for block in range(until_day // 7 + 1):
                found += _episode(cfg, job, block)
        plan[job.index] = [i for i in found if job.delete_time is None or i.start < job.delete_time]
    return plan


def active_of(incidents: list[Incident], ts: datetime, kind: str) -> Incident | None:
    """The first incident of ``kind`` active at ``ts``."""
    return next((i for i in incidents if i.type == kind and i.active(ts)), None)


__all__ = ["INCIDENT_TYPES", "Incident", "active_of", "plan_incidents"]
