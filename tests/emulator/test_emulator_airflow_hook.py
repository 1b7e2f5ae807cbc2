"""The official Airflow Databricks provider hook talking plain HTTP to the emulator.

The connection comes from ``AIRFLOW_CONN_DATABRICKS_EMU`` (JSON with ``schema="http"`` and ``port``):
``BaseHook.get_connection`` resolves environment-variable connections outside a task, with no
metadata DB and no supervisor.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.databricks.hooks.databricks import DatabricksHook, RunState
from emulator_helpers import process_alive, wait_for, write_script
from tenacity import stop_after_attempt, wait_fixed

from dataops_intelligence.emulator import DatabricksEmulator, FaultPlan

if TYPE_CHECKING:
    from pathlib import Path

# The hook's own retry predicate is kept; only stop/wait change. Note ``retry_delay`` is only the
# *minimum* of tenacity's exponential wait (1 s, 2 s, 4 s ...), so it cannot make retries fast.
FAST_RETRIES: dict[str, Any] = {"stop": stop_after_attempt(10), "wait": wait_fixed(0.02)}


def _hook(conn_id: str, **kwargs: Any) -> DatabricksHook:
    return DatabricksHook(databricks_conn_id=conn_id, **kwargs)


def _python_run(script: str, **extra: Any) -> dict[str, Any]:
    return {
        "run_name": "emu",
        "tasks": [{"task_key": "main", "spark_python_task": {"python_file": script}}],
        **extra,
    }


def _wait_terminal(hook: DatabricksHook, run_id: int) -> RunState:
    def probe() -> RunState | None:
        state = hook.get_run_state(run_id)
        return state if state.is_terminal else None

    return wait_for(probe)


def test_submit_and_poll_success(airflow_conn: str, emulator: DatabricksEmulator, tmp_path: Path) -> None:
    hook = _hook(airflow_conn)
    run_id = hook.submit_run(_python_run(write_script(tmp_path, "ok.py", "print('fine')\n")))
    state = _wait_terminal(hook, run_id)
    assert state.is_successful
    sync_get = next(r for r in emulator.requests if r.endpoint == "jobs/runs/get")
    assert (sync_get.query_keys, sync_get.body_bytes) == (("run_id",), 0)
    assert hook.get_run_page_url(run_id) == f"{emulator.url}/#job/{hook.get_job_id(run_id)}/run/{run_id}"
    (task,) = hook.get_run_tasks(run_id)
    assert "fine" in hook.get_run_output(task["run_id"])["logs"]
    assert {r.path for r in emulator.requests} >= {"/api/2.2/jobs/runs/submit", "/api/2.2/jobs/runs/get"}


def test_failed_task_reports_error_and_trace(airflow_conn: str, tmp_path: Path) -> None:
    hook = _hook(airflow_conn)
    script = write_script(tmp_path, "bad.py", "print('before')\nraise ValueError('bad input row 7')\n")
    run_id = hook.submit_run(_python_run(script))
    state = _wait_terminal(hook, run_id)
    assert (state.life_cycle_state, state.result_state) == ("TERMINATED", "FAILED")
    output = hook.get_run_output(hook.get_run_tasks(run_id)[0]["run_id"])
    assert output["error"] == "ValueError: bad input row 7"
    assert "Traceback (most recent call last)" in output["error_trace"]
    assert "before" in output["logs"]
    # Single-task runs also answer get-output for the parent run id (the provider's older path).
    assert hook.get_run_output(run_id)["error"] == "ValueError: bad input row 7"


def test_cancel_run_kills_the_process_group(airflow_conn: str, tmp_path: Path) -> None:
    pids = tmp_path / "pids.txt"
    script = write_script(
        tmp_path,
        "sleepy.py",
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "time.sleep(120)\n",
    )
    hook = _hook(airflow_conn)
    run_id = hook.submit_run(_python_run(script))

    def written_pids() -> list[str] | None:
        return pids.read_text().split() if pids.exists() else None

    parent, child = (int(p) for p in wait_for(written_pids))
    assert hook.get_run_state(run_id).life_cycle_state == "RUNNING"
    hook.cancel_run(run_id)
    state = _wait_terminal(hook, run_id)
    assert state.result_state == "CANCELED"
    wait_for(lambda: not process_alive(parent) and not process_alive(child), timeout=10)


def test_async_hook_reads_state_with_a_json_body_get(
    airflow_conn: str, emulator: DatabricksEmulator, tmp_path: Path
) -> None:
    hook = _hook(airflow_conn)
    run_id = hook.submit_run(_python_run(write_script(tmp_path, "ok.py", "")))
    _wait_terminal(hook, run_id)

    async def read() -> tuple[RunState, str]:
        async with _hook(airflow_conn) as async_hook:
            return await async_hook.a_get_run_state(run_id), await async_hook.a_get_run_page_url(run_id)

    emulator.clear_requests()
    state, url = asyncio.run(read())
    assert state.is_successful
    assert url.endswith(f"/run/{run_id}")
    gets = [r for r in emulator.requests if r.endpoint == "jobs/runs/get"]
    assert len(gets) == 2
    assert all(r.method == "GET" and r.query_keys == () and r.body_bytes > 0 for r in gets)


def test_idempotency_token_dedups_submits(
    airflow_conn: str, emulator: DatabricksEmulator, tmp_path: Path
) -> None:
    hook = _hook(airflow_conn)
    body = _python_run(write_script(tmp_path, "ok.py", ""), idempotency_token="dag_x__t__2026-01-01__1")
    assert hook.submit_run(body) == hook.submit_run(body)
    assert len(emulator.run_ids) == 1


def test_commit_then_fail_is_absorbed_by_token_and_hook_retry(
    airflow_conn: str, emulator: DatabricksEmulator, tmp_path: Path
) -> None:
    emulator.set_faults(FaultPlan(submit_commit_then_fail=1))
    hook = _hook(airflow_conn, retry_args=FAST_RETRIES)
    run_id = hook.submit_run(
        _python_run(write_script(tmp_path, "ok.py", ""), idempotency_token="tok-commit-fail")
    )
    assert emulator.run_ids == [run_id]
    statuses = [r.status for r in emulator.requests if r.endpoint == "jobs/runs/submit"]
    assert statuses == [503, 200]


@pytest.mark.parametrize("seed", [1, 2])
def test_random_429_and_5xx_faults_still_yield_exactly_one_run(
    airflow_conn: str, emulator: DatabricksEmulator, tmp_path: Path, seed: int
) -> None:
    emulator.set_faults(FaultPlan(seed=seed, error_rate=0.3, retry_after_seconds=0))
    hook = _hook(airflow_conn, retry_args=FAST_RETRIES)
    run_id = hook.submit_run(
        _python_run(write_script(tmp_path, "ok.py", ""), idempotency_token=f"faulty-{seed}")
    )
    assert _wait_terminal(hook, run_id).is_successful
    assert emulator.run_ids == [run_id]
    injected = {r.status for r in emulator.requests if r.fault}
    assert injected
    assert injected <= {429, 500, 503}
