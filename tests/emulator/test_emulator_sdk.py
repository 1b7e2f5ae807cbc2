"""databricks-sdk ``WorkspaceClient`` against the emulator: PAT, OAuth M2M, jobs and SQL."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.jobs import RunLifeCycleState, RunResultState, SparkPythonTask, SubmitTask
from databricks.sdk.service.sql import StatementParameterListItem, StatementState
from emulator_helpers import OAUTH_CLIENT, write_script

if TYPE_CHECKING:
    from pathlib import Path

    from dataops_intelligence.emulator import DatabricksEmulator


@pytest.fixture(autouse=True)
def _isolated_sdk_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the developer's DATABRICKS_* variables and ~/.databrickscfg out of the tests."""
    import os

    for name in list(os.environ):
        if name.startswith("DATABRICKS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))


def _pat_client(emulator: DatabricksEmulator) -> WorkspaceClient:
    return WorkspaceClient(host=emulator.url, token=emulator.token, auth_type="pat")


def test_jobs_submit_get_output_and_list(
    emulator: DatabricksEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="databricks.sdk")
    w = _pat_client(emulator)
    script = write_script(tmp_path, "job.py", "import sys\nprint('sdk-run', *sys.argv[1:])\n")
    task = SubmitTask(
        task_key="main", spark_python_task=SparkPythonTask(python_file=script, parameters=["x"])
    )
    run = w.jobs.submit(run_name="sdk", tasks=[task]).result(timeout=timedelta(seconds=30))
    assert run.state is not None
    assert run.state.life_cycle_state == RunLifeCycleState.TERMINATED
    assert run.state.result_state == RunResultState.SUCCESS
    assert run.tasks
    assert run.tasks[0].run_id
    output = w.jobs.get_run_output(run.tasks[0].run_id)
    assert output.logs is not None
    assert "sdk-run x" in output.logs
    assert run.run_id is not None
    assert w.jobs.get_run(run.run_id).run_page_url == f"{emulator.url}/#job/{run.job_id}/run/{run.run_id}"
    assert [r.run_id for r in w.jobs.list_runs()] == [run.run_id]
    assert any(r.path == "/api/2.2/jobs/runs/submit" for r in emulator.requests)
    assert not [r for r in caplog.records if "host metadata" in r.getMessage()]


def test_oauth_m2m_service_principal(emulator: DatabricksEmulator, tmp_path: Path) -> None:
    client_id, secret = OAUTH_CLIENT
    w = WorkspaceClient(host=emulator.url, client_id=client_id, client_secret=secret, auth_type="oauth-m2m")
    script = write_script(tmp_path, "job.py", "")
    run = w.jobs.submit(
        run_name="sp", tasks=[SubmitTask(task_key="t", spark_python_task=SparkPythonTask(python_file=script))]
    ).result(timeout=timedelta(seconds=30))
    assert run.creator_user_name == client_id
    paths = [(r.path, r.status) for r in emulator.requests]
    assert ("/oidc/v1/token", 200) in paths
    assert ("/api/2.2/jobs/runs/submit", 200) in paths
    bad = WorkspaceClient(
        host=emulator.url, client_id=client_id, client_secret="wrong", auth_type="oauth-m2m"
    )
    with pytest.raises(Exception, match="invalid_client"):
        list(bad.jobs.list_runs())


def test_statement_execution(emulator: DatabricksEmulator) -> None:
    w = _pat_client(emulator)
    ok = w.statement_execution.execute_statement(
        statement="SELECT 1", warehouse_id="emu-wh", wait_timeout="10s"
    )
    assert ok.status is not None
    assert ok.status.state == StatementState.SUCCEEDED
    assert ok.result is not None
    assert ok.result.data_array == [["1"]]
    assert ok.manifest is not None
    assert ok.manifest.schema is not None
    assert ok.manifest.schema.columns
    assert ok.manifest.schema.columns[0].name == "1"
    params = [StatementParameterListItem(name="who", value="sdk")]
    named = w.statement_execution.execute_statement(
        statement="SELECT :who AS who", warehouse_id="w", parameters=params
    )
    assert named.result is not None
    assert named.result.data_array == [["sdk"]]
    failed = w.statement_execution.execute_statement(
        statement="SELECT * FROM system.billing.usage", warehouse_id="w"
    )
    assert failed.status is not None
    assert failed.status.state == StatementState.FAILED
    assert failed.status.error is not None
    assert "EMULATOR_UNSUPPORTED_SQL" in (failed.status.error.message or "")
