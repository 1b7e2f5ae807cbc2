"""The SQL Statement Execution API (``/api/2.0/sql/statements``) over the official Databricks hook.

``StatementsHook`` adds one small method per endpoint to :class:`DataOpsDatabricksHook`, so auth (PAT,
OAuth M2M...), the retry policy (connection errors, 429 and 5xx, ``Retry-After`` honoured) and the
token handling are the hook's: a token never reaches a log line or an error message here.

``StatementsSqlRunner`` is the :class:`~dataops_intelligence.alerting.sql.SqlRunner` the alert task
uses on the ``databricks`` target: it runs a statement on the configured SQL warehouse with named
parameters (all bound as STRING and cast in the SQL text), waits up to ``wait_timeout`` in the POST,
polls ``GET /statements/{id}`` while the statement is PENDING/RUNNING, follows the result chunks,
and parses JSON_ARRAY cells by the manifest's ``type_name``.

Why the hook may retry the POST: every statement the alert task sends is idempotent (``SELECT``,
``CREATE TABLE IF NOT EXISTS``, ``MERGE`` on the natural keys), so a POST that committed before its
answer was lost is harmless to replay.
"""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dataops_intelligence.alerting.sql import SqlError, encode_params
from dataops_intelligence.hooks.databricks import DataOpsDatabricksHook

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from dataops_jobs.io import TableRef

log = logging.getLogger(__name__)

STATEMENTS_ENDPOINT = ("POST", "2.0/sql/statements")
GET_STATEMENT_ENDPOINT = ("GET", "2.0/sql/statements/{statement_id}")
CHUNK_ENDPOINT = ("GET", "2.0/sql/statements/{statement_id}/result/chunks/{chunk_index}")
CANCEL_STATEMENT_ENDPOINT = ("POST", "2.0/sql/statements/{statement_id}/cancel")

_RUNNING = frozenset({"PENDING", "RUNNING"})
_INTEGERS = frozenset({"BYTE", "SHORT", "INT", "LONG"})
_FLOATS = frozenset({"FLOAT", "DOUBLE"})
_JSON = frozenset({"ARRAY", "MAP", "STRUCT"})
#: SQLSTATEs / error classes meaning "no such table or schema".
_NOT_FOUND = ("42P01", "42704", "3F000", "TABLE_OR_VIEW_NOT_FOUND", "SCHEMA_NOT_FOUND", "NO_SUCH_CATALOG")


class StatementError(SqlError):
    """Raised when a statement ends FAILED, CANCELED or CLOSED, or does not finish in time."""

    def __init__(self, message: str, *, sql_state: str | None = None, error_code: str | None = None) -> None:
        super().__init__(message)
        self.sql_state = sql_state
        self.error_code = error_code

    @property
    def not_found(self) -> bool:
        """The statement failed because a table, schema or catalog does not exist."""
        text = f"{self.sql_state or ''} {self.error_code or ''} {self}"
        return any(marker in text for marker in _NOT_FOUND)


class StatementsHook(DataOpsDatabricksHook):
    """``DataOpsDatabricksHook`` plus the four SQL Statement Execution endpoints."""

    def execute_statement(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /api/2.0/sql/statements``."""
        return dict(self._do_api_call(STATEMENTS_ENDPOINT, body))

    def get_statement(self, statement_id: str) -> dict[str, Any]:
        """``GET /api/2.0/sql/statements/{id}``."""
        method, path = GET_STATEMENT_ENDPOINT
        return dict(self._do_api_call((method, path.format(statement_id=statement_id)), {}))

    def get_chunk(self, statement_id: str, chunk_index: int) -> dict[str, Any]:
        """``GET /api/2.0/sql/statements/{id}/result/chunks/{n}``."""
        method, path = CHUNK_ENDPOINT
        endpoint = path.format(statement_id=statement_id, chunk_index=int(chunk_index))
        return dict(self._do_api_call((method, endpoint), {}))

    def cancel_statement(self, statement_id: str) -> None:
        """``POST /api/2.0/sql/statements/{id}/cancel`` (may lose the race, like Databricks)."""
        method, path = CANCEL_STATEMENT_ENDPOINT
        self._do_api_call((method, path.format(statement_id=statement_id)), {})


def parse_cell(value: str | None, type_name: str) -> Any:
    """A JSON_ARRAY cell (always a string or null) as a Python value, by its column's ``type_name``."""
    if value is None:
        return None
    kind = type_name.upper()
    if kind in _INTEGERS:
        return int(value)
    if kind in _FLOATS:
        return float(value)
    if kind == "DECIMAL":
        return Decimal(value)
    if kind == "BOOLEAN":
        return value.lower() == "true"
    if kind in _JSON:
        return json.loads(value)
    return value


class StatementsSqlRunner:
    """:class:`~dataops_intelligence.alerting.sql.SqlRunner` on a Databricks SQL warehouse.

    :param hook: the statements hook (the operators' Databricks connection).
    :param warehouse_id: ``compute.databricks.warehouse_id``.
    :param wait_timeout: seconds the POST waits for a result (5-50; 0 answers at once).
    :param timeout: seconds a statement may run before it is cancelled and the call fails.
    :param poll_interval: first wait between polls (doubles up to 10 s).
    :param sleep: a test seam.
    """

    def __init__(
        self,
        hook: StatementsHook,
        warehouse_id: str,
        *,
        wait_timeout: int = 30,
        timeout: float = 600.0,
        poll_interval: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not warehouse_id:
            raise ValueError("a SQL warehouse id is required (compute.databricks.warehouse_id)")
        if wait_timeout != 0 and not 5 <= wait_timeout <= 50:
            raise ValueError("wait_timeout must be 0 or between 5 and 50 seconds")
        self.hook = hook
        self.warehouse_id = warehouse_id
        self.wait_timeout = wait_timeout
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.sleep = sleep

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        response = self._run(sql, params, limit)
        columns = ((response.get("manifest") or {}).get("schema") or {}).get("columns") or []
        names = [(str(c["name"]), str(c.get("type_name") or "STRING")) for c in columns]
        return [
            {name: parse_cell(cell, kind) for (name, kind), cell in zip(names, row, strict=True)}
            for row in self._rows(response)
        ]

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, params, None)

    def table_exists(self, ref: TableRef) -> bool:
        """``SHOW TABLES IN <catalog>.<schema> LIKE '<table>'`` (names are validated identifiers)."""
        if ref.path is not None:
            raise SqlError(f"{ref.name} is located by path; the SQL warehouse needs catalog names")
        schema = ref.sql.rsplit(".", 1)[0]
        try:
            rows = self.query(f"SHOW TABLES IN {schema} LIKE '{ref.table}'")
        except StatementError as exc:
            if exc.not_found:
                return False
            raise
        return any(str(r.get("tableName", "")).lower() == ref.table.lower() for r in rows)

    # ----------------------------------------------------------------------------- internals
    def _run(self, sql: str, params: Mapping[str, Any] | None, limit: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "statement": sql,
            "warehouse_id": self.warehouse_id,
            "wait_timeout": f"{self.wait_timeout}s",
            "on_wait_timeout": "CONTINUE",
            "disposition": "INLINE",
            "format": "JSON_ARRAY",
            "parameters": [
                {"name": k, "value": v, "type": "STRING"} if v is not None else {"name": k, "type": "STRING"}
                for k, v in encode_params(params).items()
            ],
        }
        if limit is not None:
            body["row_limit"] = int(limit)
        started = time.monotonic()
        response = self.hook.execute_statement(body)
        statement_id = str(response.get("statement_id") or "")
        delay = self.poll_interval
        while self._state(response) in _RUNNING:
            if time.monotonic() - started > self.timeout:
                self.hook.cancel_statement(statement_id)
                raise StatementError(f"statement {statement_id} did not finish in {self.timeout:.0f} s; cancelled")
            self.sleep(delay)
            delay = min(delay * 2, 10.0)
            response = self.hook.get_statement(statement_id)
        self._check(response, statement_id)
        log.debug("statement %s succeeded in %.2f s", statement_id, time.monotonic() - started)
        return response

    @staticmethod
    def _state(response: Mapping[str, Any]) -> str:
        return str((response.get("status") or {}).get("state") or "")

    def _check(self, response: Mapping[str, Any], statement_id: str) -> None:
        status = response.get("status") or {}
        state = str(status.get("state") or "")
        if state == "SUCCEEDED":
            return
        error = status.get("error") or {}
        raise StatementError(
            f"statement {statement_id} {state}: {error.get('message') or 'no error message'}",
            sql_state=status.get("sql_state"),
            error_code=error.get("error_code"),
        )

    def _rows(self, response: Mapping[str, Any]) -> list[list[str | None]]:
        """Every row of every chunk (``next_chunk_index``, else ``manifest.total_chunk_count``)."""
        statement_id = str(response.get("statement_id") or "")
        result = response.get("result") or {}
        rows = list(result.get("data_array") or [])
        total = int((response.get("manifest") or {}).get("total_chunk_count") or 1)
        index = result.get("next_chunk_index", 1 if total > 1 else None)
        while index is not None and int(index) < total:
            chunk = self.hook.get_chunk(statement_id, int(index))
            rows.extend(chunk.get("data_array") or [])
            index = chunk.get("next_chunk_index", int(index) + 1 if int(index) + 1 < total else None)
        return rows


def statements_runner(conn_id: str, warehouse_id: str | None, caller: str = "AlertCycleOperator") -> StatementsSqlRunner:
    """The runner on connection ``conn_id`` with the provider's retry settings."""
    from dataops_intelligence.operators.remote import retry_setting

    if not warehouse_id:
        raise SqlError(
            "compute.databricks.warehouse_id is not set: the alert task on the databricks target reads "
            "and writes its Delta tables through a SQL warehouse (set the id of a serverless or pro warehouse)"
        )
    hook = StatementsHook(
        conn_id,
        retry_limit=int(retry_setting("databricks_retry_limit", 8)),
        retry_delay=retry_setting("databricks_retry_delay", 1.0),
        caller=caller,
    )
    return StatementsSqlRunner(hook, warehouse_id)


__all__ = ["StatementError", "StatementsHook", "StatementsSqlRunner", "parse_cell", "statements_runner"]
