"""Pure payload builders: tokens, compute modes, the one-cluster cycle, result parsing (no Airflow/HTTP)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from dataops_intelligence.operators import databricks_payload as p
from dataops_jobs.config import Config, load_config_from_dict

START = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)
END = datetime(2026, 1, 5, 10, 30, tzinfo=timezone.utc)


def _compute(**kw: object) -> object:
    return Config.model_validate({"compute": {"databricks": kw}}).compute.databricks


def test_token_is_stable_short_and_changes_with_the_try() -> None:
    token = p.idempotency_token("dag", "task", "run_1", 1)
    assert token == p.idempotency_token("dag", "task", "run_1", 1)
    assert len(token) <= 64
    assert token != p.idempotency_token("dag", "task", "run_1", 2)
    assert token != p.idempotency_token("dag", "task2", "run_1", 1)


def test_parameters_round_trip_the_config() -> None:
    config = Config()
    params = p.job_parameters("health", p.job_config_json(config), START, END)
    assert params[0] == "health"
    assert params[params.index("--interval-end") + 1] == END.isoformat()
    assert load_config_from_dict(json.loads(params[2]), source="test") == config


@pytest.mark.parametrize("task_type", ["spark_python_task", "python_wheel_task"])
def test_job_cluster_mode_shares_one_cluster_across_the_cycle(task_type: str) -> None:
    compute = _compute(cluster_mode="job_cluster", code_path="/Volumes/c/s/v/code", num_workers=0)
    params = {s: [s] for s in p.CYCLE_DEPENDENCIES}
    payload = p.cycle_payload(list(p.CYCLE_DEPENDENCIES), params, compute, task_type, "n", "tok")  # type: ignore[arg-type]
    assert [c["job_cluster_key"] for c in payload["job_clusters"]] == [p.JOB_CLUSTER_KEY]
    assert payload["job_clusters"][0]["new_cluster"]["spark_conf"]["spark.master"] == "local[*]"
    assert {t["job_cluster_key"] for t in payload["tasks"]} == {p.JOB_CLUSTER_KEY}
    deps = {t["task_key"]: [d["task_key"] for d in t.get("depends_on", [])] for t in payload["tasks"]}
    assert deps == {"collect_runs": [], "collect_metrics": ["collect_runs"], "health": ["collect_metrics"],
                    "anomalies": ["collect_metrics"], "sla": ["collect_runs"],
                    "recommendations": ["collect_metrics"]}
    assert all(t["libraries"] == [{"whl": "/Volumes/c/s/v/code/" + p.wheel_file_name()}] for t in payload["tasks"])
    assert all(task_type in t for t in payload["tasks"])
    assert payload["idempotency_token"] == "tok"


def test_serverless_and_existing_cluster_modes() -> None:
    serverless = p.stage_payload("health", ["health"], _compute(), "python_wheel_task", "n", "t")  # type: ignore[arg-type]
    (env,) = serverless["environments"]
    assert env["spec"]["dependencies"][0].endswith(p.wheel_file_name())
    (task,) = serverless["tasks"]
    assert task["environment_key"] == env["environment_key"]
    assert task["python_wheel_task"] == {"package_name": "dataops_intelligence_jobs", "entry_point": "dataops-job",
                                         "parameters": ["health"]}
    assert "job_clusters" not in serverless
    existing = p.stage_payload("health", ["health"], _compute(cluster_mode="existing_cluster",
                               existing_cluster_id="0101-abc"), "spark_python_task", "n", "t")  # type: ignore[arg-type]
    (task,) = existing["tasks"]
    assert task["existing_cluster_id"] == "0101-abc"
    assert task["spark_python_task"]["python_file"].endswith("/" + p.ENTRY_SCRIPT_NAME)


def test_parse_result_and_error_text() -> None:
    logs = "noise\nDATAOPS_RESULT {\"a\": 1}\nmore\nDATAOPS_RESULT {\"b\": 2}\n"
    assert p.parse_result(logs) == {"b": 2}
    assert p.parse_result("nothing") is None
    assert p.parse_result("DATAOPS_RESULT not-json") is None
    trace = "\n".join(f"line {i}" for i in range(100))
    text = p.error_text("ValueError: boom", trace, max_lines=3)
    assert text.splitlines() == ["ValueError: boom", "line 97", "line 98", "line 99"]


def test_dbu_estimate_formula() -> None:
    assert p.cycle_dbu_estimate(11, 1, 1.0) == pytest.approx(2 * 11 / 60, abs=1e-4)
    assert p.cycle_dbu_estimate(60, 0, 0.75) == 0.75
