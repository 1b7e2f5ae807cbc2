"""The recommendation rules: pure Python over one job's (or one cluster's) evidence; no Spark.

Every rule returns a :class:`Recommendation` or None. The formulas are the README's
("Recommendations"); the thresholds come from ``config.recommendations``. Savings are per month
(30 days) at today's list prices; a negative saving is an added cost (memory pressure).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataops_jobs.config import RecommendationsConfig

OVER_PROVISIONED = "over_provisioned_workers"
IDLE_TIME = "idle_time"
ALL_PURPOSE = "all_purpose_compute"
MEMORY_PRESSURE = "memory_pressure"
AUTOSCALING = "autoscaling_bounds"
KINDS = (OVER_PROVISIONED, IDLE_TIME, ALL_PURPOSE, MEMORY_PRESSURE, AUTOSCALING)

#: Families whose memory-optimised sibling has the same size suffix (AWS, Azure, GCP names).
_MEMORY_FAMILY = {"m5d": "r5d", "m5": "r5", "m6i": "r6i", "m6id": "r6id", "m6gd": "r6gd", "c5d": "r5d",
                  "c5": "r5", "i3": "r5d", "Standard_D": "Standard_E", "Standard_F": "Standard_E",
                  "n2-standard": "n2-highmem", "n1-standard": "n1-highmem"}


@dataclass(frozen=True)
class JobEvidence:
    """What the data says about one job over the evidence window (one row of the Spark features)."""

    workspace_id: str
    job_id: str
    job_name: str | None = None
    compute: str = "job_cluster"  # job_cluster | all_purpose | serverless
    runs: int = 0  # terminal runs in the window
    metric_runs: int = 0  # of which with cluster metrics
    failed_runs: int = 0
    p95_minutes: float | None = None
    workers: int | None = None  # fixed size; None when autoscaling or unknown
    autoscale_max: int | None = None
    worker_node: str | None = None
    driver_weight: float = 1.0  # relative DBU weight of the driver and of one worker (core counts)
    worker_weight: float = 1.0
    monthly_cost: float | None = None  # classic or serverless job compute, today's list prices
    currency: str = "USD"
    cpu_p: float | None = None  # median over runs of the workers' CPU percentile over busy minutes
    mem_p: float | None = None
    busy_fraction: float | None = None
    needed_mean_share: float | None = None  # median over runs: mean workers needed / workers
    needed_low_share: float | None = None  # median over runs: 10th percentile needed / workers
    idle_share: float | None = None  # cluster up-time with no busy run minute
    pressure_runs: int = 0
    memory_failures: int = 0
    memory_peak: float | None = None  # median over runs of the peak instance memory
    failed_monthly_cost: float = 0.0  # cost of failed runs per month
    ap_monthly_dbus: float | None = None  # all-purpose: DBUs of the job's runs per month
    ap_price: float | None = None
    jobs_price: float | None = None
    sla_limit_minutes: float | None = None

    @property
    def worker_share(self) -> float:
        """Share of the cluster's cost that one worker is."""
        size = self.workers or self.autoscale_max or 1
        return self.worker_weight / (self.driver_weight + size * self.worker_weight)


@dataclass(frozen=True)
class ClusterEvidence:
    """An all-purpose cluster over the window: up-time, idle time and cost."""

    workspace_id: str
    cluster_id: str
    cluster_name: str | None
    up_hours: float
    idle_hours: float
    monthly_cost: float
    auto_termination_minutes: int | None
    currency: str = "USD"


@dataclass(frozen=True)
class Recommendation:
    """One recommendation: what to change, why (evidence), what it saves and what it risks."""

    kind: str
    workspace_id: str
    job_id: str | None
    cluster_id: str | None
    job_name: str | None
    current: str
    proposed: str
    proposed_change: str
    confidence: float
    monthly_savings: float
    monthly_cost: float | None
    currency: str
    p95_minutes: float | None
    predicted_p95_minutes: float | None
    duration_risk: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _confidence(ev: JobEvidence, cfg: RecommendationsConfig, runs: int | None = None) -> float:
    """More runs, more confidence: min(1, runs / (3 x min_runs)), at least 0.3."""
    n = ev.metric_runs if runs is None else runs
    return round(max(0.3, min(1.0, n / (3.0 * cfg.min_runs))), 2)


def predicted_p95(ev: JobEvidence, workers: int, cfg: RecommendationsConfig) -> float | None:
    """p95 duration at ``workers``: the busy part stretches with CPU demand above the knee."""
    if ev.p95_minutes is None or ev.workers is None or ev.cpu_p is None:
        return ev.p95_minutes
    load = ev.cpu_p * ev.workers / workers
    stretch = max(1.0, load / cfg.no_slowdown_cpu_percent)
    busy = ev.busy_fraction if ev.busy_fraction is not None else 1.0
    return ev.p95_minutes * (busy * stretch + (1.0 - busy))


def duration_ok(ev: JobEvidence, predicted: float | None, cfg: RecommendationsConfig) -> bool:
    """The change keeps headroom: under the SLA by ``sla_headroom``, and p95 growth bounded."""
    if predicted is None or ev.p95_minutes is None:
        return True
    if ev.sla_limit_minutes is not None and predicted > ev.sla_limit_minutes * (1.0 - cfg.sla_headroom):
        return False
    return predicted <= ev.p95_minutes * (1.0 + cfg.max_duration_increase)


def _risk(ev: JobEvidence, predicted: float | None) -> str:
    if predicted is None or ev.p95_minutes is None or predicted <= ev.p95_minutes * 1.001:
        return "none"
    return "low" if predicted <= ev.p95_minutes * 1.1 else "medium"


def _base(ev: JobEvidence, kind: str, **kw: Any) -> Recommendation:
    return Recommendation(kind=kind, workspace_id=ev.workspace_id, job_id=ev.job_id, cluster_id=None,
                          job_name=ev.job_name, currency=ev.currency, p95_minutes=_r(ev.p95_minutes), **kw)


def _sized(ev: JobEvidence, cfg: RecommendationsConfig) -> bool:
    return (ev.compute == "job_cluster" and ev.runs >= cfg.min_runs and ev.metric_runs >= cfg.min_runs
            and ev.cpu_p is not None and ev.mem_p is not None and ev.monthly_cost is not None)


def needed_workers(ev: JobEvidence, cfg: RecommendationsConfig) -> int | None:
    """Smallest worker count keeping CPU < target and memory < target (load spread over fewer
    workers), raised until the predicted p95 keeps its headroom; None without the evidence."""
    if ev.workers is None or ev.cpu_p is None or ev.mem_p is None:
        return None
    n = max(1, math.floor(ev.workers * ev.cpu_p / cfg.cpu_target_percent) + 1,
            math.floor(ev.workers * ev.mem_p / cfg.memory_target_percent) + 1)
    while n < ev.workers and not duration_ok(ev, predicted_p95(ev, n, cfg), cfg):
        n += 1
    return min(n, ev.workers)


def over_provisioned(ev: JobEvidence, cfg: RecommendationsConfig) -> Recommendation | None:
    """Kind 1: fewer workers. Savings = monthly cost x (N - n) x worker share."""
    if not _sized(ev, cfg) or ev.workers is None or ev.workers < 2 or ev.monthly_cost is None:
        return None
    n = needed_workers(ev, cfg)
    if n is None or n >= ev.workers:
        return None
    savings = ev.monthly_cost * (ev.workers - n) * ev.worker_share
    if savings < cfg.min_monthly_savings:
        return None
    predicted = predicted_p95(ev, n, cfg)
    cpu, mem = ev.cpu_p or 0.0, ev.mem_p or 0.0
    evidence = {
        "runs": ev.runs, "runs_with_metrics": ev.metric_runs,
        "cpu_percentile_busy": _r(ev.cpu_p), "memory_percentile_busy": _r(ev.mem_p),
        "percentile": cfg.utilization_percentile, "busy_fraction": _r(ev.busy_fraction, 3),
        "cpu_at_proposed": _r(cpu * ev.workers / n), "memory_at_proposed": _r(mem * ev.workers / n),
        "cpu_target_percent": cfg.cpu_target_percent, "memory_target_percent": cfg.memory_target_percent,
        "worker_share_of_cost": _r(ev.worker_share, 4), "sla_limit_minutes": ev.sla_limit_minutes,
    }
    return _base(ev, OVER_PROVISIONED, current=f"num_workers {ev.workers}", proposed=f"num_workers {n}",
                 proposed_change=f"num_workers {ev.workers} → {n}", confidence=_confidence(ev, cfg),
                 monthly_savings=round(savings, 2), monthly_cost=_r(ev.monthly_cost),
                 predicted_p95_minutes=_r(predicted), duration_risk=_risk(ev, predicted), evidence=evidence)


def idle_time(ev: JobEvidence, cfg: RecommendationsConfig) -> Recommendation | None:
    """Kind 2 (job clusters): start-up and idle tails. Savings = monthly cost x idle share."""
    if (ev.compute != "job_cluster" or ev.runs < cfg.min_runs or ev.metric_runs < cfg.min_runs
            or ev.idle_share is None or ev.monthly_cost is None or ev.idle_share < cfg.idle_min_share):
        return None
    savings = ev.monthly_cost * ev.idle_share
    if savings < cfg.min_monthly_savings:
        return None
    return _base(ev, IDLE_TIME, current=f"idle {ev.idle_share:.0%} of cluster up-time",
                 proposed="instance pool (warm start) or serverless jobs compute",
                 proposed_change=f"cut {ev.idle_share:.0%} idle up-time: instance pool or serverless",
                 confidence=_confidence(ev, cfg), monthly_savings=round(savings, 2),
                 monthly_cost=_r(ev.monthly_cost), predicted_p95_minutes=_r(ev.p95_minutes), duration_risk="none",
                 evidence={"runs": ev.runs, "idle_share": _r(ev.idle_share, 3),
                           "idle_cpu_percent": cfg.idle_cpu_percent, "busy_fraction": _r(ev.busy_fraction, 3)})


def cluster_idle(cl: ClusterEvidence, cfg: RecommendationsConfig) -> Recommendation | None:
    """Kind 2 (all-purpose clusters): hours up with no run. Savings = monthly cost x idle share."""
    if cl.up_hours <= 0:
        return None
    share = cl.idle_hours / cl.up_hours
    savings = cl.monthly_cost * share
    if share < cfg.idle_min_share or savings < cfg.min_monthly_savings:
        return None
    current = cl.auto_termination_minutes
    target = 30 if current is None or current > 30 else max(10, current // 2)
    return Recommendation(
        kind=IDLE_TIME, workspace_id=cl.workspace_id, job_id=None, cluster_id=cl.cluster_id,
        job_name=cl.cluster_name, current=f"auto_termination_minutes {current}",
        proposed=f"auto_termination_minutes {target}",
        proposed_change=f"auto_termination_minutes {current} → {target}; schedule jobs on job compute",
        confidence=round(min(1.0, cl.up_hours / 100.0) * 0.5 + 0.5, 2), monthly_savings=round(savings, 2),
        monthly_cost=round(cl.monthly_cost, 2), currency=cl.currency, p95_minutes=None, predicted_p95_minutes=None,
        duration_risk="none",
        evidence={"up_hours": round(cl.up_hours, 1), "idle_hours": round(cl.idle_hours, 1), "idle_share": round(share, 3)},
    )


def all_purpose(ev: JobEvidence, cfg: RecommendationsConfig) -> Recommendation | None:
    """Kind 3: job compute instead of all-purpose. Savings = DBUs x (all-purpose - jobs price)."""
    if (ev.compute != "all_purpose" or ev.runs < cfg.min_runs or ev.ap_monthly_dbus is None
            or ev.ap_price is None or ev.jobs_price is None or ev.ap_price <= ev.jobs_price):
        return None
    savings = ev.ap_monthly_dbus * (ev.ap_price - ev.jobs_price)
    predicted = None if ev.p95_minutes is None else ev.p95_minutes + cfg.job_cluster_startup_minutes
    if savings < cfg.min_monthly_savings:
        return None
    if ev.sla_limit_minutes is not None and predicted is not None and \
            predicted > ev.sla_limit_minutes * (1.0 - cfg.sla_headroom):
        return None
    return _base(ev, ALL_PURPOSE, current="all-purpose cluster", proposed="job compute (or serverless jobs)",
                 proposed_change="all-purpose cluster → job compute", confidence=_confidence(ev, cfg, ev.runs),
                 monthly_savings=round(savings, 2), monthly_cost=round(ev.ap_monthly_dbus * ev.ap_price, 2),
                 predicted_p95_minutes=_r(predicted), duration_risk="low" if predicted else "none",
                 evidence={"runs": ev.runs, "monthly_dbus": round(ev.ap_monthly_dbus, 3),
                           "all_purpose_price": ev.ap_price, "jobs_price": ev.jobs_price,
                           "startup_minutes_added": cfg.job_cluster_startup_minutes})


def memory_node(node: str | None) -> str | None:
    """The memory-optimised node type of the same size (m5d.xlarge -> r5d.xlarge), if known."""
    if not node:
        return None
    for family, memory in sorted(_MEMORY_FAMILY.items(), key=lambda kv: -len(kv[0])):
        if node.startswith(family + ".") or node.startswith(family + "_") or node.startswith(family + "-"):
            return memory + node[len(family):]
        if family.startswith("Standard_") and node.startswith(family) and node[len(family):][:1].isdigit():
            return memory + node[len(family):]
    return None


def memory_pressure(ev: JobEvidence, cfg: RecommendationsConfig) -> Recommendation | None:
    """Kind 4: more memory. Savings = failed-run cost avoided - the added worker's cost."""
    if ev.compute != "job_cluster" or ev.metric_runs < cfg.min_runs or ev.monthly_cost is None:
        return None
    share = ev.pressure_runs / ev.metric_runs
    if share < cfg.memory_pressure_share and ev.memory_failures == 0:
        return None
    size = ev.workers or ev.autoscale_max or 1
    peak = ev.memory_peak or cfg.memory_pressure_percent
    n = max(size + 1, math.ceil(size * peak / cfg.memory_target_percent))
    added = ev.monthly_cost * (n - size) * ev.worker_share
    avoided = ev.failed_monthly_cost if ev.memory_failures else 0.0
    node = memory_node(ev.worker_node)
    alt = f" (or worker node {ev.worker_node} → {node})" if node else ""
    what = "num_workers" if ev.workers is not None else "autoscale max"
    return _base(ev, MEMORY_PRESSURE, current=f"{what} {size}", proposed=f"{what} {n}",
                 proposed_change=f"{what} {size} → {n}{alt}", confidence=_confidence(ev, cfg),
                 monthly_savings=round(avoided - added, 2), monthly_cost=_r(ev.monthly_cost),
                 predicted_p95_minutes=_r(ev.p95_minutes), duration_risk="none",
                 evidence={"runs_with_metrics": ev.metric_runs, "pressure_runs": ev.pressure_runs,
                           "memory_failures": ev.memory_failures, "failed_runs": ev.failed_runs,
                           "memory_peak_median": _r(ev.memory_peak), "memory_percentile_busy": _r(ev.mem_p),
                           "failed_monthly_cost_avoided": round(avoided, 2), "added_monthly_cost": round(added, 2)})


def autoscaling(ev: JobEvidence, cfg: RecommendationsConfig) -> Recommendation | None:
    """Kind 5: fixed size with widely varying load. Savings = worker cost x (1 - mean need) x efficiency."""
    if not _sized(ev, cfg) or ev.workers is None or ev.workers < 2 or ev.monthly_cost is None:
        return None
    if ev.needed_mean_share is None or ev.needed_mean_share > cfg.autoscale_max_mean_share:
        return None
    n = needed_workers(ev, cfg)
    if n is not None and n < ev.workers:
        return None  # over-provisioned: right-size first, the peak does not need every worker
    low = max(1, math.ceil(ev.workers * (ev.needed_low_share or 0.0)))
    if low >= ev.workers:
        return None
    savings = (ev.monthly_cost * ev.workers * ev.worker_share * (1.0 - ev.needed_mean_share)
               * cfg.autoscale_efficiency)
    predicted = None if ev.p95_minutes is None else ev.p95_minutes + cfg.job_cluster_startup_minutes
    if savings < cfg.min_monthly_savings or not duration_ok(ev, predicted, cfg):
        return None
    return _base(ev, AUTOSCALING, current=f"num_workers {ev.workers} (fixed)",
                 proposed=f"autoscale {low}-{ev.workers}", proposed_change=f"num_workers {ev.workers} → autoscale {low}-{ev.workers}",
                 confidence=_confidence(ev, cfg), monthly_savings=round(savings, 2), monthly_cost=_r(ev.monthly_cost),
                 predicted_p95_minutes=_r(predicted), duration_risk=_risk(ev, predicted),
                 evidence={"runs_with_metrics": ev.metric_runs, "mean_needed_share": _r(ev.needed_mean_share, 3),
                           "low_needed_share": _r(ev.needed_low_share, 3), "cpu_percentile_busy": _r(ev.cpu_p),
                           "efficiency": cfg.autoscale_efficiency})


RULES = (over_provisioned, idle_time, all_purpose, memory_pressure, autoscaling)


def recommend(ev: JobEvidence, cfg: RecommendationsConfig) -> list[Recommendation]:
    """Every recommendation the job's evidence supports (none below ``min_runs``)."""
    if ev.runs < cfg.min_runs:
        return []
    return [rec for rule in RULES if (rec := rule(ev, cfg)) is not None]
