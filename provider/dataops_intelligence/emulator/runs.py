"""The run store: submit, execute in background threads, cancel, get, get-output and list."""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dataops_intelligence.emulator.errors import invalid_parameter
from dataops_intelligence.emulator.execution import (
    ProcessOutcome,
    TaskProcess,
    build_command,
    cluster_env,
    error_summary,
    tail,
)
from dataops_intelligence.emulator.model import (
    ACTIVE_LIFE_CYCLES,
    LifeCycle,
    Result,
    Run,
    TaskOutput,
    TaskRun,
    now_ms,
    output_json,
    run_json,
    task_as_run_json,
)
from dataops_intelligence.emulator.scheduling import (
    dependency_order,
    failure_message,
    gate,
    overall_result,
    submitted_tasks,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from dataops_intelligence.emulator.faults import FaultInjector, RunFault

log = logging.getLogger(__name__)

_WORKLOAD_FAILED = "Workload failed, see run output for details"
_MULTI_TASK_OUTPUT = (
    "Retrieving the output of runs with multiple tasks is not supported. "
    "Please retrieve the output of each individual task run instead."
)


@dataclass(frozen=True)
class RunnerConfig:
    """How the emulator executes tasks."""

    python: str
    env: Mapping[str, str]
    path_mapping: Mapping[str, str]
    cluster_startup_seconds: float


class RunManager:
    """Owns every run: one daemon thread per run executes its tasks in dependency order.

    All run state is guarded by one lock; rendering happens under it, so answers are consistent.
    """

    def __init__(self, config: RunnerConfig, faults: FaultInjector, base_url: Callable[[], str]) -> None:
        self._config = config
        self._faults = faults
        self._base_url = base_url
        self._lock = threading.RLock()
        self._ids = itertools.count(1001)
        self._job_ids = itertools.count(501)
        self._runs: dict[int, Run] = {}
        self._tasks: dict[int, tuple[Run, TaskRun]] = {}
        self._tokens: dict[str, int] = {}
        self._cancel: dict[int, threading.Event] = {}
        self._procs: dict[int, TaskProcess] = {}
        self._threads: list[threading.Thread] = []

    # ----------------------------------------------------------------------------- API operations
    def submit(self, body: Mapping[str, Any], creator: str) -> int:
        """Create a run (or return the run of a known ``idempotency_token``) and start it."""
        token = body.get("idempotency_token")
        if token is not None and (not isinstance(token, str) or len(token) > 64):
            raise invalid_parameter("idempotency_token must be a string of at most 64 characters.")
        specs = submitted_tasks(body)
        order = dependency_order(specs)
        for spec in specs:
            build_command(spec, self._config.python, self._config.path_mapping)
        with self._lock:
            if token is not None and token in self._tokens:
                return self._tokens[token]
            run = self._create(body, specs, creator)
            if token is not None:
                self._tokens[token] = run.run_id
            fault = self._faults.for_new_run()
            thread = threading.Thread(
                target=self._execute, args=(run, order, fault), name=f"emulator-run-{run.run_id}", daemon=True
            )
            self._threads.append(thread)
        thread.start()
        return run.run_id

    def get(self, run_id: int) -> dict[str, Any]:
        """``runs/get``: a run, or a task run rendered as a run."""
        with self._lock:
            if run_id in self._runs:
                return run_json(self._runs[run_id], self._base_url())
            run, task = self._task(run_id)
            return task_as_run_json(run, task, self._base_url())

    def output(self, run_id: int) -> dict[str, Any]:
        """``runs/get-output`` of a task run (or of the only task of a single-task run)."""
        with self._lock:
            if run_id in self._runs:
                run = self._runs[run_id]
                if len(run.tasks) != 1:
                    raise invalid_parameter(_MULTI_TASK_OUTPUT)
                return output_json(run, run.tasks[0], self._base_url())
            run, task = self._task(run_id)
            return output_json(run, task, self._base_url())

    def cancel(self, run_id: int) -> None:
        """``runs/cancel``: asynchronous, like Databricks; a no-op for terminal runs."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                raise invalid_parameter(f"Run {run_id} does not exist.")
            if run.phase.is_terminal or run.cancel_requested:
                return
            run.cancel_requested = True
            if run.phase.life_cycle is LifeCycle.RUNNING:
                run.phase.life_cycle = LifeCycle.TERMINATING
            self._cancel[run_id].set()
            proc = self._procs.get(run_id)
        if proc is not None:
            proc.kill()

    def cancel_all(self, job_id: int | None) -> None:
        """``runs/cancel-all``: cancel the active runs of ``job_id`` (all active runs if None)."""
        with self._lock:
            ids = [r.run_id for r in self._runs.values() if job_id is None or r.job_id == job_id]
        for run_id in ids:
            self.cancel(run_id)

    def list_runs(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``runs/list`` with the usual filters and an offset-based ``page_token``."""
        limit = _int_param(params, "limit", 20)
        if not 1 <= limit <= 25:
            raise invalid_parameter("limit must be greater than 0 and less than or equal to 25.")
        offset = _int_param(params, "page_token", _int_param(params, "offset", 0))
        with self._lock:
            runs = sorted(self._runs.values(), key=lambda r: (r.phase.start_ms, r.run_id), reverse=True)
            selected = [r for r in runs if _matches(r, params)]
            page = selected[offset : offset + limit]
            expand = _bool_param(params, "expand_tasks")
            body: dict[str, Any] = {"has_more": offset + limit < len(selected)}
            if page:
                body["runs"] = [run_json(r, self._base_url(), include_tasks=expand) for r in page]
        if body["has_more"]:
            body["next_page_token"] = str(offset + limit)
        if offset:
            body["prev_page_token"] = str(max(0, offset - limit))
        return body

    @property
    def run_ids(self) -> list[int]:
        """Ids of every run created so far, in creation order."""
        with self._lock:
            return list(self._runs)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel every active run, kill its processes and wait for the run threads."""
        with self._lock:
            active = [r.run_id for r in self._runs.values() if not r.phase.is_terminal]
            threads = list(self._threads)
        for run_id in active:
            self.cancel(run_id)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # ----------------------------------------------------------------------------- internals
    def _task(self, run_id: int) -> tuple[Run, TaskRun]:
        found = self._tasks.get(run_id)
        if found is None:
            raise invalid_parameter(f"Run {run_id} does not exist.")
        return found

    def _create(self, body: Mapping[str, Any], specs: list[dict[str, Any]], creator: str) -> Run:
        run_id = next(self._ids)
        tasks = [TaskRun(str(s["task_key"]), next(self._ids), s) for s in specs]
        spec = {k: v for k, v in body.items() if k not in ("tasks", "idempotency_token")}
        run = Run(run_id, next(self._job_ids), str(body.get("run_name") or "Untitled"), spec, tasks, creator)
        run.phase.start_ms = now_ms()
        for task in tasks:
            task.phase.life_cycle = LifeCycle.BLOCKED if task.depends_on else LifeCycle.PENDING
            self._tasks[task.run_id] = (run, task)
        self._runs[run_id] = run
        self._cancel[run_id] = threading.Event()
        return run

    def _execute(self, run: Run, order: list[str], fault: RunFault) -> None:
        try:
            self._execute_steps(run, order, fault)
        except Exception as exc:  # a bug must not leave a run RUNNING forever
            log.exception("Emulated run %s crashed", run.run_id)
            with self._lock:
                run.phase.finish(LifeCycle.INTERNAL_ERROR, Result.FAILED, f"Emulator error: {exc!r}")

    def _execute_steps(self, run: Run, order: list[str], fault: RunFault) -> None:
        cancel = self._cancel[run.run_id]
        if cancel.wait(fault.pending_seconds) or self._start_cluster(run, fault, cancel):
            self._finish(run)
            return
        timeout = run.spec.get("timeout_seconds") or 0
        deadline = time.monotonic() + timeout if timeout else None
        for key in order:
            self._run_task(run, run.task(key), deadline)
        self._finish(run)

    def _start_cluster(self, run: Run, fault: RunFault, cancel: threading.Event) -> bool:
        """Emulate the cluster launch while PENDING; return True if the run must stop here."""
        if fault.internal_error:
            message = "Cluster launch failed: the cloud provider could not allocate instances (emulated)."
            with self._lock:
                run.phase.finish(LifeCycle.INTERNAL_ERROR, Result.FAILED, message)
                for task in run.tasks:
                    task.phase.finish(LifeCycle.INTERNAL_ERROR, Result.FAILED, message)
            return True
        if cancel.wait(self._config.cluster_startup_seconds):
            return True
        with self._lock:
            if any("existing_cluster_id" not in t.spec for t in run.tasks):
                run.cluster_id = time.strftime("%m%d-%H%M%S-", time.gmtime()) + f"emu{run.run_id}"
            else:
                run.cluster_id = str(run.tasks[0].spec["existing_cluster_id"])
            run.phase.setup_ms = now_ms() - run.phase.start_ms
            run.phase.life_cycle = LifeCycle.RUNNING
        return False

    def _run_task(self, run: Run, task: TaskRun, deadline: float | None) -> None:
        argv = build_command(task.spec, self._config.python, self._config.path_mapping)
        env = {**os.environ, **self._config.env, **cluster_env(run.spec, task.spec)}
        proc = TaskProcess(argv, env)
        with self._lock:
            if self._skip_if_needed(run, task, deadline):
                return
            task.cluster_id = str(task.spec.get("existing_cluster_id") or run.cluster_id)
            task.phase.life_cycle = LifeCycle.RUNNING
            task.phase.start_ms = now_ms()
            try:
                proc.start()
            except OSError as exc:
                task.output = TaskOutput(error=f"{type(exc).__name__}: {exc}")
                task.phase.finish(LifeCycle.INTERNAL_ERROR, Result.FAILED, f"Could not start the task: {exc}")
                return
            self._procs[run.run_id] = proc
        limits = [t for t in (task.spec.get("timeout_seconds") or None, _remaining(deadline)) if t]
        outcome = proc.wait(min(limits) if limits else None)
        with self._lock:
            self._procs.pop(run.run_id, None)
            self._record(run, task, outcome)

    def _skip_if_needed(self, run: Run, task: TaskRun, deadline: float | None) -> bool:
        """Under the lock: skip a task whose run was cancelled/timed out or whose run_if fails."""
        if run.cancel_requested or (deadline is not None and time.monotonic() >= deadline):
            task.phase.finish(
                LifeCycle.SKIPPED, Result.CANCELED, "The run was stopped before this task started."
            )
            return True
        skipped = gate(task.run_if, [run.task(k).phase.result for k in task.depends_on])
        if skipped is None:
            return False
        task.phase.finish(
            LifeCycle.SKIPPED, skipped, f"Task skipped: run_if {task.run_if} not met ({skipped.value})."
        )
        return True

    def _record(self, run: Run, task: TaskRun, outcome: ProcessOutcome) -> None:
        logs, truncated = tail(outcome.stdout)
        ended = now_ms()
        task.phase.execution_ms = ended - task.phase.start_ms
        run.phase.execution_ms += task.phase.execution_ms
        if run.cancel_requested:
            task.output = TaskOutput(logs, truncated)
            task.phase.finish(LifeCycle.TERMINATED, Result.CANCELED, "Run cancelled.")
        elif outcome.timed_out:
            task.output = TaskOutput(logs, truncated, "Task timed out", tail(outcome.stderr)[0])
            task.phase.finish(LifeCycle.TERMINATED, Result.TIMEDOUT, "Task timed out.")
        elif outcome.returncode == 0:
            task.output = TaskOutput(logs, truncated)
            task.phase.finish(LifeCycle.TERMINATED, Result.SUCCESS, "")
        else:
            error = error_summary(outcome.stderr, outcome.returncode)
            task.output = TaskOutput(logs, truncated, error, tail(outcome.stderr)[0])
            task.phase.finish(LifeCycle.TERMINATED, Result.FAILED, _WORKLOAD_FAILED)

    def _finish(self, run: Run) -> None:
        with self._lock:
            for task in run.tasks:
                if not task.phase.is_terminal:
                    task.phase.finish(
                        LifeCycle.SKIPPED, Result.CANCELED, "The run was stopped before this task started."
                    )
            if run.phase.is_terminal:
                return
            result = Result.CANCELED if run.cancel_requested else overall_result(run.tasks)
            message = {Result.CANCELED: "Run cancelled.", Result.TIMEDOUT: "Run timed out."}.get(
                result, failure_message(run.tasks)
            )
            run.phase.finish(LifeCycle.TERMINATED, result, message)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.001, deadline - time.monotonic())


def _int_param(params: Mapping[str, Any], name: str, default: int) -> int:
    value = params.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_parameter(f"{name} must be an integer, got {value!r}.") from None


def _bool_param(params: Mapping[str, Any], name: str) -> bool:
    value = params.get(name)
    return value is True or str(value).lower() == "true"


def _matches(run: Run, params: Mapping[str, Any]) -> bool:
    active = run.phase.life_cycle.value in ACTIVE_LIFE_CYCLES
    checks = [
        not _bool_param(params, "active_only") or active,
        not _bool_param(params, "completed_only") or not active,
        params.get("job_id") in (None, "") or _int_param(params, "job_id", 0) == run.job_id,
        params.get("run_type") in (None, "", "SUBMIT_RUN"),
        run.phase.start_ms >= _int_param(params, "start_time_from", 0),
        run.phase.start_ms <= _int_param(params, "start_time_to", 2**63 - 1),
    ]
    return all(checks)
