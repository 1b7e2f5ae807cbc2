"""The emulator over raw HTTP: auth, errors, both API versions, runs, faults, request log, SQL."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import requests
from emulator_helpers import TOKEN, wait_for, write_script

from dataops_intelligence.emulator import DatabricksEmulator, FaultPlan

if TYPE_CHECKING:
    from pathlib import Path

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _get(emu: DatabricksEmulator, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{emu.url}{path}", params=params, headers=AUTH, timeout=10)


def _post(emu: DatabricksEmulator, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{emu.url}{path}", json=body, headers=AUTH, timeout=10)


def _terminal_run(emu: DatabricksEmulator, run_id: int, version: str = "2.1") -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        run: dict[str, Any] = _get(emu, f"/api/{version}/jobs/runs/get", run_id=run_id).json()
        return (
            run if run["state"]["life_cycle_state"] in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED") else None
        )

    return wait_for(probe)


def _python_task(path: str, key: str = "t", **extra: Any) -> dict[str, Any]:
    return {"task_key": key, "spark_python_task": {"python_file": path}, **extra}


def test_auth_is_required_and_errors_use_databricks_json(emulator: DatabricksEmulator) -> None:
    url = f"{emulator.url}/api/2.1/jobs/runs/list"
    missing = requests.get(url, timeout=10)
    assert missing.status_code == 401
    assert missing.json()["error_code"] == "UNAUTHENTICATED"
    wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 403
    assert wrong.json() == {"error_code": "PERMISSION_DENIED", "message": "Invalid access token."}
    unknown = _get(emulator, "/api/2.1/jobs/nope")
    assert unknown.status_code == 404
    assert unknown.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    missing_run = _get(emulator, "/api/2.2/jobs/runs/get", run_id=424242)
    assert missing_run.status_code == 400
    assert missing_run.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_request_log_never_holds_tokens(emulator: DatabricksEmulator) -> None:
    _get(emulator, "/api/2.1/jobs/runs/list")
    requests.post(f"{emulator.url}/oidc/v1/token", data={"grant_type": "client_credentials"}, timeout=10)
    records = emulator.requests
    assert [(r.method, r.path, r.status) for r in records] == [
        ("GET", "/api/2.1/jobs/runs/list", 200),
        ("POST", "/oidc/v1/token", 401),
    ]
    assert TOKEN not in repr(records)
    assert TOKEN not in _get(emulator, "/emulator/requests").text


def test_submit_runs_a_real_subprocess_with_env_and_both_api_versions(
    emulator: DatabricksEmulator, tmp_path: Path
) -> None:
    script = write_script(
        tmp_path, "ok.py", "import os, sys\nprint('args', sys.argv[1:], os.environ['EMU_MARKER'])\n"
    )
    task = {"task_key": "only", "spark_python_task": {"python_file": script, "parameters": ["--day", "1"]}}
    run_id = _post(emulator, "/api/2.2/jobs/runs/submit", {"run_name": "ok", "tasks": [task]}).json()[
        "run_id"
    ]
    run = _terminal_run(emulator, run_id, "2.1")
    assert run["state"] == {
        "life_cycle_state": "TERMINATED",
        "result_state": "SUCCESS",
        "state_message": "",
        "user_cancelled_or_timedout": False,
    }
    assert run["status"]["termination_details"]["code"] == "SUCCESS"
    assert run["run_page_url"] == f"{emulator.url}/#job/{run['job_id']}/run/{run_id}"
    assert run["end_time"] >= run["start_time"] > 0
    (task_run,) = run["tasks"]
    assert task_run["cluster_instance"]["cluster_id"] == run["cluster_instance"]["cluster_id"]
    output = _get(emulator, "/api/2.2/jobs/runs/get-output", run_id=task_run["run_id"]).json()
    assert "args ['--day', '1'] from-emulator" in output["logs"]
    assert "error" not in output


def test_runs_get_accepts_a_json_body_on_get(emulator: DatabricksEmulator, tmp_path: Path) -> None:
    script = write_script(tmp_path, "ok.py", "print('hi')\n")
    run_id = _post(emulator, "/api/2.1/jobs/runs/submit", {"tasks": [_python_task(script)]}).json()["run_id"]
    response = requests.get(
        f"{emulator.url}/api/2.1/jobs/runs/get", json={"run_id": run_id}, headers=AUTH, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["run_id"] == run_id


def test_multi_task_run_follows_dependencies_and_shares_one_cluster(
    emulator: DatabricksEmulator, tmp_path: Path
) -> None:
    trace = tmp_path / "trace.txt"
    step = write_script(
        tmp_path, "step.py", f"import sys\nopen({str(trace)!r}, 'a').write(sys.argv[1] + '\\n')\n"
    )
    boom = write_script(tmp_path, "boom.py", "raise RuntimeError('extract exploded')\n")

    def task(key: str, deps: list[str], path: str = step, **extra: Any) -> dict[str, Any]:
        return {
            "task_key": key,
            "depends_on": [{"task_key": d} for d in deps],
            "job_cluster_key": "shared",
            "spark_python_task": {"python_file": path, "parameters": [key]},
            **extra,
        }

    body = {
        "run_name": "pipeline",
        "job_clusters": [
            {"job_cluster_key": "shared", "new_cluster": {"spark_env_vars": {"FROM_CLUSTER": "1"}}}
        ],
        "tasks": [
            task("load", ["transform"]),
            task("extract", []),
            task("transform", ["extract"]),
            task("broken", ["extract"], boom),
            task("after_broken", ["broken"]),
            task("cleanup", ["broken"], run_if="ALL_DONE"),
        ],
    }
    run = _terminal_run(emulator, _post(emulator, "/api/2.1/jobs/runs/submit", body).json()["run_id"])
    assert trace.read_text().split() == ["extract", "transform", "load", "cleanup"]
    results = {t["task_key"]: t["state"].get("result_state") for t in run["tasks"]}
    assert results == {
        "load": "SUCCESS",
        "extract": "SUCCESS",
        "transform": "SUCCESS",
        "broken": "FAILED",
        "after_broken": "UPSTREAM_FAILED",
        "cleanup": "SUCCESS",
    }
    assert run["state"]["result_state"] == "FAILED"
    assert run["state"]["state_message"].startswith("Task broken failed with message")
    executed = [t for t in run["tasks"] if "cluster_instance" in t]
    assert len({t["cluster_instance"]["cluster_id"] for t in executed}) == 1
    multi = _get(emulator, "/api/2.1/jobs/runs/get-output", run_id=run["run_id"])
    assert multi.status_code == 400
    broken = next(t for t in run["tasks"] if t["task_key"] == "broken")
    output = _get(emulator, "/api/2.1/jobs/runs/get-output", run_id=broken["run_id"]).json()
    assert output["error"] == "RuntimeError: extract exploded"
    assert "Traceback" in output["error_trace"]


def test_python_wheel_task_resolves_console_script_and_module_fallback(
    emulator: DatabricksEmulator, tmp_path: Path
) -> None:
    (tmp_path / "emu_pkg").mkdir()
    (tmp_path / "emu_pkg" / "__init__.py").write_text(
        "import sys\ndef main():\n    print('wheel', sys.argv)\n"
    )
    emulator_env = {"PYTHONPATH": str(tmp_path)}
    with DatabricksEmulator(token=TOKEN, env=emulator_env) as emu:
        tasks = [
            {
                "task_key": "pip",
                "python_wheel_task": {
                    "package_name": "pip",
                    "entry_point": "pip",
                    "parameters": ["--version"],
                },
            },
            {
                "task_key": "fallback",
                "python_wheel_task": {
                    "package_name": "emu_pkg",
                    "entry_point": "main",
                    "named_parameters": {"a": "b"},
                },
            },
        ]
        run = _terminal_run(emu, _post(emu, "/api/2.1/jobs/runs/submit", {"tasks": tasks}).json()["run_id"])
        assert run["state"]["result_state"] == "SUCCESS", run
        logs = {
            t["task_key"]: _get(emu, "/api/2.1/jobs/runs/get-output", run_id=t["run_id"]).json()["logs"]
            for t in run["tasks"]
        }
    assert logs["pip"].startswith("pip ")
    assert "wheel ['main', '--a=b']" in logs["fallback"]


def test_idempotency_token_returns_the_same_run(emulator: DatabricksEmulator, tmp_path: Path) -> None:
    body = {
        "idempotency_token": "dag__task__2026-01-01__try1",
        "tasks": [_python_task(write_script(tmp_path, "a.py", ""))],
    }
    first = _post(emulator, "/api/2.1/jobs/runs/submit", body).json()["run_id"]
    second = _post(emulator, "/api/2.2/jobs/runs/submit", body).json()["run_id"]
    assert first == second
    assert emulator.run_ids == [first]


def test_faults_set_over_http_fail_first_calls_before_side_effects(
    emulator: DatabricksEmulator, tmp_path: Path
) -> None:
    plan = {"fail_first": {"jobs/runs/submit": 2}, "fail_first_status": 429, "retry_after_seconds": 3}
    assert _post(emulator, "/emulator/faults", plan).json()["fail_first"] == {"jobs/runs/submit": 2}
    body = {"tasks": [_python_task(write_script(tmp_path, "a.py", ""))]}
    answers = [_post(emulator, "/api/2.1/jobs/runs/submit", body) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "3"
    assert answers[0].json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert len(emulator.run_ids) == 1
    assert [r.fault for r in emulator.requests if r.endpoint == "jobs/runs/submit"] == [
        "fail_first:429",
        "fail_first:429",
        None,
    ]
    bad = _post(emulator, "/emulator/faults", {"error_rate": 3})
    assert bad.status_code == 400


def test_submit_commit_then_fail_without_token_creates_a_second_run(
    emulator: DatabricksEmulator, tmp_path: Path
) -> None:
    emulator.set_faults(FaultPlan(submit_commit_then_fail=1))
    body = {"tasks": [_python_task(write_script(tmp_path, "a.py", ""))]}
    assert _post(emulator, "/api/2.1/jobs/runs/submit", body).status_code == 503
    assert _post(emulator, "/api/2.1/jobs/runs/submit", body).status_code == 200
    assert len(emulator.run_ids) == 2


def test_internal_error_and_pending_faults(emulator: DatabricksEmulator, tmp_path: Path) -> None:
    emulator.set_faults(FaultPlan(run_internal_error_rate=1.0, run_pending_seconds=0.5))
    run_id = _post(
        emulator, "/api/2.1/jobs/runs/submit", {"tasks": [_python_task(write_script(tmp_path, "a.py", ""))]}
    ).json()["run_id"]
    assert (
        _get(emulator, "/api/2.1/jobs/runs/get", run_id=run_id).json()["state"]["life_cycle_state"]
        == "PENDING"
    )
    run = _terminal_run(emulator, run_id)
    assert run["state"]["life_cycle_state"] == "INTERNAL_ERROR"
    assert run["status"]["termination_details"]["type"] == "INTERNAL_ERROR"


def test_timeout_and_cancel_all(emulator: DatabricksEmulator, tmp_path: Path) -> None:
    sleeper = write_script(tmp_path, "sleep.py", "import time\ntime.sleep(60)\n")
    timed = _post(
        emulator, "/api/2.1/jobs/runs/submit", {"timeout_seconds": 1, "tasks": [_python_task(sleeper)]}
    )
    run = _terminal_run(emulator, timed.json()["run_id"])
    assert run["state"]["result_state"] == "TIMEDOUT"
    assert run["state"]["user_cancelled_or_timedout"] is True
    other = _post(emulator, "/api/2.1/jobs/runs/submit", {"tasks": [_python_task(sleeper)]}).json()["run_id"]
    active = _get(emulator, "/api/2.1/jobs/runs/list", active_only="true").json()
    assert [r["run_id"] for r in active["runs"]] == [other]
    assert _post(emulator, "/api/2.1/jobs/runs/cancel-all", {"all_queued_runs": True}).status_code == 200
    assert _terminal_run(emulator, other)["state"]["result_state"] == "CANCELED"


def test_runs_list_paginates(emulator: DatabricksEmulator, tmp_path: Path) -> None:
    body = {"tasks": [_python_task(write_script(tmp_path, "a.py", ""))]}
    ids = [_post(emulator, "/api/2.1/jobs/runs/submit", body).json()["run_id"] for _ in range(3)]
    page1 = _get(emulator, "/api/2.2/jobs/runs/list", limit=2).json()
    assert page1["has_more"] is True
    page2 = _get(emulator, "/api/2.2/jobs/runs/list", limit=2, page_token=page1["next_page_token"]).json()
    listed = [r["run_id"] for r in page1["runs"] + page2["runs"]]
    assert sorted(listed) == sorted(ids)
    assert "tasks" not in page1["runs"][0]
    assert _get(emulator, "/api/2.2/jobs/runs/list", limit=99).status_code == 400


def test_sql_statements_over_http(emulator: DatabricksEmulator) -> None:
    ok = _post(emulator, "/api/2.0/sql/statements", {"statement": "SELECT 1", "warehouse_id": "wh"}).json()
    assert ok["status"]["state"] == "SUCCEEDED"
    assert ok["result"]["data_array"] == [["1"]]
    assert _get(emulator, f"/api/2.0/sql/statements/{ok['statement_id']}").json() == ok
    chunk = _get(emulator, f"/api/2.0/sql/statements/{ok['statement_id']}/result/chunks/0").json()
    assert chunk["data_array"] == [["1"]]
    bad = _post(
        emulator, "/api/2.0/sql/statements", {"statement": "SELECT * FROM t", "warehouse_id": "wh"}
    ).json()
    assert bad["status"]["state"] == "FAILED"
    assert "EMULATOR_UNSUPPORTED_SQL" in bad["status"]["error"]["message"]
    assert _post(emulator, "/api/2.0/sql/statements", {"statement": "SELECT 1"}).status_code == 400


def test_custom_sql_executor_and_async_cancel(tmp_path: Path) -> None:
    import threading

    release = threading.Event()

    def executor(statement: str, params: Any) -> tuple[list[tuple[str, str]], list[list[Any]]]:
        if "slow" in statement:
            release.wait(10)
        return [("n", "LONG"), ("label", "STRING")], [[1, params.get("who")], [2, None]]

    with DatabricksEmulator(token=TOKEN, sql_executor=executor) as emu:
        body = {"statement": "q", "warehouse_id": "w", "parameters": [{"name": "who", "value": "me"}]}
        done = _post(emu, "/api/2.0/sql/statements", body).json()
        assert done["result"]["data_array"] == [["1", "me"], ["2", None]]
        assert done["manifest"]["schema"]["columns"][0]["type_name"] == "LONG"
        slow = _post(
            emu, "/api/2.0/sql/statements", {"statement": "slow", "warehouse_id": "w", "wait_timeout": "0s"}
        ).json()
        assert slow["status"]["state"] in ("PENDING", "RUNNING")
        _post(emu, f"/api/2.0/sql/statements/{slow['statement_id']}/cancel", {})
        release.set()
        assert (
            _get(emu, f"/api/2.0/sql/statements/{slow['statement_id']}").json()["status"]["state"]
            == "CANCELED"
        )


def test_cli_prints_the_url_and_serves(tmp_path: Path) -> None:
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "dataops_intelligence.emulator", "--port", "0", "--token", TOKEN],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        meta = requests.get(f"{url}/.well-known/databricks-config", timeout=10).json()
        assert meta["oidc_endpoint"] == f"{url}/oidc"
        assert requests.get(f"{url}/api/2.1/jobs/runs/list", headers=AUTH, timeout=10).json() == {
            "has_more": False
        }
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def test_legacy_single_task_submit_is_accepted(emulator: DatabricksEmulator, tmp_path: Path) -> None:
    body = {
        "run_name": "legacy",
        "new_cluster": {"spark_version": "15.4.x-scala2.12", "num_workers": 1},
        "spark_python_task": {"python_file": write_script(tmp_path, "a.py", "print('legacy')\n")},
    }
    run = _terminal_run(emulator, _post(emulator, "/api/2.1/jobs/runs/submit", body).json()["run_id"])
    assert run["state"]["result_state"] == "SUCCESS"
    assert run["tasks"][0]["new_cluster"]["num_workers"] == 1
    assert "legacy" in _get(emulator, "/api/2.1/jobs/runs/get-output", run_id=run["run_id"]).json()["logs"]
