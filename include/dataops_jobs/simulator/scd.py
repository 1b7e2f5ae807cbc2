"""SCD2 rows of system.lakeflow.jobs and job_tasks: one row per definition version, plus a deletion row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataops_jobs.simulator import constants as c

if TYPE_CHECKING:
    from dataops_jobs.simulator.catalog import JobSpec, JobVersion
    from dataops_jobs.simulator.rows import Row, Window


def _new_columns(job: JobSpec, v: JobVersion) -> Row:
    """Columns added in Dec 2025 (NULL on rows changed before then)."""
    trigger: dict[str, Any] | None = None
    if v.schedule is not None:
        trigger = {"schedule": {"quartz_cron_expression": v.schedule.quartz, "timezone_id": "UTC"}}
    rules = (
        [
            {
                "metric": "RUN_DURATION_SECONDS",
                "operator": "GREATER_THAN",
                "value": int(v.timeout_seconds * 0.8),
            }
        ]
        if job.health_rule and v.timeout_seconds
        else None
    )
    deployment = (
        {
            "kind": "BUNDLE",
            "metadata_file_path": f"/Workspace/Users/{job.creator}/.bundle/{v.name}/prod/state/metadata.json",
        }
        if job.bundle
        else None
    )
    return {
        "trigger": trigger,
        "trigger_type": "CRON" if v.schedule is not None else None,
        "run_as_user_name": job.run_as,
        "creator_user_name": job.creator,
        "paused": v.paused,
        "timeout_seconds": v.timeout_seconds,
        "health_rules": rules,
        "deployment": deployment,
        "create_time": job.create_time,
    }


def _job_row(job: JobSpec, v: JobVersion, change_time: Any, delete_time: Any) -> Row:
    row: Row = {
        "account_id": c.ACCOUNT_ID,
        "workspace_id": job.workspace_id,
        "job_id": job.job_id,
        "name": v.name,
        "creator_id": _principal_id(job.creator),
        "tags": dict(v.tags),
        "run_as": _principal_id(job.run_as),
        "change_time": change_time,
        "delete_time": delete_time,
        "description": v.description if change_time >= c.AUG_2024_COLUMNS_SINCE else None,
    }
    if change_time >= c.DEC_2025_COLUMNS_SINCE:
        row.update(_new_columns(job, v))
    return row


def _principal_id(name: str) -> str:
    """Numeric user ids for users; service principals are already application ids."""
    if "@" not in name:
        return name
    return str(4_000_000_000_000 + sum(ord(ch) * (i + 1) for i, ch in enumerate(name)))


def job_rows(job: JobSpec, window: Window) -> list[Row]:
    """system.lakeflow.jobs rows of ``job`` whose change_time is inside ``window`` (submit runs have none)."""
    if job.kind == "submit":
        return []
    rows = [_job_row(job, v, v.change_time, None) for v in job.versions if v.change_time in window]
    if job.delete_time is not None and job.delete_time in window:
        rows.append(_job_row(job, job.versions[-1], job.delete_time, job.delete_time))
    return rows


def job_task_rows(job: JobSpec, window: Window) -> list[Row]:
    """system.lakeflow.job_tasks rows: each task at the version that introduced it, deletions at the end."""
    if job.kind == "submit":
        return []
    rows: list[Row] = []
    seen: set[str] = set()
    for v in job.versions:
        for task in v.tasks:
            if task.key not in seen and v.change_time in window:
                rows.append(_task_row(job, task.key, list(task.depends_on), v.change_time, None, v))
            seen.add(task.key)
    if job.delete_time is not None and job.delete_time in window:
        last = job.versions[-1]
        rows += [
            _task_row(job, t.key, list(t.depends_on), job.delete_time, job.delete_time, last)
            for t in last.tasks
        ]
    return rows


def _task_row(job: JobSpec, key: str, deps: list[str], change: Any, deleted: Any, v: JobVersion) -> Row:
    new = change >= c.DEC_2025_COLUMNS_SINCE
    return {
        "account_id": c.ACCOUNT_ID,
        "workspace_id": job.workspace_id,
        "job_id": job.job_id,
        "task_key": key,
        "depends_on_keys": deps,
        "change_time": change,
        "delete_time": deleted,
        "timeout_seconds": v.timeout_seconds if new else None,
        "health_rules": None,
    }
