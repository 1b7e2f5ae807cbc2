"""The SQL Statement Execution client: the real hook over HTTP to the emulator (no Spark)."""

from __future__ import annotations

import logging
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from dataops_intelligence.alerting.sql import SqlError
from dataops_intelligence.emulator import DatabricksEmulator, FaultPlan, SqlColumn, SqlExecutionError
from dataops_intelligence.hooks.statements import (
    StatementError,
    StatementsHook,
    StatementsSqlRunner,
    parse_cell,
    statements_runner,
)
from dataops_jobs.io import TableRef

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

TOKEN = "dapi-statements-test-token-4f3e2d1c"
CONN_ID = "databricks_sql_emu"
WAREHOUSE = "wh-0123abcd"


class RecordingExecutor:
    """A SqlExecutor answering from a table of canned results, recording what it was sent."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str | None]]] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, statement: str, params: Mapping[str, str | None]) -> tuple[list[Any], list[list[Any]]]:
        self.calls.append((statement, dict(params)))
        self.release.wait(10)
        if statement.startswith("SHOW TABLES IN `cat`.`missing`"):
            raise SqlExecutionError("[SCHEMA_NOT_FOUND] The schema `cat`.`missing` cannot be found.",
                                    "SCHEMA_NOT_FOUND", "42704")
        if statement.startswith("SHOW TABLES"):
            return [SqlColumn("database"), SqlColumn("tableName"), SqlColumn("isTemporary", "BOOLEAN")], [
                ["mon", "alert_state", False]]
        if statement.startswith("FAIL"):
            raise SqlExecutionError("[PARSE_SYNTAX_ERROR] Syntax error at or near 'FAIL'.", "BAD_REQUEST", "42601")
        columns = [SqlColumn("n", "LONG"), SqlColumn("x", "DOUBLE"), SqlColumn("ok", "BOOLEAN"),
                   SqlColumn("tags", "MAP", "MAP<STRING,STRING>"), SqlColumn("ids", "ARRAY", "ARRAY<STRING>"),
                   SqlColumn("d", "DECIMAL", "DECIMAL(38,18)"), SqlColumn("s"), SqlColumn("none", "STRING")]
        row = [7, 1.5, True, '{"a":"b"}', '["x","y"]', "12.500000000000000000", params.get("name"), None]
        return columns, [row, row]


@pytest.fixture
def executor() -> RecordingExecutor:
    return RecordingExecutor()


@pytest.fixture
def emulator(executor: RecordingExecutor, monkeypatch: pytest.MonkeyPatch) -> Iterator[DatabricksEmulator]:
    faults = FaultPlan(seed=3, error_rate=0.4, error_statuses=(429, 503), retry_after_seconds=0,
                       endpoints=("sql/statements", "sql/statements/{statement_id}"))
    with DatabricksEmulator(token=TOKEN, sql_executor=executor, faults=faults) as emu:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", emu.airflow_connection_json())
        monkeypatch.setenv("AIRFLOW__DATAOPS__DATABRICKS_RETRY_DELAY", "0.01")
        yield emu


def runner(**kwargs: Any) -> StatementsSqlRunner:
    hook = StatementsHook(CONN_ID, retry_limit=10, retry_delay=0.01)
    return StatementsSqlRunner(hook, WAREHOUSE, poll_interval=0.01, **kwargs)


def test_query_parses_cells_and_sends_named_string_parameters_through_faults(
    emulator: DatabricksEmulator, executor: RecordingExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rows = runner().query("SELECT :name AS s", {"name": "it's", "when": None, "n": 3}, limit=1)
    assert rows == [{"n": 7, "x": 1.5, "ok": True, "tags": {"a": "b"}, "ids": ["x", "y"],
                     "d": Decimal("12.500000000000000000"), "s": "it's", "none": None}]
    statement, params = executor.calls[-1]
    assert statement == "SELECT :name AS s"
    assert params == {"name": "it's", "when": None, "n": "3"}
    faulted = [r for r in emulator.requests if r.fault]
    assert faulted  # retried by the hook
    assert {r.status for r in faulted} <= {429, 503}
    assert TOKEN not in caplog.text


def test_polls_until_done_and_failures_carry_the_sql_state(
    emulator: DatabricksEmulator, executor: RecordingExecutor
) -> None:
    executor.release.clear()
    threading.Timer(0.3, executor.release.set).start()
    assert len(runner(wait_timeout=0).query("SELECT 1")) == 2
    assert any(r.endpoint == "sql/statements/{statement_id}" for r in emulator.requests)
    with pytest.raises(StatementError, match="PARSE_SYNTAX_ERROR") as failed:
        runner().execute("FAIL NOW")
    assert failed.value.sql_state == "42601"
    assert not failed.value.not_found


def test_table_exists_by_show_tables(emulator: DatabricksEmulator) -> None:
    assert runner().table_exists(TableRef("cat", "mon", "alert_state", None))
    assert not runner().table_exists(TableRef("cat", "mon", "alert_outbox", None))
    assert not runner().table_exists(TableRef("cat", "missing", "alert_state", None))


def test_chunks_are_followed() -> None:
    class Hook:
        def get_chunk(self, statement_id: str, index: int) -> dict[str, Any]:
            nxt = {"next_chunk_index": index + 1} if index + 1 < 3 else {}
            return {"chunk_index": index, "data_array": [[str(index)]], **nxt}

    response = {"statement_id": "s1", "status": {"state": "SUCCEEDED"},
                "manifest": {"schema": {"columns": [{"name": "n", "type_name": "INT"}]}, "total_chunk_count": 3},
                "result": {"chunk_index": 0, "data_array": [["0"]], "next_chunk_index": 1}}
    sql_runner = StatementsSqlRunner(Hook(), WAREHOUSE)  # type: ignore[arg-type]
    assert sql_runner._rows(response) == [["0"], ["1"], ["2"]]


def test_parse_cell_and_missing_warehouse() -> None:
    assert parse_cell("false", "BOOLEAN") is False
    assert parse_cell("2026-01-01T00:00:00.000Z", "TIMESTAMP") == "2026-01-01T00:00:00.000Z"
    assert parse_cell(None, "LONG") is None
    with pytest.raises(SqlError, match="warehouse_id"):
        statements_runner(CONN_ID, None)
