"""The DAG folder imports cleanly and cheaply, and the monitoring DAG succeeds under dag.test()."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("pyspark", "pandas", "databricks.sdk", "delta", "numpy")


def test_dag_folder_imports_without_errors() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    dag = bag.dags["dataops_monitoring"]
    assert dag.max_active_runs == 1
    assert {t.task_id for t in dag.tasks} >= {"collect_job_runs", "collect_metrics_and_costs", "health_scores",
                                               "detect_anomalies"}
    assert all(t.retries >= 1 for t in dag.tasks)


def test_dag_files_and_provider_modules_import_no_heavy_modules() -> None:
    code = (
        "import sys, runpy, json\n"
        f"sys.path.insert(0, {str(REPO / 'dags')!r})\n"
        "import dataops_intelligence, dataops_intelligence.get_provider_info, dataops_intelligence.dag_factory\n"
        "import dataops_intelligence.operators.stages, dataops_intelligence.cli\n"
        f"for f in {sorted(str(p) for p in (REPO / 'dags').glob('*.py'))!r}:\n"
        "    runpy.run_path(f)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(h.split('.')[0] for h in HEAVY)!r}"
        " and (m.split('.')[0] != 'databricks' or m.startswith('databricks.sdk')))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == []


@pytest.mark.spark
@pytest.mark.airflow
def test_monitoring_dag_succeeds_under_dag_test(
    spark: SparkSession, airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from dataops_jobs import simulator
    from dataops_jobs.config import load_config
    from dataops_jobs.io import TableLocator, read_output

    summary = simulator.simulate_workspace(spark, str(tmp_path / "system"), jobs=3, days=1, seed=5)
    config_file = tmp_path / "base.yaml"
    config_file.write_text(yaml.safe_dump({
        "environment": "test",
        "local": {"system_tables_path": str(tmp_path / "system"), "warehouse_path": str(tmp_path / "wh")},
        "schedules": {"retries": 0},
    }))
    monkeypatch.setenv("DATAOPS_CONFIG", str(config_file))
    bag = DagBag(dag_folder=str(REPO / "dags"))
    dag = bag.get_dag("dataops_monitoring")
    run = dag.test(logical_date=summary.end + timedelta(minutes=1))
    assert run.state == "success"
    runs = read_output(spark, TableLocator(load_config(config_file)), "job_monitoring")
    assert runs is not None
    assert runs.count() == summary.runs


@pytest.mark.parametrize(
    ("compute", "tasks"),
    [
        ({"target": "databricks", "databricks": {"cluster_mode": "job_cluster"}},
         {"run_monitoring_cycle", "evaluate_and_send_alerts"}),
        ({"target": "databricks", "databricks": {"cluster_mode": "serverless"}},
         {"collect_job_runs", "collect_metrics_and_costs", "health_scores", "detect_anomalies", "evaluate_slas",
          "recommendations", "evaluate_and_send_alerts"}),
    ],
)
def test_a_job_cluster_cycle_is_one_task_and_keeps_the_health_asset(
    tmp_path: Path, compute: dict[str, object], tasks: set[str]
) -> None:
    from dataops_intelligence.dag_factory import build_monitoring_dag

    config_file = tmp_path / "base.yaml"
    config_file.write_text(yaml.safe_dump({"environment": "test", "compute": compute}))
    dag = build_monitoring_dag(str(config_file))
    assert set(dag.task_ids) == tasks
    writer = dag.get_task("run_monitoring_cycle" if "run_monitoring_cycle" in tasks else "health_scores")
    assert [a.name for a in writer.outlets] == ["dataops_intelligence.monitoring.job_health_scores"]
    assert dag.get_task("evaluate_and_send_alerts").upstream_task_ids <= tasks
    assert dag.get_task("evaluate_and_send_alerts").upstream_task_ids
