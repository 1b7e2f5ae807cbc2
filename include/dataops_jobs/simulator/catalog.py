"""The simulated jobs: definitions (SCD2 versions), schedules and compute, a pure function of the seed.

A few job indices have fixed roles so that even a tiny simulation (a dozen jobs, a few days) shows
every behaviour the collectors and detectors must handle; see ``_ROLES``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from dataops_jobs.simulator import constants as c
from dataops_jobs.simulator import sizing
from dataops_jobs.simulator.ids import job_id, rng, workspace_id

if TYPE_CHECKING:
    import random


@dataclass(frozen=True)
class SimConfig:
    """Size and seed of a simulation; ``start`` is the UTC midnight of day 0."""

    seed: int
    jobs: int
    workspaces: int
    start: datetime

    def day_start(self, day: int) -> datetime:
        return self.start + timedelta(days=day)

    @cached_property
    def workspace_ids(self) -> list[str]:
        return [workspace_id(self.seed, index) for index in range(self.workspaces)]


@dataclass(frozen=True)
class Schedule:
    """A quartz schedule: ``hourly``, ``every_4h``, ``daily`` (at hour:minute) or ``weekly`` (Mondays)."""

    kind: str
    hour: int
    minute: int

    @property
    def quartz(self) -> str:
        return {
            "hourly": f"0 {self.minute} * * * ?",
            "every_4h": f"0 {self.minute} {self.hour % 4}/4 * * ?",
            "daily": f"0 {self.minute} {self.hour} * * ?",
            "weekly": f"0 {self.minute} {self.hour} ? * MON",
        }[self.kind]

    @property
    def interval(self) -> timedelta:
        return timedelta(hours={"hourly": 1, "every_4h": 4, "daily": 24, "weekly": 168}[self.kind])

    def fire_times(self, lo: datetime, hi: datetime) -> list[datetime]:
        """Fire times in ``[lo, hi)`` (``lo`` and ``hi`` inside one UTC day)."""
        midnight = lo.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.kind == "hourly":
            hours = list(range(24))
        elif self.kind == "every_4h":
            hours = list(range(self.hour % 4, 24, 4))
        elif self.kind == "weekly" and midnight.weekday() != 0:
            hours = []
        else:
            hours = [self.hour]
        times = [midnight + timedelta(hours=h, minutes=self.minute) for h in hours]
        return [t for t in times if lo <= t < hi]


@dataclass(frozen=True)
class TaskSpec:
    """A task of a job: its key and upstream keys."""

    key: str
    depends_on: tuple[str, ...]


@dataclass(frozen=True)
class JobVersion:
    """One SCD2 version of a job definition, valid from ``change_time``."""

    change_time: datetime
    name: str
    tags: dict[str, str]
    schedule: Schedule | None
    paused: bool
    timeout_seconds: int | None
    description: str
    tasks: tuple[TaskSpec, ...]


@dataclass(frozen=True)
class JobSpec:
    """A simulated job: identity, behaviour parameters, compute and its definition history."""

    index: int
    workspace_id: str
    job_id: str
    kind: str  # scheduled | manual | submit
    compute: str  # job_cluster | all_purpose | serverless
    creator: str
    run_as: str
    create_time: datetime
    versions: tuple[JobVersion, ...]
    delete_time: datetime | None
    median_seconds: float
    sigma: float
    failure_rate: float
    repair_prob: float
    driver_node: str
    worker_node: str
    workers: int
    autoscale: tuple[int, int] | None
    photon: bool
    dbr_version: str
    all_purpose_cluster: str | None
    bundle: bool = False
    health_rule: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def version_at(self, ts: datetime) -> JobVersion:
        current = self.versions[0]
        for version in self.versions:
            if version.change_time <= ts:
                current = version
        return current

    def versions_between(self, lo: datetime, hi: datetime) -> list[tuple[JobVersion, datetime, datetime]]:
        """The versions in force during ``[lo, hi)`` with the part of the window each one covers."""
        out = []
        for i, version in enumerate(self.versions):
            until = self.versions[i + 1].change_time if i + 1 < len(self.versions) else hi
            a, b = max(lo, version.change_time), min(hi, until)
            if a < b:
                out.append((version, a, b))
        return out


@dataclass(frozen=True)
class _Role:
    """Fixed behaviour of a reserved job index (kind, compute, schedule, duration)."""

    schedule: Schedule
    compute: str
    median_minutes: float
    sigma: float = 0.2


_ROLES: dict[int, _Role] = {
    0: _Role(Schedule("hourly", 0, 5), "job_cluster", 12.0),
    1: _Role(Schedule("daily", 23, 15), "job_cluster", 80.0, 0.12),  # in flight at every midnight
    2: _Role(Schedule("every_4h", 3, 0), "job_cluster", 25.0),  # failure-streak canary
    3: _Role(Schedule("daily", 1, 0), "job_cluster", 150.0, 0.15),  # memory-leak canary, many slices
    4: _Role(Schedule("every_4h", 2, 30), "job_cluster", 35.0),  # CPU-saturation canary
    5: _Role(Schedule("daily", 6, 0), "serverless", 40.0),  # cost-spike canary
    6: _Role(Schedule("daily", 5, 0), "job_cluster", 20.0),  # regression canary (with a redeploy)
    7: _Role(Schedule("daily", 9, 30), "job_cluster", 15.0),  # deleted on day 2
}


def all_purpose_cluster_ids(cfg: SimConfig) -> dict[str, list[str]]:
    """Two long-lived all-purpose (UI) clusters per workspace."""
    from dataops_jobs.simulator.ids import cluster_id

    out: dict[str, list[str]] = {}
    for ws_index, ws in enumerate(cfg.workspace_ids):
        created = cfg.start - timedelta(days=90 + 7 * ws_index)
        out[ws] = [cluster_id(created + timedelta(hours=n), cfg.seed, "ap", ws, n) for n in range(2)]
    return out


def _schedule(r: random.Random) -> Schedule:
    u = r.random()
    kind = "hourly" if u < 0.005 else "every_4h" if u < 0.02 else "daily" if u < 0.58 else "weekly"
    return Schedule(kind, r.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 18, 22]), r.choice([0, 0, 15, 30, 45]))


def _median_seconds(r: random.Random, schedule: Schedule | None) -> float:
    top = {"hourly": 25.0, "every_4h": 90.0}.get(schedule.kind if schedule else "", 180.0)
    return 60.0 * math.exp(r.uniform(math.log(2.0), math.log(top)))


def _tasks(r: random.Random, name: str) -> tuple[TaskSpec, ...]:
    count = r.choice([1, 1, 2, 2, 3, 4])
    keys = ["extract", "transform", "load", "publish"][:count] if count > 1 else [name.split("_")[0]]
    if count == 4 and r.random() < 0.5:  # fan-in: two parallel branches feed the last task
        return (
            TaskSpec(keys[0], ()),
            TaskSpec(keys[1], (keys[0],)),
            TaskSpec(keys[2], (keys[0],)),
            TaskSpec(keys[3], (keys[1], keys[2])),
        )
    return tuple(TaskSpec(k, (keys[i - 1],) if i else ()) for i, k in enumerate(keys))


def build_job(cfg: SimConfig, index: int) -> JobSpec:
    """Job ``index``: a pure function of (seed, index), independent of the simulated period."""
    r = rng(cfg.seed, "job", index)
    ws = cfg.workspace_ids[index % cfg.workspaces]
    role = _ROLES.get(index)
    u = r.random()
    kind = "scheduled" if role or u < 0.90 else "manual" if u < 0.95 else "submit"
    schedule = role.schedule if role else (_schedule(r) if kind == "scheduled" else None)
    compute = (
        role.compute if role else r.choices(["job_cluster", "all_purpose", "serverless"], [80, 8, 12])[0]
    )
    if kind == "submit" and compute == "all_purpose":
        compute = "job_cluster"
    domain, verb = r.choice(c.DOMAINS), r.choice(c.VERBS)
    cadence = {"hourly": "hourly", "every_4h": "4h", "daily": "daily", "weekly": "weekly"}.get(
        schedule.kind if schedule else "", "adhoc"
    )
    name = f"{verb}_{domain}_{cadence}_{index:03d}"
    team = r.choice(c.TEAMS)
    tags = {
        "team": team,
        "env": r.choices(["prod", "staging", "dev"], [75, 15, 10])[0],
        "cost_center": f"CC-{1000 + c.TEAMS.index(team) * 10 + r.randrange(3)}",
    }
    median = role.median_minutes * 60.0 if role else _median_seconds(r, schedule)
    create_time = cfg.start - timedelta(days=r.uniform(20, 500), seconds=r.randrange(86400))
    creator = f"{r.choice(c.USERS)}@{c.EMAIL_DOMAIN}"
    run_as = r.choice([creator, *c.SERVICE_PRINCIPALS])
    timeout = int(max(3600, math.ceil(median * 6 / 600) * 600)) if r.random() < 0.6 else None
    base = JobVersion(
        create_time,
        name,
        tags,
        schedule,
        role is None and kind == "scheduled" and r.random() < 0.05,  # paused from the start
        timeout,
        f"{verb.title()} {domain} data ({cadence}).",
        _tasks(r, name),
    )
    driver, worker = r.choice(c.NODE_TYPES[:7]).name, r.choice(c.NODE_TYPES[:7]).name
    spec = JobSpec(
        index=index,
        workspace_id=ws,
        job_id=job_id(cfg.seed, index),
        kind=kind,
        compute=compute,
        creator=creator,
        run_as=run_as,
        create_time=create_time,
        versions=(base,),
        delete_time=None,
        median_seconds=median,
        sigma=role.sigma if role else r.uniform(0.12, 0.45),
        failure_rate=r.choice([0.01, 0.02, 0.03, 0.05, 0.08]),
        repair_prob=r.choice([0.3, 0.5, 0.7]),
        driver_node=driver,
        worker_node=worker,
        workers=r.choice([1, 2, 2, 4, 4, 8]),
        autoscale=(2, r.choice([4, 6, 8])) if r.random() < 0.3 else None,
        photon=r.random() < 0.25,
        dbr_version=r.choices(c.DBR_VERSIONS, [30, 30, 20, 12, 8])[0],
        all_purpose_cluster=(
            all_purpose_cluster_ids(cfg)[ws][index % 2] if compute == "all_purpose" else None
        ),
        bundle=r.random() < 0.3,
        health_rule=timeout is not None and r.random() < 0.5,
    )
    spec = _with_history(cfg, spec, r)
    profile = sizing.profile_of(index, cfg.jobs)
    return spec if profile is None else _sized(spec, profile)


def _sized(spec: JobSpec, profile: sizing.SizingProfile) -> JobSpec:
    """A labelled sizing job (``simulator.sizing``): fixed job cluster, every 4 hours, no history."""
    version = replace(spec.versions[0], schedule=Schedule("every_4h", 1, 10), paused=False, timeout_seconds=None)
    return replace(spec, kind="scheduled", compute="job_cluster", versions=(version,), delete_time=None,
                   median_seconds=sizing.MEDIAN_MINUTES * 60.0, sigma=0.1, failure_rate=0.0,
                   driver_node=profile.node, worker_node=profile.node, workers=profile.workers, autoscale=None,
                   photon=False, all_purpose_cluster=None, extra={"sizing": profile.label})


def _with_history(cfg: SimConfig, spec: JobSpec, r: random.Random) -> JobSpec:
    """Mid-period definition changes and deletions (new SCD2 rows)."""
    versions = list(spec.versions)
    change_day: int | None = r.randrange(1, 28) if r.random() < 0.15 else None
    if spec.index == 6:
        change_day = 1
    if change_day is not None and spec.kind != "submit":
        at = cfg.day_start(change_day) + timedelta(hours=r.randrange(8, 18), minutes=r.randrange(60))
        versions.append(
            _changed(
                versions[-1],
                at,
                "redeploy"
                if spec.index == 6
                else r.choice(["retag", "reschedule", "timeout", "add_task", "rename", "pause"]),
                r,
            )
        )
    delete_day: int | None = r.randrange(3, 28) if r.random() < 0.012 else None
    if spec.index == 7:
        delete_day = 2
    delete_time = None
    if delete_day is not None and spec.kind != "submit" and spec.index not in _ROLES.keys() - {7}:
        delete_time = cfg.day_start(delete_day) + timedelta(hours=12, minutes=r.randrange(60))
    return replace(spec, versions=tuple(versions), delete_time=delete_time)


def _changed(v: JobVersion, at: datetime, what: str, r: random.Random) -> JobVersion:
    if what in ("retag", "redeploy"):
        tags = {**v.tags, "cost_center": f"CC-{r.randrange(2000, 2999)}", "version": "2"}
        return replace(v, change_time=at, tags=tags, description=v.description + " v2")
    if what == "reschedule" and v.schedule is not None and v.schedule.kind in ("daily", "weekly"):
        return replace(v, change_time=at, schedule=replace(v.schedule, hour=(v.schedule.hour + 3) % 24))
    if what == "timeout":
        return replace(v, change_time=at, timeout_seconds=(v.timeout_seconds or 3600) * 2)
    if what == "add_task":
        last = v.tasks[-1].key
        return replace(v, change_time=at, tasks=(*v.tasks, TaskSpec("notify", (last,))))
    if what == "rename":
        return replace(v, change_time=at, name=v.name + "_v2")
    if what == "pause" and v.schedule is not None:
        return replace(v, change_time=at, paused=True)
    return replace(v, change_time=at, description=v.description + " (edited)")


def build_catalog(cfg: SimConfig) -> list[JobSpec]:
    """All jobs of the simulation, in index order."""
    return [build_job(cfg, index) for index in range(cfg.jobs)]
