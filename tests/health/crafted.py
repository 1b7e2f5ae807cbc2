"""Crafted monitoring tables for the health and anomaly tests: small, explicit, deterministic."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dataops_jobs.config import load_config_from_dict
from dataops_jobs.io import TableLocator, merge_into
from dataops_jobs.schemas.output import OUTPUT_TABLES

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

    from dataops_jobs.config import Config

END = datetime(2025, 6, 1)
WS = "ws1"


def make_config(tmp_path: Path, **sections: Any) -> Config:
    """A local config whose tables live under ``tmp_path``."""
    return load_config_from_dict({
        "local": {"warehouse_path": str(tmp_path / "wh"), "system_tables_path": str(tmp_path / "system")},
        **sections,
    })


def run(job_id: str, n: int, start: datetime, minutes: float, *, status: str = "SUCCEEDED",
        code: str | None = None, attempts: int = 1, trigger: str = "CRON", name: str | None = None,
        cluster: str | None = None) -> dict[str, Any]:
    """One job_monitoring row."""
    failed = status in ("FAILED", "ERROR", "TIMED_OUT")
    return {
        "job_id": job_id, "job_name": name or f"job_{job_id}", "run_id": f"{job_id}-r{n:04d}", "status": status,
        "start_time": start, "end_time": start + timedelta(minutes=minutes), "duration_minutes": float(minutes),
        "cluster_id": cluster or f"c-{job_id}-{n}", "created_by": "me@example.com", "tags": {"team": "t"},
        "workspace_id": WS, "result_state": status, "termination_code": code or ("SUCCESS" if not failed else
                                                                                "RUN_EXECUTION_ERROR"),
        "termination_type": "SUCCESS" if not failed else "CLIENT_ERROR", "failure_category": None,
        "trigger_type": trigger, "run_type": "JOB_RUN", "run_name": name or f"job_{job_id}",
        "attempts": attempts, "is_failed": failed, "cluster_ids": [cluster or f"c-{job_id}-{n}"],
        "task_count": 1, "queue_duration_seconds": 0, "setup_duration_seconds": 60,
        "execution_duration_seconds": int(minutes * 60) - 60, "job_deleted": False, "run_as": "me@example.com",
        "collected_at": END,
    }


def daily_runs(job_id: str, durations: list[float], *, end: datetime = END, statuses: list[str] | None = None,
               hour: int = 2) -> list[dict[str, Any]]:
    """One run a day at ``hour`` for the last ``len(durations)`` days before ``end``."""
    days = len(durations)
    first = end.replace(hour=hour) - timedelta(days=days)
    return [run(job_id, i, first + timedelta(days=i), d, status=(statuses or ["SUCCEEDED"] * days)[i])
            for i, d in enumerate(durations)]


def write(spark: SparkSession, config: Config, table: str, rows: list[dict[str, Any]],
          collected_at: datetime = END) -> None:
    """MERGE crafted rows into an output table (schema from the registry), collected at ``collected_at``."""
    spec = OUTPUT_TABLES[table]
    ddl = ", ".join(f"`{c.name}` {c.type}" for c in spec.columns)
    stamped = [{**r, "collected_at": collected_at} for r in rows]
    df = spark.createDataFrame([tuple(r.get(c) for c in spec.column_names) for r in stamped], ddl)
    merge_into(spark, TableLocator(config), table, df)


def metric_row(cluster: str, ts: datetime, *, job_id: str | None, run_id: str | None, cpu: float, mem: float,
               mem_max: float | None = None, cpu_max: float | None = None) -> dict[str, Any]:
    """One resource_metrics minute."""
    return {"job_id": job_id, "cluster_id": cluster, "timestamp": ts, "cpu_utilization": cpu,
            "memory_utilization": mem, "disk_utilization": 20.0, "network_io": 1000, "workspace_id": WS,
            "run_id": run_id, "cpu_utilization_max": cpu_max if cpu_max is not None else cpu,
            "memory_utilization_max": mem_max if mem_max is not None else mem, "driver_memory_utilization": mem,
            "cpu_wait_percent": 1.0, "swap_percent": 0.0, "instance_count": 3}
