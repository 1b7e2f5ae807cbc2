"""SqlAlertStore and the SQL seam: the alert tables through SQL statements leave what DeltaAlertStore
leaves. The chain is the real one of the databricks target: store -> StatementsSqlRunner -> official
hook -> HTTP -> emulator SQL endpoint -> SparkSqlExecutor -> Delta tables resolved by name."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from alerting_support import CANARY, FakeClock, conn_env, free_port
from test_delta_store import engine, failing, make_store

from dataops_intelligence.alerting.model import DeliveryStatus
from dataops_intelligence.alerting.sql import SparkSqlRunner, bind_literals, placeholder
from dataops_intelligence.alerting.sql_store import SqlAlertStore
from dataops_intelligence.emulator import DatabricksEmulator
from dataops_intelligence.emulator.spark_sql import SparkSqlExecutor
from dataops_intelligence.hooks.statements import StatementsHook, StatementsSqlRunner
from dataops_jobs.config import load_config_from_dict
from dataops_jobs.io import TableLocator

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark
TOKEN = "dapi-sql-store-token-77aa"


def test_values_are_bound_as_hex_literals_never_as_sql_text() -> None:
    sql = bind_literals("SELECT ':x', \"a:x\", `:x`, :x, CAST(:y AS INT)", {"x": "'; DROP TABLE t; --", "y": None})
    assert "DROP" not in sql
    assert sql.startswith("SELECT ':x', \"a:x\", `:x`, CAST(X'273b")
    assert sql.endswith("CAST(CAST(NULL AS STRING) AS INT)")
    assert placeholder("p", "MAP<STRING,STRING>") == "from_json(:p, 'MAP<STRING,STRING>')"
    with pytest.raises(ValueError, match="invalid SQL type"):
        placeholder("p", "INT) OR (1=1")


def test_sql_store_over_the_warehouse_matches_the_delta_store(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = f"sqlstore_{tmp_path.name.replace('-', '_')}"[:60]
    spark.sql(f"CREATE SCHEMA IF NOT EXISTS spark_catalog.`{schema}` LOCATION '{tmp_path / 'uc'}'")
    port = free_port()  # nobody listens: the delivery fails and stays in the outbox
    conn_env(monkeypatch, "delta_hook",
             {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http", "password": CANARY})
    delta = make_store(spark, tmp_path)
    engine(delta, FakeClock(), port).run_cycle(candidates=[failing("etl")], evaluated_rules=["job_failed"])

    executor = SparkSqlExecutor(spark)
    config = load_config_from_dict({"compute": {"target": "databricks"},
                                    "storage": {"catalog_name": "spark_catalog", "schema_name": schema}})
    with DatabricksEmulator(token=TOKEN, sql_executor=executor) as emu:
        monkeypatch.setenv("AIRFLOW_CONN_DATABRICKS_SQL_STORE", emu.airflow_connection_json())
        runner = StatementsSqlRunner(StatementsHook("databricks_sql_store", retry_delay=0.01), "wh-1",
                                     poll_interval=0.05)
        store = SqlAlertStore(runner, TableLocator(config))
        clock = FakeClock()
        report = engine(store, clock, port).run_cycle(candidates=[failing("etl")], evaluated_rules=["job_failed"])
        assert len(report.failed) == 1
        fresh = SqlAlertStore(runner, TableLocator(config))
        assert [a.to_row() for a in fresh.load_open_alerts()] == [a.to_row() for a in delta.load_open_alerts()]
        assert [d.to_row() for d in fresh.load_outbox()] == [d.to_row() for d in delta.load_outbox()]
        assert fresh.load_history() == delta.load_history()

        (pending,) = fresh.load_outbox()  # a sent delivery is final
        pending.status, pending.sent_at, pending.next_attempt_at = DeliveryStatus.SENT, clock.now, None
        fresh.commit(deliveries=[pending])
        stale = fresh.load_deliveries()[0]
        stale.status, stale.next_attempt_at = DeliveryStatus.FAILED, clock.now
        fresh.commit(deliveries=[stale])
        assert [d.status for d in fresh.load_deliveries()] == [DeliveryStatus.SENT]

        assert fresh.last_evaluated_end() is None
        end = clock.now - timedelta(minutes=1)
        for _ in range(2):  # a replayed POST records the cycle once
            fresh.record_cycle(end - timedelta(minutes=30), end, clock.now, {"candidates": 1})
        assert fresh.last_evaluated_end() == end
    cycles = SparkSqlRunner(spark).query(f"SELECT count(*) AS n FROM spark_catalog.`{schema}`.`alert_cycles`")
    assert cycles == [{"n": 1}]
    assert any(":v0_0" in s for s in executor.statements)  # the API got markers; values went as parameters
