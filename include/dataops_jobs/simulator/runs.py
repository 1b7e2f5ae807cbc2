"""Job runs as plain values: each (job, day) gives its runs, attempts (repairs) and task runs.

A run is a pure function of (seed, job, scheduled day, slot); nothing depends on the simulated length.
Timing of an attempt: ``start`` (run created) → queue → setup (cluster start) → execution → cleanup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dataops_jobs.simulator import constants as c
from dataops_jobs.simulator import incidents as inc
from dataops_jobs.simulator import sizing
from dataops_jobs.simulator.ids import cluster_id, rng, run_id, task_run_id, unit

if TYPE_CHECKING:
    import random

    from dataops_jobs.simulator.catalog import JobSpec, SimConfig, TaskSpec

MAX_EXEC_SECONDS = 12 * 3600
"""Execution cap (jobs without a timeout): keeps every run inside the emission look-back."""


@dataclass(frozen=True)
class TaskRun:
    """One task run of an attempt (a repair gives the rerun tasks new task run ids)."""

    key: str
    run_id: str
    start: datetime
    end: datetime
    setup_s: int
    exec_s: int
    cleanup_s: int
    result_state: str
    termination_code: str


@dataclass(frozen=True)
class Attempt:
    """One attempt of a run: the original (0) or a repair (1, 2); each ends in a terminal slice."""

    number: int
    start: datetime
    queue_s: int
    setup_s: int
    exec_s: int
    cleanup_s: int
    result_state: str
    termination_code: str
    cluster_id: str | None
    tasks: tuple[TaskRun, ...]
    dbu_factor: float = 1.0
    leak_target: float | None = None
    cpu_target: float | None = None

    @property
    def cluster_start(self) -> datetime:
        return self.start + timedelta(seconds=self.queue_s)

    @property
    def end(self) -> datetime:
        return self.cluster_start + timedelta(seconds=self.setup_s + self.exec_s + self.cleanup_s)


@dataclass(frozen=True)
class RunPlan:
    """A job run (one run_id) with its attempts."""

    job: JobSpec
    day: int
    run_id: str
    scheduled: datetime
    trigger_type: str
    run_type: str
    run_name: str
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True)
class _Outcome:
    state: str
    code: str
    fraction: float  # share of the planned execution done before the end
    repairable: bool


def _outcome(job: JobSpec, r: random.Random, streak: inc.Incident | None) -> _Outcome:
    if streak is not None:
        return _Outcome("FAILED", str(streak.parameters["termination_code"]), r.uniform(0.2, 0.9), False)
    profile = sizing.PROFILES.get(job.index) if job.extra.get("sizing") else None
    if profile is not None and profile.memory_failure_rate and r.random() < profile.memory_failure_rate:
        return _Outcome("FAILED", "DRIVER_ERROR", r.uniform(0.5, 0.95), True)  # out of memory
    u = r.random()
    if u < 0.006 and job.kind == "scheduled":
        return _Outcome("SKIPPED", "SKIPPED", 0.0, False)
    if u < 0.018:
        return _Outcome("CANCELLED", "CANCELLED", r.uniform(0.1, 0.9), False)
    if u < 0.018 + job.failure_rate:
        if r.random() < 0.7:
            code = r.choice(c.CLIENT_ERROR_CODES)
            return _Outcome(
                "FAILED", code, 0.0 if code in c.SETUP_FAILURE_CODES else r.uniform(0.05, 1), True
            )
        code = r.choice(c.PLATFORM_ERROR_CODES)
        return _Outcome("ERROR", code, 0.0 if code in c.SETUP_FAILURE_CODES else r.uniform(0.05, 1), True)
    return _Outcome("SUCCEEDED", "SUCCESS", 1.0, False)


def _levels(tasks: tuple[TaskSpec, ...]) -> list[list[str]]:
    depth: dict[str, int] = {}
    for task in tasks:  # tasks are listed in topological order
        depth[task.key] = 1 + max((depth[d] for d in task.depends_on), default=-1)
    return [[t.key for t in tasks if depth[t.key] == level] for level in range(max(depth.values()) + 1)]


def _task_runs(
    plan_ids: tuple[int, int, int, int],
    keys: list[str],
    levels: list[list[str]],
    a: Attempt,
    r: random.Random,
) -> tuple[tuple[TaskRun, ...], list[str]]:
    """Task runs of an attempt over its execution window; returns them and the keys left unsuccessful."""
    day, job_index, slot, number = plan_ids
    todo = [[k for k in level if k in keys] for level in levels]
    todo = [level for level in todo if level]
    ok = a.result_state == "SUCCEEDED"
    if a.exec_s == 0 and not ok:  # failed during setup: the first tasks end with the run
        todo = todo[:1]
    weights = [r.uniform(0.5, 1.5) for _ in todo]
    t = a.cluster_start
    out: list[TaskRun] = []
    failed: list[str] = []
    for li, level in enumerate(todo):
        span = int(a.exec_s * weights[li] / sum(weights))
        last = li == len(todo) - 1
        setup = a.setup_s if li == 0 else 0
        level_end = a.end if last else t + timedelta(seconds=setup + span)
        for ti, key in enumerate(level):
            bad = last and not ok and (ti == 0 or a.result_state in ("CANCELLED", "TIMED_OUT", "ERROR"))
            state, code = (a.result_state, a.termination_code) if bad else ("SUCCEEDED", "SUCCESS")
            end = level_end if ti == 0 else level_end - timedelta(seconds=int(r.uniform(0, 0.3) * span))
            cleanup = a.cleanup_s if last and ti == 0 else 0
            exec_s = max(0, int((end - t).total_seconds()) - setup - cleanup)
            tid = task_run_id(day, job_index, slot, number, levels_index(levels, key))
            out.append(TaskRun(key, tid, t, end, setup, exec_s, cleanup, state, code))
            failed += [key] if bad else []
        t = level_end
    return tuple(out), failed


def levels_index(levels: list[list[str]], key: str) -> int:
    """Position of ``key`` in the flattened task order (stable task number inside a run)."""
    return [k for level in levels for k in level].index(key)


def _durations(job: JobSpec, r: random.Random) -> tuple[int, int, int]:
    """(queue, setup, cleanup) seconds for the job's compute."""
    queue = 0 if r.random() < 0.85 else r.randint(5, 600)
    if job.compute == "job_cluster":
        return queue, r.randint(150, 420), r.randint(20, 90)
    if job.compute == "serverless":
        return queue, r.randint(10, 60), r.randint(1, 10)
    return queue, r.randint(2, 15), r.randint(1, 10)


def _attempt(
    job: JobSpec,
    ids: tuple[int, int, int, int],
    start: datetime,
    outcome: _Outcome,
    exec_plan: float,
    keys: list[str],
    r: random.Random,
    incidents: list[inc.Incident],
) -> tuple[Attempt, list[str]]:
    queue, setup, cleanup = _durations(job, r)
    state, code, fraction = outcome.state, outcome.code, outcome.fraction
    version = job.version_at(start)
    if state == "SKIPPED":
        queue, setup, cleanup = 0, 0, 0
    exec_s = int(exec_plan * fraction)
    if version.timeout_seconds is not None and exec_s + setup > version.timeout_seconds:
        state, code, exec_s = "TIMED_OUT", "RUN_EXECUTION_ERROR", max(0, version.timeout_seconds - setup)
    cluster = None
    if job.compute == "job_cluster" and state != "SKIPPED":
        cluster = cluster_id(start + timedelta(seconds=queue), job.workspace_id, *ids)
    elif job.compute == "all_purpose":
        cluster = job.all_purpose_cluster
    spike = inc.active_of(incidents, start, inc.COST_SPIKE)
    leak = inc.active_of(incidents, start, inc.MEMORY_LEAK)
    cpu = inc.active_of(incidents, start, inc.CPU_SATURATION)
    proto = Attempt(
        ids[3],
        start,
        queue,
        setup,
        exec_s,
        cleanup,
        state,
        code,
        cluster,
        (),
        float(spike.parameters["factor"]) if spike else 1.0,
        float(leak.parameters["target_mem_percent"]) if leak else None,
        float(cpu.parameters["cpu_percent"]) if cpu else None,
    )
    if state == "SKIPPED":
        return proto, []
    tasks, failed = _task_runs(ids, keys, _levels(version.tasks), proto, r)
    return replace(proto, tasks=tasks), failed


def plan_run(
    job: JobSpec,
    day: int,
    slot: int,
    scheduled: datetime,
    trigger: str,
    incidents: list[inc.Incident],
    seed: int,
) -> RunPlan:
    """A run with its repairs: a pure function of (seed, job, day, slot)."""
    r = rng(seed, "run", job.index, day, slot)
    streak = inc.active_of(incidents, scheduled, inc.FAILURE_STREAK)
    outcome = _outcome(job, r, streak)
    if trigger == "ONETIME_RETRY" and outcome.state != "SKIPPED":
        outcome = _Outcome("SUCCEEDED", "SUCCESS", 1.0, False) if r.random() < 0.8 else outcome
    regression = inc.active_of(incidents, scheduled, inc.DURATION_REGRESSION)
    factor = float(regression.parameters["factor"]) if regression else 1.0
    exec_plan = min(MAX_EXEC_SECONDS, job.median_seconds * math.exp(r.gauss(0.0, job.sigma)) * factor)
    keys = [t.key for t in job.version_at(scheduled).tasks]
    attempt, failed = _attempt(
        job, (day, job.index, slot, 0), scheduled, outcome, exec_plan, keys, r, incidents
    )
    attempts = [attempt]
    while failed and outcome.repairable and len(attempts) < 3 and r.random() < job.repair_prob:
        start = attempts[-1].end + timedelta(minutes=r.randint(15, 480))
        if job.delete_time is not None and start >= job.delete_time:
            break
        outcome = _Outcome("SUCCEEDED", "SUCCESS", 1.0, False) if r.random() < 0.8 else outcome
        attempt, failed = _attempt(
            job,
            (day, job.index, slot, len(attempts)),
            start,
            outcome,
            exec_plan * r.uniform(0.3, 1.0),
            failed,
            r,
            incidents,
        )
        attempts.append(attempt)
    version = job.version_at(scheduled)
    run_type = "SUBMIT_RUN" if job.kind == "submit" else "JOB_RUN"
    run_name = f"{version.name}_{scheduled:%Y%m%d_%H%M}" if job.kind == "submit" else version.name
    return RunPlan(
        job, day, run_id(day, job.index, slot), scheduled, trigger, run_type, run_name, tuple(attempts)
    )


def _fire_times(cfg: SimConfig, job: JobSpec, day: int) -> list[tuple[datetime, str]]:
    lo, hi = cfg.day_start(day), cfg.day_start(day + 1)
    if job.kind != "scheduled":
        r = rng(cfg.seed, "adhoc", job.index, day)
        count = r.choice([0, 0, 1, 1, 2]) if job.kind == "submit" else r.choice([0, 0, 0, 1])
        times = sorted(lo + timedelta(hours=r.randint(7, 19), minutes=r.randrange(60)) for _ in range(count))
        return [(t, "ONETIME") for t in times]
    out = []
    for version, a, b in job.versions_between(lo, hi):
        if version.schedule is not None and not version.paused:
            out += [(t, "CRON") for t in version.schedule.fire_times(a, b)]
    return out


def plan_day(cfg: SimConfig, job: JobSpec, day: int, incidents: list[inc.Incident]) -> list[RunPlan]:
    """Runs of ``job`` scheduled on ``day`` (plus automatic ONETIME_RETRY runs of failed ones)."""
    plans: list[RunPlan] = []
    for slot, (when, trigger) in enumerate(_fire_times(cfg, job, day)):
        if job.delete_time is not None and when >= job.delete_time:
            break
        plan = plan_run(job, day, slot, when, trigger, incidents, cfg.seed)
        plans.append(plan)
        last = plan.attempts[-1]
        retry = unit(cfg.seed, "retry", job.index, day, slot) < 0.25
        retry = retry and inc.active_of(incidents, when, inc.FAILURE_STREAK) is None
        if (
            last.result_state in ("FAILED", "ERROR")
            and len(plan.attempts) == 1
            and trigger == "CRON"
            and retry
        ):
            when = last.end + timedelta(minutes=5 + slot % 10)
            plans.append(plan_run(job, day, 500 + slot, when, "ONETIME_RETRY", incidents, cfg.seed))
    return plans
