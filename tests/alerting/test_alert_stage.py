"""AlertCycleOperator end to end on local Delta: crafted failure streak → webhook → alert_history.

Dedup survives restarts because every run builds a new operator, engine and store that read the
state back from Delta; a receiver that is down gets the alert from the next cycle's outbox.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from alerting_support import CANARY, FakeClock, Receiver, conn_env, free_port

from dataops_intelligence.alerting.channels.retry import RetryPolicy
from dataops_intelligence.alerting.delta_store import DeltaAlertStore
from dataops_intelligence.alerting.model import DeliveryStatus
from dataops_intelligence.operators.alerts import AlertCycleOperator
from dataops_jobs.config import load_config
from dataops_jobs.io import TableLocator, merge_into, read_output
from dataops_jobs.schemas.output import OUTPUT_TABLES

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark

END = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
START = END - timedelta(minutes=30)
SEED_COLUMNS = [
    "alert_id",
    "job_id",
    "alert_type",
    "severity",
    "message",
    "created_at",
    "resolved_at",
    "channels_sent",
]
RULES = {
    "policy": {"group_by": ["rule", "workspace_id"], "repeat_interval_minutes": 15},
    "channels": {"hook": {"type": "webhook", "conn_id": "stage_hook", "options": {"endpoint": "/alerts"}}},
    "rules": [
        {
            "name": "job_failed",
            "kind": "job_failure",
            "severity": "error",
            "params": {"min_consecutive": 2, "critical_after": 3},
            "routes": ["hook"],
        }
    ],
}


def run_row(job_id: str, n: int, start: datetime, status: str) -> dict[str, Any]:
    failed = status == "FAILED"
    return {
        "job_id": job_id,
        "job_name": f"etl_{job_id}",
        "run_id": f"{job_id}-{n}",
        "status": status,
        "start_time": start,
        "end_time": start + timedelta(minutes=4),
        "duration_minutes": 4.0,
        "cluster_id": f"c-{job_id}-{n}",
        "tags": {"team": "data"},
        "workspace_id": "ws1",
        "result_state": status,
        "termination_code": "RUN_EXECUTION_ERROR" if failed else "SUCCESS",
        "attempts": 1,
        "is_failed": failed,
    }


def write_runs(spark: SparkSession, config_file: Path) -> None:
    """Job 101: a success, then three failures (the last inside the interval); job 102 is healthy."""
    t0 = END - timedelta(hours=3)
    rows = [run_row("101", 0, t0, "SUCCEEDED")]
    rows += [
        run_row("101", i, t0 + timedelta(hours=i) - timedelta(minutes=10 * (i == 3)), "FAILED")
        for i in (1, 2, 3)
    ]
    rows += [run_row("102", i, t0 + timedelta(hours=i), "SUCCEEDED") for i in range(3)]
    spec = OUTPUT_TABLES["job_monitoring"]
    ddl = ", ".join(f"`{c.name}` {c.type}" for c in spec.columns)
    df = spark.createDataFrame([tuple(r.get(c) for c in spec.column_names) for r in rows], ddl)
    merge_into(spark, TableLocator(load_config(config_file)), "job_monitoring", df)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    config_file = tmp_path / "base.yaml"
    config_file.write_text(
        yaml.safe_dump(
            {
                "environment": "test",
                "local": {
                    "system_tables_path": str(tmp_path / "system"),
                    "warehouse_path": str(tmp_path / "wh"),
                },
            }
        )
    )
    rules_file = tmp_path / "alerting_rules.yaml"
    rules_file.write_text(yaml.safe_dump(RULES))
    monkeypatch.delenv("DATAOPS_ENV", raising=False)
    return config_file, rules_file


class FakeClockCycle(AlertCycleOperator):
    """The operator with an injected clock and a fast retry policy (the manager_kwargs seam)."""

    clock: FakeClock

    def manager_kwargs(self) -> dict[str, Any]:
        return {
            "clock": self.clock,
            "sleep": self.clock.sleep,
            "retry": RetryPolicy(max_attempts=2, base_delay=0.1),
        }


def cycle(project: tuple[Path, Path], clock: FakeClock, end: datetime = END) -> dict[str, Any]:
    """A brand-new operator (as after a worker restart) run for the interval ending at ``end``."""
    config_file, rules_file = project
    op = FakeClockCycle(
        task_id="evaluate_and_send_alerts", config_path=str(config_file), rules_path=str(rules_file)
    )
    op.clock = clock
    context: Any = {"data_interval_start": end - timedelta(minutes=30), "data_interval_end": end}
    result = op.execute(context)
    json.dumps(result)  # XCom-safe
    return result


def table_json(spark: SparkSession, locator: TableLocator, name: str) -> str:
    df = read_output(spark, locator, name)
    return "" if df is None else json.dumps([r.asDict(recursive=True) for r in df.collect()], default=str)


def store_for(spark: SparkSession, config_file: Path) -> DeltaAlertStore:
    return DeltaAlertStore.from_config(spark, load_config(config_file))


def hook_conn(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    conn_env(
        monkeypatch,
        "stage_hook",
        {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http", "password": CANARY},
    )


def test_failure_streak_alerts_once_and_dedup_survives_restart(
    spark: SparkSession, project: tuple[Path, Path], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook_conn(monkeypatch, receiver.port)
    write_runs(spark, project[0])
    clock = FakeClock(END + timedelta(minutes=1))

    first = cycle(project, clock)
    assert first == {
        "interval_end": END.isoformat(),
        "replay": False,
        "candidates": 1,
        "notifications": 1,
        "sent": 1,
        "failed": 0,
        "deferred": 0,
    }
    (got,) = receiver.delivered()
    payload = got.json()
    (alert,) = payload["alerts"]
    assert alert["job_id"] == "101"
    assert alert["severity"] == "critical"  # three consecutive failures ≥ critical_after
    assert "failed 3 consecutive time(s)" in alert["message"]
    assert payload["dedup_key"]

    history = read_output(spark, TableLocator(load_config(project[0])), "alert_history")
    assert history is not None
    assert history.columns[: len(SEED_COLUMNS)] == SEED_COLUMNS
    (row,) = history.collect()
    assert (row["job_id"], row["alert_type"], row["status"]) == ("101", "job_failure", "firing")
    assert row["channels_sent"] == ["hook"]
    assert row["resolved_at"] is None
    assert [d.split(":")[:2] for d in row["deliveries"]] == [["hook", "sent"]]
    assert row["fingerprint"] == alert["fingerprint"]

    # Same interval again, fresh operator/engine/store: state comes back from Delta, nothing is sent.
    clock.advance(120)
    again = cycle(project, clock)
    assert (again["candidates"], again["notifications"], again["sent"]) == (1, 0, 0)
    assert len(receiver.requests) == 1
    store = store_for(spark, project[0])
    assert [d.status for d in store.load_deliveries()] == [DeliveryStatus.SENT]

    # An older interval than the latest evaluated is a replay: outbox flush only, no evaluation.
    old = cycle(project, clock, END - timedelta(hours=2))
    assert old["replay"] is True
    assert old["candidates"] == 0
    assert len(receiver.requests) == 1

    tables = ("alert_state", "alert_outbox", "alert_history", "alert_cycles")
    assert CANARY not in "\n".join(table_json(spark, store.locator, name) for name in tables)


def test_receiver_down_then_next_cycle_delivers(
    spark: SparkSession, project: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    hook_conn(monkeypatch, port)
    write_runs(spark, project[0])
    clock = FakeClock(END + timedelta(minutes=1))

    down = cycle(project, clock)
    assert (down["notifications"], down["sent"], down["failed"]) == (1, 0, 1)  # the task still succeeds
    (pending,) = store_for(spark, project[0]).load_outbox()
    assert pending.status is DeliveryStatus.FAILED
    assert pending.attempts == 2
    assert "ConnectionError" in (pending.last_error or "")
    assert CANARY not in (pending.last_error or "")

    receiver = Receiver(port=port).start()
    try:
        clock.advance(minutes=5)  # past the redelivery delay, inside the 15-minute repeat interval
        up = cycle(project, clock, END + timedelta(minutes=30))
        assert (up["notifications"], up["sent"], up["failed"]) == (0, 1, 0)  # the outbox row, not a new one
        (got,) = receiver.delivered()
        assert got.json()["dedup_key"] == pending.delivery_id
    finally:
        receiver.stop()
    store = store_for(spark, project[0])
    assert store.load_outbox() == []
    (row,) = store.load_history()
    assert row["deliveries"].split(",")[0].startswith("hook:failed:")
    assert any(d.startswith("hook:sent:") for d in row["deliveries"].split(","))


def append(spark: SparkSession, locator: TableLocator, table: str, rows: list[dict[str, Any]]) -> None:
    """Crafted rows appended to an output table (cheaper than a MERGE; the schema from the registry)."""
    spec = OUTPUT_TABLES[table]
    ddl = ", ".join(f"`{c.name}` {c.type}" for c in spec.columns)
    df = spark.createDataFrame([tuple(r.get(c) for c in spec.column_names) for r in rows], ddl)
    path = locator.output(table).path
    assert path is not None
    df.write.format("delta").mode("append").save(path)


def test_rule_inputs_from_every_table(spark: SparkSession, project: tuple[Path, Path]) -> None:
    import dataops_jobs.schemas.analysis  # noqa: F401  (registers job_health_scores, job_anomalies)
    from dataops_intelligence.alerting.inputs import InputWindow, read_inputs
    from dataops_intelligence.alerting.rules import evaluate_rules
    from dataops_intelligence.alerting.rules_loader import load_settings
    from dataops_intelligence.alerting.sql import SparkSqlRunner
    from dataops_intelligence.notifiers import default_rules_path

    locator = TableLocator(load_config(project[0]))
    ago = lambda **kw: END - timedelta(**kw)  # noqa: E731
    score = {"workspace_id": "ws1", "trend": "degrading", "confidence": 1.0}
    append(
        spark,
        locator,
        "job_health_scores",
        [
            {
                **score,
                "job_id": "1",
                "job_name": "etl_1",
                "calculation_time": ago(hours=1),
                "health_score": 85.0,
            },
            {**score, "job_id": "1", "job_name": "etl_1", "calculation_time": ago(), "health_score": 55.0},
            {
                **score,
                "job_id": "2",
                "job_name": "etl_2",
                "calculation_time": ago(minutes=30),
                "health_score": 90.0,
            },
            {
                **score,
                "job_id": "2",
                "job_name": "etl_2",
                "calculation_time": ago(minutes=-10),
                "health_score": 5.0,
            },
        ],
    )
    anomaly = {"workspace_id": "ws1", "metric": "duration_minutes", "score": 0.9, "anomaly_type": "x"}
    append(
        spark,
        locator,
        "job_anomalies",
        [
            {
                **anomaly,
                "anomaly_id": "a1",
                "job_id": "1",
                "job_name": "etl_1",
                "cluster_id": "c1",
                "severity": "high",
                "detected_at": ago(minutes=10),
                "interval_end": END,
            },
            {
                **anomaly,
                "anomaly_id": "a2",
                "job_id": "1",
                "severity": "critical",
                "detected_at": ago(hours=2),
                "interval_end": ago(hours=2),  # found by an analysis cycle two hours ago
            },
            {
                **anomaly,
                "anomaly_id": "a3",
                "cluster_id": "c9",
                "metric": "memory_utilization",
                "severity": "low",
                "detected_at": ago(hours=30),  # a late run found now: what counts is when it was found
                "interval_end": END,
            },
            {
                **anomaly,
                "anomaly_id": "a4",
                "job_id": "1",
                "severity": "critical",
                "detected_at": ago(days=20),
                "interval_end": END,
                "backfilled": True,  # history found by a first deployment: recorded, never notified
            },
        ],
    )
    cost = {"workspace_id": "ws1", "job_id": "1", "currency_code": "USD"}
    append(
        spark,
        locator,
        "job_costs",
        [
            *(
                {**cost, "run_id": f"b{d}", "usage_end": ago(days=d), "list_cost": Decimal(10 + d)}
                for d in (1, 2, 3)
            ),
            {**cost, "run_id": "spike", "usage_end": ago(minutes=5), "list_cost": Decimal(40)},
        ],
    )
    append(
        spark,
        locator,
        "watermarks",
        [
            {"source": "job_run_timeline", "watermark": ago(hours=4), "rows_read": 3, "updated_at": ago()},
            # node samples keep arriving while runs stopped: the runs timeline is stale
            {"source": "node_timeline", "watermark": ago(minutes=5), "rows_read": 9, "updated_at": ago()},
        ],
    )
    late = run_row("1", 9, ago(minutes=20), "FAILED")
    late["end_time"] = END + timedelta(minutes=5)  # finished after the interval: still running as of END
    append(spark, locator, "job_monitoring", [late])

    inputs = read_inputs(SparkSqlRunner(spark), locator, InputWindow(START, END, since=START))
    after_gap = read_inputs(SparkSqlRunner(spark), locator, InputWindow(START, END, since=END - timedelta(hours=6)),
                            ["anomalies"])
    assert sorted(r["anomaly_id"] for r in after_gap["anomalies"]) == ["a1", "a2", "a3"]
    assert sorted(inputs) == ["anomalies", "costs", "freshness", "health", "recommendations", "runs", "sla_breaches"]
    health = {r["job_id"]: r for r in inputs["health"]}
    assert (health["1"]["health_score"], health["1"]["previous_score"]) == (55.0, 85.0)
    assert health["2"]["health_score"] == 90.0  # the score computed after END is not visible
    assert "previous_score" not in health["2"]
    anomalies = {r["anomaly_id"]: r for r in inputs["anomalies"]}
    assert sorted(anomalies) == ["a1", "a3"]
    assert (anomalies["a1"]["severity"], anomalies["a1"]["anomaly_severity"]) == ("error", "high")
    assert "cluster_id" not in anomalies["a1"]  # a job's anomalies are per job, not per job cluster
    assert anomalies["a3"]["cluster_id"] == "c9"
    (costs,) = inputs["costs"]
    assert (costs["run_id"], costs["cost"], costs["baseline_cost"], costs["job_name"]) == (
        "spike",
        40.0,
        12.0,
        "etl_1",
    )
    fresh = {r["source"]: r for r in inputs["freshness"]}
    assert datetime.fromisoformat(fresh["job_run_timeline"]["last_row_time"]) == END - timedelta(hours=4)
    (run,) = inputs["runs"]
    assert (run["status"], "end_time" in run, "result_state" in run) == ("RUNNING", False, False)
    assert inputs["sla_breaches"] == []

    settings = load_settings(default_rules_path())  # the shipped rules
    found = evaluate_rules(settings.rules, inputs, END)
    fired = {c.rule for c in found}
    assert {"health_low", "anomaly", "cost_spike", "stale_system_tables"} <= fired
    assert [c.labels["source"] for c in found if c.rule == "stale_system_tables"] == ["job_run_timeline"]


def test_dataops_run_alert_stage_is_the_dag_alert_cycle(
    spark: SparkSession, project: tuple[Path, Path], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dataops run`` ends with the DAG's alert cycle: notified, recorded, watermark saved."""
    from dataops_intelligence.alerting.inputs import ALERT_WATERMARK, read_watermark
    from dataops_intelligence.alerting.sql import SparkSqlRunner
    from dataops_intelligence.cli import build_parser, run_alert_stage

    hook_conn(monkeypatch, receiver.port)
    write_runs(spark, project[0])
    config_file, rules_file = project
    args = build_parser().parse_args(["run", "--config", str(config_file), "--rules", str(rules_file)])
    assert not args.no_alerts  # the alert stage is part of `dataops run` by default
    result = run_alert_stage(args, load_config(config_file), END)
    assert (result["candidates"], result["sent"], result["failed"]) == (1, 1, 0)
    (got,) = receiver.delivered()
    assert got.json()["alerts"][0]["job_id"] == "101"
    locator = TableLocator(load_config(config_file))
    history = read_output(spark, locator, "alert_history")
    assert history is not None
    assert [r["job_id"] for r in history.collect()] == ["101"]
    assert read_watermark(SparkSqlRunner(spark), locator, ALERT_WATERMARK) == END
