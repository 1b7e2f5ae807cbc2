"""Pure rules of a multi-task run: request normalisation, dependency order, run_if, run result."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from dataops_intelligence.emulator.errors import invalid_parameter
from dataops_intelligence.emulator.model import Result, TaskRun

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: Keys of a legacy single-task submit (task fields at the top level) moved into its only task.
_LEGACY_TASK_KEYS = (
    "spark_python_task",
    "python_wheel_task",
    "notebook_task",
    "spark_jar_task",
    "spark_submit_task",
    "sql_task",
    "dbt_task",
    "pipeline_task",
    "new_cluster",
    "existing_cluster_id",
    "libraries",
    "environment_key",
)
_SUCCEEDED = frozenset({Result.SUCCESS, Result.SUCCESS_WITH_FAILURES})
_FAILED = frozenset({Result.FAILED, Result.TIMEDOUT, Result.UPSTREAM_FAILED})
_CANCELED = frozenset({Result.CANCELED, Result.UPSTREAM_CANCELED})
_RUN_IF = frozenset(
    {"ALL_SUCCESS", "AT_LEAST_ONE_SUCCESS", "NONE_FAILED", "ALL_DONE", "AT_LEAST_ONE_FAILED", "ALL_FAILED"}
)


def submitted_tasks(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the task specs of a ``runs/submit`` body, accepting the legacy single-task form."""
    tasks = body.get("tasks")
    if tasks is None:
        task = {k: copy.deepcopy(body[k]) for k in _LEGACY_TASK_KEYS if k in body}
        if not task:
            raise invalid_parameter("Either tasks or a task type field (e.g. spark_python_task) is required.")
        task["task_key"] = "task"
        return [task]
    if not isinstance(tasks, list) or not tasks:
        raise invalid_parameter("tasks must be a non-empty array.")
    if not all(isinstance(t, dict) for t in tasks):
        raise invalid_parameter("Every element of tasks must be an object.")
    return [copy.deepcopy(t) for t in tasks]


def _check_task(task: Mapping[str, Any], keys: set[str]) -> None:
    key = task.get("task_key")
    if not isinstance(key, str) or not key:
        raise invalid_parameter("Every task needs a non-empty task_key.")
    run_if = task.get("run_if", "ALL_SUCCESS")
    if run_if not in _RUN_IF:
        raise invalid_parameter(f"Task {key}: run_if {run_if!r} is not one of {sorted(_RUN_IF)}.")
    for dep in task.get("depends_on") or []:
        if not isinstance(dep, dict) or dep.get("task_key") not in keys:
            raise invalid_parameter(f"Task {key} depends on unknown task {dep!r}.")


def dependency_order(tasks: Sequence[Mapping[str, Any]]) -> list[str]:
    """Validate keys and dependencies; return task keys in a stable topological order."""
    keys = [t.get("task_key") for t in tasks]
    if len(set(keys)) != len(keys):
        raise invalid_parameter(f"Duplicate task_key in {keys}.")
    key_set = {str(k) for k in keys}
    for task in tasks:
        _check_task(task, key_set)
    deps = {str(t["task_key"]): [str(d["task_key"]) for d in t.get("depends_on") or []] for t in tasks}
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(deps):
        ready = [k for k in deps if k not in placed and all(d in placed for d in deps[k])]
        if not ready:
            cycle = sorted(set(deps) - placed)
            raise invalid_parameter(f"The task dependencies contain a cycle among {cycle}.")
        order.extend(ready)
        placed.update(ready)
    return order


def gate(run_if: str, upstream: Sequence[Result | None]) -> Result | None:
    """Return None if a task may run given its upstream results, else the result it is skipped with."""
    results = [r for r in upstream if r is not None]
    if not results:
        return None
    succeeded = [r in _SUCCEEDED for r in results]
    failed = [r in _FAILED for r in results]
    allowed = {
        "ALL_SUCCESS": all(succeeded),
        "AT_LEAST_ONE_SUCCESS": any(succeeded),
        "NONE_FAILED": not any(failed),
        "ALL_DONE": True,
        "AT_LEAST_ONE_FAILED": any(failed),
        "ALL_FAILED": all(failed),
    }[run_if]
    if allowed:
        return None
    if any(failed):
        return Result.UPSTREAM_FAILED
    if any(r in _CANCELED for r in results):
        return Result.UPSTREAM_CANCELED
    return Result.EXCLUDED


def overall_result(tasks: Sequence[TaskRun]) -> Result:
    """The run's result from its tasks' results (leaf tasks decide SUCCESS_WITH_FAILURES)."""
    results = [t.phase.result for t in tasks]
    if Result.TIMEDOUT in results:
        return Result.TIMEDOUT
    if any(r in _CANCELED for r in results):
        return Result.CANCELED
    if not any(r in (Result.FAILED, Result.UPSTREAM_FAILED) for r in results):
        return Result.SUCCESS
    upstream_keys = {dep for t in tasks for dep in t.depends_on}
    leaves = [t for t in tasks if t.task_key not in upstream_keys]
    if all(t.phase.result in _SUCCEEDED for t in leaves):
        return Result.SUCCESS_WITH_FAILURES
    return Result.FAILED


def failure_message(tasks: Sequence[TaskRun]) -> str:
    """The run's ``state_message`` when a task failed, worded like Databricks."""
    failed = [t for t in tasks if t.phase.result in (Result.FAILED, Result.TIMEDOUT)]
    if not failed:
        return ""
    first = failed[0]
    if len(tasks) == 1:
        return first.phase.message
    return (
        f"Task {first.task_key} failed with message: {first.phase.message}. "
        "This caused all downstream tasks to get skipped."
    )
