"""Pure builders of Databricks ``runs/submit`` payloads for the DataOps stages (no Airflow, no HTTP).

One stage becomes one task running ``dataops-job <stage> --config-json ... --interval-start ...
--interval-end ...``, either as a ``spark_python_task`` (the entry script the deploy command uploads
to ``compute.databricks.code_path``) or as a ``python_wheel_task`` (entry point ``dataops-job`` of the
``dataops-intelligence-jobs`` wheel). Compute follows ``compute.databricks.cluster_mode``:

- ``serverless``: a run-level ``environments`` entry with the wheel as a dependency; no cluster.
- ``existing_cluster``: ``existing_cluster_id`` plus the wheel as a task library.
- ``job_cluster``: one ``job_clusters`` entry shared by every task of the run (``job_cluster_key``),
  so a whole monitoring cycle submitted as one multi-task run starts exactly one cluster.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from dataops_jobs.config import Config
    from dataops_jobs.config.models import DatabricksComputeConfig

TaskType = Literal["spark_python_task", "python_wheel_task"]
TASK_TYPES: tuple[str, ...] = ("spark_python_task", "python_wheel_task")

#: The entry script the deploy command uploads next to the wheel.
ENTRY_SCRIPT_NAME = "dataops_entry.py"
ENTRY_SCRIPT = (
    '"""DataOps Intelligence job entry point for spark_python_task (uploaded by `dataops deploy`)."""\n'
    "import sys\n\n"
    "from dataops_jobs.entrypoint import main\n\n"
    "if __name__ == '__main__':\n"
    "    sys.exit(main(sys.argv[1:]))\n"
)
#: python_wheel_task: the distribution's package name and console-script entry point.
WHEEL_PACKAGE = "dataops_intelligence_jobs"
WHEEL_ENTRY_POINT = "dataops-job"
JOBS_DISTRIBUTION = "dataops-intelligence-jobs"
JOBS_VERSION = "0.1.0"

JOB_CLUSTER_KEY = "dataops_cluster"
ENVIRONMENT_KEY = "dataops_env"
SERVERLESS_ENVIRONMENT_VERSION = "2"
#: The cycle as a DAG of tasks: stage -> the stages it waits for (collectors share the watermarks).
CYCLE_DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "collect_runs": (),
    "collect_metrics": ("collect_runs",),
    "health": ("collect_metrics",),
    "anomalies": ("collect_metrics",),
    "sla": ("collect_runs",),
    "recommendations": ("collect_metrics",),
}
RESULT_PREFIX = "DATAOPS_RESULT "
#: Databricks rejects task parameters whose JSON exceeds 10,000 bytes; keep a margin.
MAX_PARAMETERS_BYTES = 9_000


def wheel_file_name(version: str = JOBS_VERSION) -> str:
    """File name of the jobs wheel (what ``pip wheel include/`` produces)."""
    return f"{WHEEL_PACKAGE}-{version}-py3-none-any.whl"


def code_file(code_path: str, name: str) -> str:
    """``<code_path>/<name>`` without doubled slashes."""
    return f"{code_path.rstrip('/')}/{name}"


def job_config_json(config: Config) -> str:
    """The config the job receives: the full validated JSON, or only non-defaults when it is large.

    Secrets are references only (``Config.to_json``); the job resolves them where it runs.
    """
    full = str(config.to_json())
    if len(full.encode()) <= MAX_PARAMETERS_BYTES // 2:
        return full
    return str(config.model_dump_json(by_alias=True, exclude_defaults=True))


def job_parameters(stage: str, config_json: str, start: datetime, end: datetime) -> list[str]:
    """Command-line arguments of ``dataops-job`` for one stage (or ``cycle``) over ``(start, end]``."""
    params = [stage, "--config-json", config_json, "--interval-start", start.isoformat(),
              "--interval-end", end.isoformat()]
    size = len(json.dumps(params).encode())
    if size > MAX_PARAMETERS_BYTES:
        raise ValueError(f"task parameters are {size} bytes; Databricks accepts at most 10,000")
    return params


def idempotency_token(dag_id: str, task_id: str, run_id: str, try_number: int, map_index: int = -1) -> str:
    """A ``runs/submit`` idempotency token (<= 64 chars) unique to one task-instance try.

    A submit call the hook retries after a 5xx/429 carries the same token, so Databricks returns the
    run it already created instead of starting a second one; a new Airflow try submits a new run.
    """
    key = f"{dag_id}/{task_id}/{run_id}/{try_number}/{map_index}"
    return "dataops-" + hashlib.sha256(key.encode()).hexdigest()[:48]


def new_cluster(compute: DatabricksComputeConfig) -> dict[str, Any]:
    """The job cluster spec (single-node when ``num_workers`` is 0)."""
    cluster: dict[str, Any] = {
        "spark_version": compute.spark_version,
        "node_type_id": compute.node_type_id,
        "num_workers": compute.num_workers,
    }
    if compute.num_workers == 0:
        cluster["spark_conf"] = {"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*]"}
        cluster["custom_tags"] = {"ResourceClass": "SingleNode"}
    return cluster


def _task_body(task_type: TaskType, code_path: str, params: list[str]) -> dict[str, Any]:
    if task_type == "spark_python_task":
        return {"spark_python_task": {"python_file": code_file(code_path, ENTRY_SCRIPT_NAME),
                                      "parameters": params}}
    if task_type == "python_wheel_task":
        return {"python_wheel_task": {"package_name": WHEEL_PACKAGE, "entry_point": WHEEL_ENTRY_POINT,
                                      "parameters": params}}
    raise ValueError(f"task_type must be one of {', '.join(TASK_TYPES)}, not {task_type!r}")


def task_spec(
    task_key: str, params: list[str], compute: DatabricksComputeConfig, task_type: TaskType,
    depends_on: Sequence[str] = (),
) -> dict[str, Any]:
    """One task of a run: the command plus where it runs (``cluster_mode``)."""
    task: dict[str, Any] = {"task_key": task_key, **_task_body(task_type, compute.code_path, params)}
    wheel = code_file(compute.code_path, wheel_file_name())
    if compute.cluster_mode == "serverless":
        task["environment_key"] = ENVIRONMENT_KEY
    elif compute.cluster_mode == "existing_cluster":
        task["existing_cluster_id"] = compute.existing_cluster_id
        task["libraries"] = [{"whl": wheel}]
    else:
        task["job_cluster_key"] = JOB_CLUSTER_KEY
        task["libraries"] = [{"whl": wheel}]
    if depends_on:
        task["depends_on"] = [{"task_key": key} for key in depends_on]
    return task


def run_payload(
    run_name: str, tasks: list[dict[str, Any]], compute: DatabricksComputeConfig, token: str
) -> dict[str, Any]:
    """A ``runs/submit`` body: tasks plus the run-level compute they share."""
    payload: dict[str, Any] = {
        "run_name": run_name,
        "tasks": tasks,
        "timeout_seconds": compute.timeout_seconds,
        "idempotency_token": token,
    }
    if compute.cluster_mode == "serverless":
        payload["environments"] = [{
            "environment_key": ENVIRONMENT_KEY,
            "spec": {"environment_version": SERVERLESS_ENVIRONMENT_VERSION,
                     "dependencies": [code_file(compute.code_path, wheel_file_name())]},
        }]
    elif compute.cluster_mode == "job_cluster":
        payload["job_clusters"] = [{"job_cluster_key": JOB_CLUSTER_KEY, "new_cluster": new_cluster(compute)}]
    return payload


def stage_payload(
    stage: str, params: list[str], compute: DatabricksComputeConfig, task_type: TaskType, run_name: str,
    token: str,
) -> dict[str, Any]:
    """The one-task run of a single stage."""
    return run_payload(run_name, [task_spec(stage, params, compute, task_type)], compute, token)


def cycle_payload(
    stages: Sequence[str], params_for: Mapping[str, list[str]], compute: DatabricksComputeConfig,
    task_type: TaskType, run_name: str, token: str,
) -> dict[str, Any]:
    """One multi-task run for the cycle: stages wired by ``depends_on``, one shared compute."""
    unknown = sorted(set(stages) - set(CYCLE_DEPENDENCIES))
    if unknown or not stages:
        raise ValueError(f"cycle stages must be a non-empty subset of {list(CYCLE_DEPENDENCIES)}, got {unknown}")
    tasks = [
        task_spec(stage, params_for[stage], compute, task_type,
                  [dep for dep in CYCLE_DEPENDENCIES[stage] if dep in stages])
        for stage in CYCLE_DEPENDENCIES if stage in stages
    ]
    return run_payload(run_name, tasks, compute, token)


def parse_result(logs: str | None) -> dict[str, Any] | None:
    """The job's ``DATAOPS_RESULT <json>`` line (the last one) from its stdout, if any."""
    for line in reversed((logs or "").splitlines()):
        if line.startswith(RESULT_PREFIX):
            try:
                value = json.loads(line[len(RESULT_PREFIX):])
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def error_text(error: str | None, trace: str | None, max_lines: int = 25, max_chars: int = 4000) -> str:
    """``error`` plus the tail of ``error_trace`` from ``runs/get-output``, bounded for logs/alerts."""
    parts = [error.strip()] if error else []
    if trace:
        tail = "\n".join(trace.rstrip().splitlines()[-max_lines:])
        parts.append(tail[-max_chars:])
    return "\n".join(parts)


def cycle_dbu_estimate(
    minutes: float, workers: int, dbu_per_node_hour: float, *, driver: bool = True
) -> float:
    """DBUs of one cycle on a job cluster: (workers + driver) x node DBU/h x (startup + run minutes)/60.

    Example: i3.xlarge (~1 DBU/h), 1 worker + driver, 5 min startup + 6 min of stages ->
    2 x 1 x 11/60 = 0.37 DBU, about $0.06 at a $0.15/DBU jobs-compute list price.
    """
    nodes = workers + (1 if driver else 0)
    return round(nodes * dbu_per_node_hour * minutes / 60.0, 4)
