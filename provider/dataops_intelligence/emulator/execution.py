"""Turning submitted tasks into subprocesses, running them, and summarising their output."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dataops_intelligence.emulator.errors import invalid_parameter

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Bytes of stdout/stderr kept for ``logs`` and ``error_trace``.
OUTPUT_TAIL_CHARS = 64 * 1024
#: Seconds between SIGTERM and SIGKILL when a run is cancelled.
KILL_GRACE_SECONDS = 2.0

# Runs in the child: resolve a wheel entry point the way Databricks does (package metadata first,
# then ``<package>.<entry_point>``), set sys.argv and exit with the function's return value.
_WHEEL_BOOTSTRAP = """
import importlib, importlib.metadata as md, re, sys
package, name, *args = sys.argv[1:]
norm = lambda s: re.sub(r"[-_.]+", "-", s).lower()
func = None
for dist in md.distributions():
    if norm(dist.metadata["Name"] or "") != norm(package):
        continue
    for ep in dist.entry_points:
        if ep.name == name and ep.group in ("console_scripts", "gui_scripts"):
            func = ep.load()
            break
    if func is not None:
        break
if func is None:
    module = importlib.import_module(package.replace("-", "_"))
    func = getattr(module, name)
sys.argv = [name, *args]
sys.exit(func())
"""

_TASK_TYPES = ("spark_python_task", "python_wheel_task")


def resolve_path(path: str, path_mapping: Mapping[str, str]) -> str:
    """Map a workspace/DBFS path to a local one (longest matching prefix); strip ``file:``."""
    for prefix in sorted(path_mapping, key=len, reverse=True):
        if path.startswith(prefix):
            return path_mapping[prefix] + path[len(prefix) :]
    if path.startswith("file:"):
        return path[len("file:") :]
    return path


def _named(parameters: Mapping[str, Any] | None) -> list[str]:
    return [f"--{k}={v}" for k, v in (parameters or {}).items()]


def build_command(task: Mapping[str, Any], python: str, path_mapping: Mapping[str, str]) -> list[str]:
    """Return the argv of a submitted task; raise the 400 Databricks answers for unusable specs."""
    key = task.get("task_key", "?")
    if "spark_python_task" in task:
        spec = task["spark_python_task"] or {}
        if not spec.get("python_file"):
            raise invalid_parameter(f"Task {key}: spark_python_task.python_file is required.")
        params = [str(p) for p in spec.get("parameters") or []]
        return [python, resolve_path(str(spec["python_file"]), path_mapping), *params]
    if "python_wheel_task" in task:
        spec = task["python_wheel_task"] or {}
        if not spec.get("package_name") or not spec.get("entry_point"):
            raise invalid_parameter(f"Task {key}: python_wheel_task needs package_name and entry_point.")
        params = [str(p) for p in spec.get("parameters") or []] + _named(spec.get("named_parameters"))
        package, entry = str(spec["package_name"]), str(spec["entry_point"])
        return [python, "-c", _WHEEL_BOOTSTRAP, package, entry, *params]
    raise invalid_parameter(
        f"Task {key}: the emulator runs only {' and '.join(_TASK_TYPES)} tasks, got {sorted(task)}."
    )


def cluster_env(run_spec: Mapping[str, Any], task: Mapping[str, Any]) -> dict[str, str]:
    """``spark_env_vars`` of the cluster a task asks for (its ``new_cluster`` or its job cluster)."""
    cluster = task.get("new_cluster")
    if cluster is None and task.get("job_cluster_key"):
        for job_cluster in run_spec.get("job_clusters") or []:
            if job_cluster.get("job_cluster_key") == task["job_cluster_key"]:
                cluster = job_cluster.get("new_cluster")
    return {str(k): str(v) for k, v in ((cluster or {}).get("spark_env_vars") or {}).items()}


def tail(text: str, limit: int = OUTPUT_TAIL_CHARS) -> tuple[str, bool]:
    """Return the last ``limit`` characters of ``text`` and whether anything was cut."""
    if len(text) <= limit:
        return text, False
    return text[-limit:], True


def error_summary(stderr: str, returncode: int | None) -> str:
    """The one-line ``error`` of a failed task: the last exception line of its traceback."""
    lines = stderr.splitlines()
    marker = max(
        (i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")),
        default=-1,
    )
    candidates = [ln for ln in lines[marker + 1 :] if ln.strip() and not ln[:1].isspace()]
    if marker >= 0 and candidates:
        return candidates[-1].strip()
    non_empty = [ln.strip() for ln in lines if ln.strip()]
    if non_empty:
        return non_empty[-1]
    if returncode is not None and returncode < 0:
        return f"Process was killed by signal {-returncode}"
    return f"Process exited with code {returncode}"


@dataclass(frozen=True)
class ProcessOutcome:
    """How a task subprocess ended."""

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool


class TaskProcess:
    """One task subprocess in its own process group, so cancel kills everything it spawned."""

    def __init__(self, argv: list[str], env: Mapping[str, str]) -> None:
        self._argv = argv
        self._env = dict(env)
        self._proc: subprocess.Popen[str] | None = None
        self._killed = threading.Event()

    def start(self) -> None:
        """Launch the subprocess (stdin closed, stdout/stderr captured)."""
        self._proc = subprocess.Popen(
            self._argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._env,
            text=True,
            errors="replace",
            start_new_session=True,
        )

    def wait(self, timeout: float | None) -> ProcessOutcome:
        """Wait for the end (killing the group after ``timeout`` seconds) and collect the output."""
        if self._proc is None:
            raise RuntimeError("TaskProcess.wait() before start()")
        try:
            out, err = self._proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            out, err = self._proc.communicate()
            timed_out = True
        return ProcessOutcome(self._proc.returncode, out or "", err or "", timed_out)

    def kill(self) -> None:
        """SIGTERM the process group now and SIGKILL it after a short grace period."""
        if self._proc is None or self._killed.is_set():
            return
        self._killed.set()
        self._signal(signal.SIGTERM)
        timer = threading.Timer(KILL_GRACE_SECONDS, self._signal, args=(signal.SIGKILL,))
        timer.daemon = True
        timer.start()

    def _signal(self, sig: signal.Signals) -> None:
        if self._proc is None or self._proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)
