"""The ground-truth file: every injected incident started before the simulation end, with the runs
and clusters it actually affected (``<root>/_ground_truth.json``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataops_jobs.simulator import incidents as inc

if TYPE_CHECKING:
    from datetime import datetime

    from dataops_jobs.simulator.catalog import JobSpec, SimConfig
    from dataops_jobs.simulator.runs import Attempt, RunPlan


def _hit(incident: inc.Incident, plan: RunPlan, attempt: Attempt) -> bool:
    """Whether ``attempt`` carries the incident's effect (attribution mirrors how it was injected)."""
    if incident.type == inc.MEMORY_LEAK:
        return attempt.leak_target is not None and incident.active(attempt.start)
    if incident.type == inc.CPU_SATURATION:
        return attempt.cpu_target is not None and incident.active(attempt.start)
    if incident.type == inc.COST_SPIKE:
        return attempt.dbu_factor > 1.0 and incident.active(attempt.start)
    if incident.type == inc.FAILURE_STREAK:
        return attempt.number == 0 and incident.active(plan.scheduled) and attempt.result_state == "FAILED"
    return attempt.number == 0 and incident.active(plan.scheduled) and attempt.result_state != "SKIPPED"


def _record(incident: inc.Incident, plans: list[RunPlan], end: datetime) -> dict[str, Any]:
    run_ids: list[str] = []
    clusters: list[str] = []
    for plan in plans:
        for attempt in plan.attempts:
            if attempt.start < end and _hit(incident, plan, attempt):
                run_ids += [] if plan.run_id in run_ids else [plan.run_id]
                clusters += (
                    [attempt.cluster_id] if attempt.cluster_id and attempt.cluster_id not in clusters else []
                )
    return {
        "incident_id": incident.incident_id,
        "type": incident.type,
        "workspace_id": incident.workspace_id,
        "job_id": incident.job_id,
        "start": incident.start.isoformat(),
        "end": incident.end.isoformat() if incident.end else None,
        "affected_run_ids": run_ids,
        "cluster_ids": clusters,
        "parameters": dict(incident.parameters),
    }


def ground_truth(
    cfg: SimConfig, catalog: list[JobSpec], plans: dict[int, list[RunPlan]], end: datetime
) -> list[dict[str, Any]]:
    """Incidents that started before ``end``, ordered by start time then id."""
    day_to = round((end - cfg.start).total_seconds() / 86400)
    planned = inc.plan_incidents(cfg, catalog, day_to)
    records = [
        _record(i, plans[job.index], end) for job in catalog for i in planned[job.index] if i.start < end
    ]
    return sorted(records, key=lambda r: (r["start"], r["incident_id"]))
