"""Runs and task runs of the emulator and their Jobs API JSON (pure: no I/O, no threads)."""

from __future__ import annotations

import copy
import time
import zlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

TERMINAL_LIFE_CYCLES = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})
ACTIVE_LIFE_CYCLES = frozenset({"QUEUED", "PENDING", "BLOCKED", "RUNNING", "TERMINATING"})


class LifeCycle(str, Enum):
    """``state.life_cycle_state`` values the emulator produces."""

    PENDING = "PENDING"
    BLOCKED = "BLOCKED"
    RUNNING = "RUNNING"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    SKIPPED = "SKIPPED"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class Result(str, Enum):
    """``state.result_state`` values the emulator produces."""

    SUCCESS = "SUCCESS"
    SUCCESS_WITH_FAILURES = "SUCCESS_WITH_FAILURES"
    FAILED = "FAILED"
    TIMEDOUT = "TIMEDOUT"
    CANCELED = "CANCELED"
    UPSTREAM_FAILED = "UPSTREAM_FAILED"
    UPSTREAM_CANCELED = "UPSTREAM_CANCELED"
    EXCLUDED = "EXCLUDED"


#: result_state -> (status.termination_details.code, .type)
_TERMINATION: dict[Result, tuple[str, str]] = {
    Result.SUCCESS: ("SUCCESS", "SUCCESS"),
    Result.SUCCESS_WITH_FAILURES: ("SUCCESS_WITH_FAILURES", "SUCCESS"),
    Result.FAILED: ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
    Result.TIMEDOUT: ("CANCELED", "CLIENT_ERROR"),
    Result.CANCELED: ("USER_CANCELED", "SUCCESS"),
    Result.UPSTREAM_FAILED: ("SKIPPED", "SUCCESS"),
    Result.UPSTREAM_CANCELED: ("SKIPPED", "SUCCESS"),
    Result.EXCLUDED: ("SKIPPED", "SUCCESS"),
}


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds, the unit of every Jobs API timestamp."""
    return int(time.time() * 1000)


@dataclass
class TaskOutput:
    """What ``runs/get-output`` returns for a finished task run."""

    logs: str = ""
    logs_truncated: bool = False
    error: str | None = None
    error_trace: str | None = None


@dataclass
class Phase:
    """The mutable state shared by runs and task runs."""

    life_cycle: LifeCycle = LifeCycle.PENDING
    result: Result | None = None
    message: str = ""
    user_cancelled_or_timedout: bool = False
    start_ms: int = 0
    end_ms: int = 0
    setup_ms: int = 0
    execution_ms: int = 0
    cleanup_ms: int = 0

    @property
    def is_terminal(self) -> bool:
        """True once the life cycle reached TERMINATED, SKIPPED or INTERNAL_ERROR."""
        return self.life_cycle.value in TERMINAL_LIFE_CYCLES

    def finish(self, life_cycle: LifeCycle, result: Result | None, message: str) -> None:
        """Move to a terminal state (idempotent: the first terminal state wins)."""
        if self.is_terminal:
            return
        self.life_cycle = life_cycle
        self.result = result
        self.message = message
        self.user_cancelled_or_timedout = result in (Result.CANCELED, Result.TIMEDOUT)
        self.end_ms = now_ms()


@dataclass
class TaskRun:
    """One task of a submitted run, executed as one subprocess."""

    task_key: str
    run_id: int
    spec: dict[str, Any]
    phase: Phase = field(default_factory=Phase)
    cluster_id: str | None = None
    output: TaskOutput | None = None

    @property
    def depends_on(self) -> list[str]:
        """Keys of the upstream tasks."""
        return [str(d["task_key"]) for d in self.spec.get("depends_on") or []]

    @property
    def run_if(self) -> str:
        """The task's ``run_if`` condition (ALL_SUCCESS by default)."""
        return str(self.spec.get("run_if") or "ALL_SUCCESS")


@dataclass
class Run:
    """A one-time run created by ``runs/submit``."""

    run_id: int
    job_id: int
    run_name: str
    spec: dict[str, Any]
    tasks: list[TaskRun]
    creator: str
    phase: Phase = field(default_factory=Phase)
    cluster_id: str | None = None
    cancel_requested: bool = False

    def task(self, key: str) -> TaskRun:
        """Return the task run with ``task_key`` ``key``."""
        return next(t for t in self.tasks if t.task_key == key)


def state_json(phase: Phase) -> dict[str, Any]:
    """Render the (deprecated, still returned) ``state`` object."""
    state: dict[str, Any] = {
        "life_cycle_state": phase.life_cycle.value,
        "state_message": phase.message,
        "user_cancelled_or_timedout": phase.user_cancelled_or_timedout,
    }
    if phase.result is not None:
        state["result_state"] = phase.result.value
    return state


def status_json(phase: Phase) -> dict[str, Any]:
    """Render the newer ``status`` object (``state`` plus ``termination_details`` when terminal)."""
    if not phase.is_terminal:
        return {"state": phase.life_cycle.value}
    if phase.life_cycle is LifeCycle.INTERNAL_ERROR:
        code, kind = "INTERNAL_ERROR", "INTERNAL_ERROR"
    else:
        code, kind = _TERMINATION[phase.result or Result.FAILED]
    return {
        "state": "TERMINATED",
        "termination_details": {"code": code, "type": kind, "message": phase.message},
    }


def _timing_json(phase: Phase) -> dict[str, Any]:
    run_duration = phase.end_ms - phase.start_ms if phase.end_ms and phase.start_ms else 0
    return {
        "start_time": phase.start_ms,
        "end_time": phase.end_ms,
        "setup_duration": phase.setup_ms,
        "execution_duration": phase.execution_ms,
        "cleanup_duration": phase.cleanup_ms,
        "run_duration": run_duration,
    }


def page_url(base_url: str, job_id: int, run_id: int) -> str:
    """The workspace UI link of a run, ``<url>/#job/<job_id>/run/<run_id>``."""
    return f"{base_url}/#job/{job_id}/run/{run_id}"


def _cluster_json(cluster_id: str | None) -> dict[str, Any]:
    if cluster_id is None:
        return {}
    return {
        "cluster_instance": {
            "cluster_id": cluster_id,
            "spark_context_id": str(zlib.crc32(cluster_id.encode())),
        }
    }


def task_json(run: Run, task: TaskRun, base_url: str) -> dict[str, Any]:
    """Render one entry of a run's ``tasks`` array (the submitted spec plus runtime fields)."""
    body = copy.deepcopy(task.spec)
    body.update(
        run_id=task.run_id,
        task_key=task.task_key,
        attempt_number=0,
        state=state_json(task.phase),
        status=status_json(task.phase),
        run_page_url=page_url(base_url, run.job_id, task.run_id),
        **_timing_json(task.phase),
        **_cluster_json(task.cluster_id),
    )
    return body


def run_json(run: Run, base_url: str, include_tasks: bool = True) -> dict[str, Any]:
    """Render a run as ``runs/get`` (and, without tasks, ``runs/list``) answers it."""
    body: dict[str, Any] = {
        "job_id": run.job_id,
        "run_id": run.run_id,
        "number_in_job": run.run_id,
        "original_attempt_run_id": run.run_id,
        "attempt_number": 0,
        "run_name": run.run_name,
        "run_type": "SUBMIT_RUN",
        "trigger": "ONE_TIME",
        "format": "MULTI_TASK",
        "creator_user_name": run.creator,
        "run_as_user_name": run.creator,
        "state": state_json(run.phase),
        "status": status_json(run.phase),
        "run_page_url": page_url(base_url, run.job_id, run.run_id),
        "queue_duration": 0,
        **_timing_json(run.phase),
        **_cluster_json(run.cluster_id),
    }
    for key in ("job_clusters", "timeout_seconds", "tags", "environments", "git_source"):
        if key in run.spec:
            body[key] = copy.deepcopy(run.spec[key])
    if include_tasks:
        body["tasks"] = [task_json(run, t, base_url) for t in run.tasks]
    return body


def task_as_run_json(run: Run, task: TaskRun, base_url: str) -> dict[str, Any]:
    """Render a task run as a Run object (``runs/get`` of a task run id, ``get-output`` metadata)."""
    body = task_json(run, task, base_url)
    body.update(job_id=run.job_id, run_name=run.run_name, run_type="SUBMIT_RUN", parent_run_id=run.run_id)
    body["creator_user_name"] = run.creator
    return body


def output_json(run: Run, task: TaskRun, base_url: str) -> dict[str, Any]:
    """Render ``runs/get-output`` of a task run."""
    body: dict[str, Any] = {"metadata": task_as_run_json(run, task, base_url)}
    out = task.output
    if out is None:
        return body
    body["logs"] = out.logs
    body["logs_truncated"] = out.logs_truncated
    if out.error is not None:
        body["error"] = out.error
    if out.error_trace is not None:
        body["error_trace"] = out.error_trace
    return body
