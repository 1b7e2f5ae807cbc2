"""Operators against the emulator through the real DatabricksHook and trigger (fake printing entry script).

HTTP-level: the submitted task is a tiny Python script, so these tests take seconds; the real Spark
chain is in test_remote_tables.py.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import TaskDeferred
from operator_helpers import (
    CONN_ID,
    END,
    OAUTH_CLIENT,
    START,
    FakeTI,
    context,
    first_event,
    wait_for,
    write_config,
)

from dataops_intelligence.emulator import FaultPlan
from dataops_intelligence.links import DataOpsRunLink
from dataops_intelligence.operators.databricks import DataOpsCycleOperator
from dataops_intelligence.operators.remote import RemoteRunError
from dataops_intelligence.operators.stages import HealthScoreOperator
from dataops_intelligence.triggers.databricks import DataOpsExecutionTrigger

if TYPE_CHECKING:
    from pathlib import Path

    from dataops_intelligence.emulator import DatabricksEmulator


_TI_KEY: Any = None  # the link reads the operator, not the task instance


def _execute_to_the_end(op: HealthScoreOperator) -> dict[str, Any]:
    """execute(); when it defers, run the trigger in line and resume, as the triggerer would."""
    try:
        return op.execute(context())
    except TaskDeferred as deferred:
        return op.execute_complete(context(), first_event(deferred.trigger), **(deferred.kwargs or {}))


def _behave(code_dir: Path, **modes: str) -> None:
    (code_dir / "behaviour.json").write_text(json.dumps(modes))


def test_non_deferrable_stage_succeeds_with_breadcrumbs(
    emulator: DatabricksEmulator, code_dir: Path, tmp_path: Path
) -> None:
    op = HealthScoreOperator(task_id="health", config_path=write_config(tmp_path / "c.yaml"), deferrable=False)
    ti = FakeTI(task_id="health")
    result = op.execute(context(ti))
    (run_id,) = emulator.run_ids[:1]
    assert result["target"] == "databricks"
    assert result["stage"] == "health"
    assert result["run_id"] == run_id == ti.xcoms["run_id"]
    assert result["rows_written"] == {"fake": 1}
    assert ti.xcoms["run_page_url"] == result["run_page_url"]
    assert ti.xcoms["run_page_url"].startswith(emulator.url)
    assert ti.xcoms["run_page_url"].endswith(f"/run/{run_id}")
    assert DataOpsRunLink().get_link(op, ti_key=_TI_KEY) == ti.xcoms["run_page_url"]
    argv = json.loads((code_dir / "calls.log").read_text().splitlines()[0])
    assert argv[0] == "health"
    assert argv[argv.index("--interval-start") + 1] == START.isoformat()
    assert argv[argv.index("--interval-end") + 1] == END.isoformat()
    assert json.loads(argv[2])["compute"]["target"] == "databricks"
    submit = next(r for r in emulator.requests if r.endpoint == "jobs/runs/submit")
    assert submit.path == "/api/2.2/jobs/runs/submit"


def test_deferrable_stage_defers_to_a_serializable_trigger_and_completes(
    emulator: DatabricksEmulator, tmp_path: Path
) -> None:
    op = HealthScoreOperator(task_id="health", config_path=write_config(tmp_path / "c.yaml"))
    ti = FakeTI(task_id="health")
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context(ti))
    trigger = deferred.value.trigger
    assert isinstance(trigger, DataOpsExecutionTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "dataops_intelligence.triggers.databricks.DataOpsExecutionTrigger"
    rebuilt = DataOpsExecutionTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs["run_id"] == ti.xcoms["run_id"]
    json.dumps(kwargs)  # JSON-safe across the trigger boundary
    event = first_event(rebuilt)
    assert deferred.value.method_name == "execute_complete"
    resumed = HealthScoreOperator(task_id="health", config_path=op.config_path)
    result = resumed.execute_complete(context(ti), event, **(deferred.value.kwargs or {}))
    assert result["run_id"] == kwargs["run_id"]
    assert result["rows_written"] == {"fake": 1}
    assert DataOpsRunLink().get_link(resumed, ti_key=_TI_KEY) == ti.xcoms["run_page_url"]


def test_run_link_of_a_task_that_submitted_nothing_is_empty_without_an_xcom_lookup() -> None:
    """A local task has no run page. Airflow resolves extra links when every task finishes; looking
    up a ``run_page_url`` XCom that was never pushed logged "XCom not found" as an error. Outside a
    task there is no XCom backend to ask, so a look-up would raise here."""
    op = HealthScoreOperator(task_id="health", compute_target="local")
    assert DataOpsRunLink().get_link(op, ti_key=_TI_KEY) == ""


@pytest.mark.parametrize("event", [None, {"run_id": "x"}, {"run_id": 1, "run_state": "not json"},
                                   {"run_id": 1, "run_state": json.dumps({"life_cycle_state": "RUNNING"})}])
def test_execute_complete_rejects_bad_events(event: object) -> None:
    op = HealthScoreOperator(task_id="health")
    with pytest.raises(RemoteRunError):
        op.execute_complete(context(), event)  # type: ignore[arg-type]


@pytest.mark.parametrize("deferrable", [False, True])
def test_failed_run_raises_with_the_jobs_error_text(
    emulator: DatabricksEmulator, code_dir: Path, tmp_path: Path, deferrable: bool,
    capfd: pytest.CaptureFixture[str],
) -> None:
    _behave(code_dir, health="fail")
    op = HealthScoreOperator(task_id="health", config_path=write_config(tmp_path / "c.yaml"),
                             deferrable=deferrable)
    with pytest.raises(RemoteRunError) as failed:
        _execute_to_the_end(op)
    message = str(failed.value)
    assert "RuntimeError: stage health exploded: table job_run_timeline has no column period_end_time" in message
    assert "Traceback (most recent call last)" in message
    assert "/run/" in message
    out, err = capfd.readouterr()
    assert "exploded: table job_run_timeline" in out + err  # the task log (structlog writes to stdout)


def test_submit_committed_then_503_is_one_run(emulator: DatabricksEmulator, tmp_path: Path) -> None:
    emulator.set_faults(FaultPlan(submit_commit_then_fail=2, retry_after_seconds=0))
    op = HealthScoreOperator(task_id="health", config_path=write_config(tmp_path / "c.yaml"), deferrable=False)
    result = op.execute(context())
    assert emulator.run_ids[:1] == [result["run_id"]]
    assert [r.status for r in emulator.requests if r.endpoint == "jobs/runs/submit"] == [503, 503, 200]
    assert len([r for r in emulator.run_ids if r == result["run_id"]]) == 1
    assert len(_top_level_runs(emulator)) == 1


def _top_level_runs(emulator: DatabricksEmulator) -> list[int]:
    from airflow.providers.databricks.hooks.databricks import DatabricksHook

    listed = DatabricksHook(CONN_ID)._do_api_call(("GET", "2.2/jobs/runs/list"), {"limit": 25})
    return [int(r["run_id"]) for r in listed.get("runs", [])]


def test_a_new_try_is_a_new_run_and_the_same_try_is_not(emulator: DatabricksEmulator, tmp_path: Path) -> None:
    op = HealthScoreOperator(task_id="health", config_path=write_config(tmp_path / "c.yaml"), deferrable=False)
    first = op.execute(context(FakeTI(try_number=1)))["run_id"]
    again = op.execute(context(FakeTI(try_number=1)))["run_id"]
    retry = op.execute(context(FakeTI(try_number=2)))["run_id"]
    assert first == again
    assert retry != first
    assert len(_top_level_runs(emulator)) == 2


def test_on_kill_cancels_the_run(emulator: DatabricksEmulator, code_dir: Path, tmp_path: Path) -> None:
    _behave(code_dir, health="sleep")
    op = HealthScoreOperator(task_id="health", config_path=write_config(tmp_path / "c.yaml"), deferrable=False)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            op.execute(context())
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    wait_for(lambda: (code_dir / "calls.log").exists() and op.databricks_run_id)
    op.on_kill()
    worker.join(30)
    assert not worker.is_alive()
    assert isinstance(errors[0], RemoteRunError)
    assert "CANCELED" in str(errors[0])
    assert any(r.endpoint == "jobs/runs/cancel" and r.status == 200 for r in emulator.requests)


def test_cycle_is_one_multi_task_run_on_one_cluster(
    emulator: DatabricksEmulator, code_dir: Path, tmp_path: Path
) -> None:
    emulator.set_faults(FaultPlan(seed=3, error_rate=0.3, retry_after_seconds=0))
    op = DataOpsCycleOperator(task_id="cycle", config_path=write_config(tmp_path / "c.yaml"), deferrable=False)
    result = op.execute(context())
    assert set(result["tasks"]) == {"collect_runs", "collect_metrics", "health", "anomalies", "sla",
                                   "recommendations"}
    assert all(r["rows_written"] == {"fake": 1} for r in result["tasks"].values())
    assert any(r.fault for r in emulator.requests)
    emulator.set_faults(FaultPlan())  # the checks below read the run back without injected faults
    assert _top_level_runs(emulator) == [result["run_id"]]
    from airflow.providers.databricks.hooks.databricks import DatabricksHook

    run = DatabricksHook(CONN_ID).get_run(result["run_id"])
    assert {t["cluster_instance"]["cluster_id"] for t in run["tasks"]} == {run["cluster_instance"]["cluster_id"]}
    calls = [json.loads(line)[0] for line in (code_dir / "calls.log").read_text().splitlines()]
    assert sorted(calls) == ["anomalies", "collect_metrics", "collect_runs", "health", "recommendations", "sla"]
    # The task graph: runs first; metrics before health and anomalies; SLAs need only the runs.
    assert calls[0] == "collect_runs"
    assert calls.index("collect_metrics") < min(calls.index("health"), calls.index("anomalies"))


def test_service_principal_oauth_never_logs_the_secret(
    emulator: DatabricksEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
) -> None:
    client_id, secret = OAUTH_CLIENT
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps({
        "conn_type": "databricks", "host": emulator.host, "port": emulator.port, "schema": "http",
        "login": client_id, "password": secret, "extra": {"service_principal_oauth": True}}))
    caplog.set_level(logging.DEBUG)
    op = HealthScoreOperator(task_id="health", config_path=write_config(tmp_path / "c.yaml"))
    result = _execute_to_the_end(op)
    assert result["rows_written"] == {"fake": 1}
    token_calls = [r for r in emulator.requests if r.path == "/oidc/v1/token"]
    assert token_calls
    assert all(r.status == 200 for r in token_calls)
    out, err = capfd.readouterr()
    for text in (caplog.text, out, err):
        assert secret not in text
        assert "emu-oauth-" not in text
        assert emulator.token not in text
