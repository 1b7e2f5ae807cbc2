"""The real chain: the monitoring DAG on compute ``databricks`` (operator -> official hook -> HTTP ->
emulator -> Spark job subprocess -> Delta) leaves the same tables as compute ``local``; spark-submit too.

Spark processes are expensive (15-30 s each), so the module shares one simulated workspace, one
local baseline and one metastore; the databricks DAG run doubles as the 30 %-faults run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from alerting_support import Receiver
from operator_helpers import CODE_PATH, CONN_ID, FakeTI, write_config
from remote_support import (
    MetastoreMirror,
    metastore_conf,
    register_sources,
    spark_env,
    stable_rows,
    table_rows,
    write_conf_dir,
)

from dataops_intelligence.emulator import DatabricksEmulator, FaultPlan
from dataops_intelligence.operators.databricks_payload import ENTRY_SCRIPT, ENTRY_SCRIPT_NAME

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from pyspark.sql import SparkSession

pytestmark = [pytest.mark.spark, pytest.mark.airflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DAG_ID = "dataops_monitoring"
STAGE_TASKS = ("collect_job_runs", "collect_metrics_and_costs", "health_scores", "detect_anomalies", "recommendations")
TASKS = (*STAGE_TASKS, "evaluate_slas", "evaluate_and_send_alerts")
TABLES = ("job_monitoring", "resource_metrics", "job_costs", "job_health_scores", "job_anomalies", "_watermarks",
          "sla_breaches")
#: Alert tables and their columns that do not carry wall-clock times or random ids.
ALERT_COLUMNS = {
    "alert_state": ["fingerprint", "rule", "alert_type", "status", "severity", "job_id", "labels"],
    "alert_history": ["fingerprint", "rule", "alert_type", "status", "severity", "job_id", "channels_sent"],
    "alert_outbox": ["channel", "status", "fingerprints"],
}
#: Rules that fire on this small workspace (every job's last run is longer than 30 s), sent to a loopback
#: webhook: the alert tables of both targets then have rows to compare.
RULES = {
    "policy": {"group_by": ["rule", "workspace_id"], "group_wait_seconds": 0},
    "channels": {"hook": {"type": "webhook", "conn_id": "remote_tables_hook", "options": {"endpoint": "/alerts"}}},
    "rules": [
        {"name": "run_too_long", "kind": "sla_duration", "params": {"max_duration_minutes": 0.5}, "routes": ["hook"]},
        {"name": "job_failed", "kind": "job_failure", "severity": "error", "routes": ["hook"]},
    ],
}
#: The loopback receiver's connection; the password is the webhook's HMAC signing key (a fake one).
HOOK_CONN = {"conn_type": "http", "host": "127.0.0.1", "schema": "http", "password": "remote-tables-signing-key"}
DBX_COMPUTE = {"cluster_mode": "job_cluster", "code_path": CODE_PATH, "polling_period_seconds": 1,
               "num_workers": 1, "warehouse_id": "emulated-warehouse"}


@dataclass(frozen=True)
class Workspace:
    """The shared simulated workspace, local baseline and metastore."""

    root: Path
    logical_date: datetime
    start: datetime
    end: datetime
    conf: dict[str, str]
    conf_dir: Path
    sections: dict[str, Any]
    receiver: Receiver

    def local_table(self, name: str) -> Path:
        return self.root / "wh" / "dataops_intelligence" / "monitoring" / name

    def hive_table(self, schema: str, name: str) -> Path:
        return self.root / "hive-warehouse" / f"{schema}.db" / name

    def remote_config(self, path: Path, schema: str, **sections: Any) -> str:
        storage = {"source_catalog": "spark_catalog", "catalog_name": "spark_catalog", "schema_name": schema}
        return write_config(path, storage=storage, **{**self.sections, **sections})


def _run_dag(config_file: str, logical_date: datetime, monkeypatch: pytest.MonkeyPatch) -> Any:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:  # dag.test() of the same logical date must start afresh
        session.query(DagRun).filter(DagRun.dag_id == DAG_ID).delete()
    monkeypatch.setenv("DATAOPS_CONFIG", config_file)
    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag(DAG_ID)
    # dag.test() of a DAG with a Deadline Alert fails in DagRun.update_state (deadline_alert.get_by_id
    # receives the alert's dict instead of its UUID; Airflow 3.3.2). The deadline is not under test here.
    dag.deadline = None
    return dag.test(logical_date=logical_date)


def _list_runs(conn_id: str) -> list[dict[str, Any]]:
    from airflow.providers.databricks.hooks.databricks import DatabricksHook

    return list(DatabricksHook(conn_id)._do_api_call(("GET", "2.2/jobs/runs/list"), {"limit": 25}).get("runs", []))


def _get_run(conn_id: str, run_id: int) -> dict[str, Any]:
    from airflow.providers.databricks.hooks.databricks import DatabricksHook

    return dict(DatabricksHook(conn_id).get_run(run_id))


@pytest.fixture(scope="module")
def workspace(
    spark: SparkSession, airflow_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    """Simulate, run the DAG locally (the baseline), register the sources in the metastore."""
    from dataops_jobs import simulator

    root = tmp_path_factory.mktemp("remote")
    summary = simulator.simulate_workspace(spark, str(root / "system"), jobs=3, days=1, seed=5)
    receiver = Receiver().start()
    jobs = spark.read.format("delta").load(str(root / "system" / "lakeflow" / "jobs"))
    name = sorted(r[0] for r in jobs.select("name").distinct().collect() if r[0])[0]
    sections: dict[str, Any] = {"sla": {"jobs": [{"job_name": name, "max_duration_minutes": 0.5}]}}
    (root / "rules.yaml").write_text(yaml.safe_dump(RULES))
    local_file = root / "local.yaml"
    local_file.write_text(yaml.safe_dump({
        "environment": "test", "schedules": {"retries": 0}, **sections,
        "local": {"system_tables_path": str(root / "system"), "warehouse_path": str(root / "wh")}}))
    logical_date = summary.end + timedelta(minutes=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_REMOTE_TABLES_HOOK", json.dumps(
            {**HOOK_CONN, "port": receiver.port}))
        mp.setenv("DATAOPS_ALERTING_RULES", str(root / "rules.yaml"))
        run = _run_dag(str(local_file), logical_date, mp)
    assert {ti.task_id: ti.state for ti in run.get_task_instances()} == dict.fromkeys(TASKS, "success")
    conf = metastore_conf(root)
    conf_dir = write_conf_dir(root / "spark-conf", conf)
    register_sources(conf_dir, root / "system", ["mon_dbx", "mon_submit"])
    yield Workspace(root, logical_date, run.data_interval_start, run.data_interval_end, conf, conf_dir,
                    sections, receiver)
    receiver.stop()


def test_monitoring_dag_on_databricks_with_30pct_faults_matches_local(
    workspace: Workspace, spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole DAG: one multi-task run on one job cluster (runs, metrics, health, anomalies, SLAs),
    then the alert cycle in the worker over the SQL warehouse; 30 % of API calls fail transiently."""
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / ENTRY_SCRIPT_NAME).write_text(ENTRY_SCRIPT)
    faults = FaultPlan(seed=11, error_rate=0.3, retry_after_seconds=0, submit_commit_then_fail=1)
    warehouse = MetastoreMirror(spark, workspace.root, "mon_dbx")
    sent_before = len(workspace.receiver.delivered())
    with DatabricksEmulator(env=spark_env(workspace.conf_dir), path_mapping={CODE_PATH: str(code_dir)},
                            faults=faults, sql_executor=warehouse) as emu:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", emu.airflow_connection_json())
        monkeypatch.setenv("AIRFLOW_CONN_REMOTE_TABLES_HOOK", json.dumps(
            {**HOOK_CONN, "port": workspace.receiver.port}))
        monkeypatch.setenv("DATAOPS_ALERTING_RULES", str(workspace.root / "rules.yaml"))
        monkeypatch.setenv("AIRFLOW__DATAOPS__DATABRICKS_RETRY_DELAY", "0.02")
        config_file = workspace.remote_config(tmp_path / "dbx.yaml", "mon_dbx", compute={"databricks": DBX_COMPUTE})
        run = _run_dag(config_file, workspace.logical_date, monkeypatch)
        requests = emu.requests
        listed = _list_runs(CONN_ID)
        cycle_run = _get_run(CONN_ID, listed[0]["run_id"])
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == dict.fromkeys(["run_monitoring_cycle", "evaluate_and_send_alerts"], "success")
    submits = [r for r in requests if r.endpoint == "jobs/runs/submit"]
    assert any(r.status != 200 for r in submits)  # a submit failed after committing, and was retried
    # One cycle, one run, one cluster: the retried submit did not start a second run.
    assert [r["run_name"] for r in listed] == [f"dataops:{DAG_ID}.run_monitoring_cycle"]
    assert len(cycle_run["job_clusters"]) == 1
    tasks = cycle_run["tasks"]
    assert sorted(t["task_key"] for t in tasks) == ["anomalies", "collect_metrics", "collect_runs", "health", "recommendations",
                                                            "sla"]
    assert {t["job_cluster_key"] for t in tasks} == {cycle_run["job_clusters"][0]["job_cluster_key"]}
    assert len({t["cluster_instance"]["cluster_id"] for t in tasks}) == 1
    assert {r.status for r in requests if r.fault} <= {429, 500, 503}
    assert len([r for r in requests if r.fault]) >= 5
    assert any(r.fault for r in requests if r.endpoint.startswith("sql/statements"))  # the SQL client retried
    assert any(s.startswith("MERGE INTO `spark_catalog`.`mon_dbx`.`alert_state`") for s in warehouse.executor.statements)
    for name in TABLES:
        local = workspace.local_table(name)
        if not local.exists():
            continue
        assert table_rows(spark, workspace.hive_table("mon_dbx", name)) == table_rows(spark, local), name
    assert table_rows(spark, workspace.local_table("sla_breaches"))  # the SLA stage ran on both targets
    for name, columns in ALERT_COLUMNS.items():
        local_rows = stable_rows(spark, workspace.local_table(name), columns)
        assert local_rows, name
        assert stable_rows(spark, workspace.hive_table("mon_dbx", name), columns) == local_rows, name
    assert len(workspace.receiver.delivered()) == 2 * sent_before > 0  # the same notifications, once each


def test_spark_submit_stage_matches_local(
    workspace: Workspace, spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataops_intelligence.operators.stages import CollectJobRunsOperator

    monkeypatch.setenv("AIRFLOW_CONN_SPARK_LOCAL_TEST", '{"conn_type": "spark", "host": "local[1]"}')
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    config_file = workspace.remote_config(
        tmp_path / "submit.yaml", "mon_submit",
        compute={"target": "spark_submit", "spark_submit": {"conn_id": "spark_local_test", "conf": workspace.conf}})
    op = CollectJobRunsOperator(task_id="collect_job_runs", config_path=config_file)
    ctx = {"ti": FakeTI(), "data_interval_start": workspace.start, "data_interval_end": workspace.end,
           "dag_run": None}
    result = op.execute(ctx)
    assert result["target"] == "spark_submit"
    assert result["stage"] == "collect_runs"
    assert table_rows(spark, workspace.hive_table("mon_submit", "job_monitoring")) == table_rows(
        spark, workspace.local_table("job_monitoring"))
    assert os.environ.get("SPARK_CONF_DIR") is None  # the test process's own Spark was left alone


def test_reuse_example_dag_runs_with_user_tasks(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("DATAOPS_CONFIG", str(workspace.root / "local.yaml"))
    dag = DagBag(dag_folder=str(REPO / "dags" / "example_reuse_operators.py")).get_dag("example_reuse_operators")
    run = dag.test(logical_date=workspace.logical_date)
    assert run.state == "success"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == dict.fromkeys(["announce", "collect_job_runs", "collect_metrics", "report"], "success")
