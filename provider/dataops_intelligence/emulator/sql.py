"""SQL Statement Execution API of the emulator with a pluggable executor."""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dataops_intelligence.emulator.errors import ApiError, SqlExecutionError, invalid_parameter


@dataclass(frozen=True)
class SqlColumn:
    """One result column: its name and Databricks ``type_name`` (``type_text`` defaults to it)."""

    name: str
    type_name: str = "STRING"
    type_text: str | None = None


ColumnSpec = SqlColumn | tuple[str, str] | str
#: ``(statement, {parameter name: value}) -> (columns, rows)``; raise ``SqlExecutionError`` to fail.
SqlExecutor = Callable[[str, Mapping[str, str | None]], tuple[Sequence[ColumnSpec], Sequence[Sequence[Any]]]]

_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "CLOSED"})
_WAIT = re.compile(r"^(\d+)s$")
_SELECT = re.compile(r"(?is)^\s*select\s+(?P<items>.+?)\s*;?\s*$")
_ALIAS = re.compile(r"(?is)^(?P<expr>.+?)\s+(?:as\s+)?(?P<alias>`[^`]+`|[A-Za-z_]\w*)$")
_SPLIT = re.compile(r"""((?:[^,'"]|'[^']*'|"[^"]*")+)""")


def _literal(expr: str, params: Mapping[str, str | None]) -> tuple[str, str, Any]:
    """Evaluate one literal select item; return (default column name, type_name, value)."""
    text = expr.strip()
    upper = text.upper()
    if re.fullmatch(r"-?\d+", text):
        return text, ("INT" if abs(int(text)) < 2**31 else "LONG"), int(text)
    if re.fullmatch(r"-?\d+\.\d*(?:[eE][-+]?\d+)?", text):
        return text, ("DOUBLE" if "e" in text.lower() else "DECIMAL"), Decimal(text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1], "STRING", text[1:-1]
    if upper in ("TRUE", "FALSE"):
        return upper.lower(), "BOOLEAN", upper == "TRUE"
    if upper == "NULL":
        return "NULL", "NULL", None
    if upper in ("CURRENT_TIMESTAMP()", "CURRENT_TIMESTAMP", "NOW()"):
        return "current_timestamp()", "TIMESTAMP", dt.datetime.now(dt.timezone.utc)
    if upper in ("CURRENT_DATE()", "CURRENT_DATE"):
        return "current_date()", "DATE", dt.datetime.now(dt.timezone.utc).date()
    if text.startswith(":") and text[1:] in params:
        return text, "STRING", params[text[1:]]
    raise ValueError(text)


def default_sql_executor(
    statement: str, parameters: Mapping[str, str | None]
) -> tuple[list[SqlColumn], list[list[Any]]]:
    """Answer ``SELECT <literal> [AS alias], ...`` (ints, decimals, strings, booleans, NULL,
    ``:named`` parameters, current_timestamp()/current_date()); fail clearly for anything else."""
    match = _SELECT.match(statement)
    columns: list[SqlColumn] = []
    row: list[Any] = []
    try:
        if match is None or re.search(r"(?i)\bfrom\b", re.sub(r"'[^']*'", "''", statement)):
            raise ValueError(statement)
        for item in _SPLIT.findall(match.group("items")):
            alias_match = _ALIAS.match(item.strip())
            expr, alias = item, None
            if alias_match is not None and not re.fullmatch(r"(?i)current_(timestamp|date)", item.strip()):
                expr, alias = alias_match.group("expr"), alias_match.group("alias").strip("`")
            name, type_name, value = _literal(expr, parameters)
            columns.append(SqlColumn(alias or name, type_name))
            row.append(value)
    except ValueError:
        raise SqlExecutionError(
            "[EMULATOR_UNSUPPORTED_SQL] The emulator's default SQL executor only evaluates SELECT of "
            f"literals such as 'SELECT 1'; plug a SqlExecutor to run: {statement[:200]}",
            error_code="BAD_REQUEST",
            sql_state="0A000",
        ) from None
    return columns, [row]


def _column(spec: ColumnSpec, position: int) -> dict[str, Any]:
    if isinstance(spec, str):
        spec = SqlColumn(spec)
    elif isinstance(spec, tuple):
        spec = SqlColumn(spec[0], spec[1])
    return {
        "name": spec.name,
        "position": position,
        "type_name": spec.type_name,
        "type_text": spec.type_text or ("VOID" if spec.type_name == "NULL" else spec.type_name),
    }


def _cell(value: Any) -> str | None:
    """Databricks JSON_ARRAY cells: every non-null value is a string."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


@dataclass
class Statement:
    """One statement and, once SUCCEEDED, its single INLINE chunk."""

    statement_id: str
    state: str = "PENDING"
    error: dict[str, str] | None = None
    sql_state: str | None = None
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    truncated: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    def result_json(self) -> dict[str, Any]:
        """The ``result`` object (chunk 0)."""
        body: dict[str, Any] = {"chunk_index": 0, "row_offset": 0, "row_count": len(self.rows)}
        if self.rows:
            body["data_array"] = self.rows
        return body

    def to_json(self) -> dict[str, Any]:
        """Render a StatementResponse."""
        status: dict[str, Any] = {"state": self.state}
        if self.error is not None:
            status["error"] = self.error
        if self.sql_state is not None:
            status["sql_state"] = self.sql_state
        body: dict[str, Any] = {"statement_id": self.statement_id, "status": status}
        if self.state == "SUCCEEDED":
            count = len(self.rows)
            body["manifest"] = {
                "format": "JSON_ARRAY",
                "schema": {"column_count": len(self.columns), "columns": self.columns},
                "total_chunk_count": 1,
                "chunks": [{"chunk_index": 0, "row_offset": 0, "row_count": count}],
                "total_row_count": count,
                "truncated": self.truncated,
            }
            body["result"] = self.result_json()
        return body


def _wait_seconds(value: Any) -> int:
    match = _WAIT.match(str(value if value is not None else "10s"))
    seconds = int(match.group(1)) if match else -1
    if seconds != 0 and not 5 <= seconds <= 50:
        raise invalid_parameter(f"wait_timeout must be 0s or between 5s and 50s, got {value!r}.")
    return seconds


def _check_request(body: Mapping[str, Any]) -> None:
    if not isinstance(body.get("statement"), str) or not body["statement"].strip():
        raise invalid_parameter("statement is required.")
    if not body.get("warehouse_id"):
        raise invalid_parameter("warehouse_id is required.")
    if body.get("disposition", "INLINE") != "INLINE" or body.get("format", "JSON_ARRAY") != "JSON_ARRAY":
        raise ApiError(
            501, "NOT_IMPLEMENTED", "The emulator supports only disposition INLINE, format JSON_ARRAY."
        )
    if body.get("on_wait_timeout", "CONTINUE") not in ("CONTINUE", "CANCEL"):
        raise invalid_parameter("on_wait_timeout must be CONTINUE or CANCEL.")


class StatementManager:
    """Runs statements in background threads and serves their state and results."""

    def __init__(self, executor: SqlExecutor) -> None:
        self._executor = executor
        self._lock = threading.Lock()
        self._statements: dict[str, Statement] = {}

    def execute(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /api/2.0/sql/statements``: run, wait up to ``wait_timeout``, answer."""
        _check_request(body)
        wait = _wait_seconds(body.get("wait_timeout"))
        params = {str(p["name"]): p.get("value") for p in body.get("parameters") or []}
        row_limit = body.get("row_limit")
        stmt = Statement(str(uuid.uuid4()))
        with self._lock:
            self._statements[stmt.statement_id] = stmt
        worker = threading.Thread(
            target=self._run, args=(stmt, str(body["statement"]), params, row_limit), daemon=True
        )
        worker.start()
        if wait and not stmt.done.wait(wait) and body.get("on_wait_timeout") == "CANCEL":
            self.cancel(stmt.statement_id)
        return self.get(stmt.statement_id)

    def get(self, statement_id: str) -> dict[str, Any]:
        """``GET /api/2.0/sql/statements/{id}``."""
        with self._lock:
            return self._find(statement_id).to_json()

    def chunk(self, statement_id: str, index: int) -> dict[str, Any]:
        """``GET /api/2.0/sql/statements/{id}/result/chunks/{n}`` (one chunk: n must be 0)."""
        with self._lock:
            stmt = self._find(statement_id)
            if stmt.state != "SUCCEEDED" or index != 0:
                raise invalid_parameter(
                    f"No chunk {index} for statement {statement_id} in state {stmt.state}."
                )
            return stmt.result_json()

    def cancel(self, statement_id: str) -> None:
        """``POST /api/2.0/sql/statements/{id}/cancel`` (may lose the race, like Databricks)."""
        with self._lock:
            stmt = self._find(statement_id)
            if stmt.state not in _TERMINAL:
                stmt.state = "CANCELED"
                stmt.done.set()

    def _find(self, statement_id: str) -> Statement:
        stmt = self._statements.get(statement_id)
        if stmt is None:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Statement {statement_id} does not exist.")
        return stmt

    def _run(self, stmt: Statement, text: str, params: Mapping[str, str | None], row_limit: Any) -> None:
        with self._lock:
            if stmt.state == "CANCELED":
                return
            stmt.state = "RUNNING"
        try:
            columns, rows = self._executor(text, params)
            error: SqlExecutionError | None = None
        except SqlExecutionError as exc:
            error, columns, rows = exc, [], []
        except Exception as exc:  # any executor bug is reported as the statement's error
            error, columns, rows = SqlExecutionError(f"{type(exc).__name__}: {exc}", "INTERNAL_ERROR"), [], []
        with self._lock:
            if stmt.state == "CANCELED":
                return
            if error is not None:
                stmt.state, stmt.sql_state = "FAILED", error.sql_state
                stmt.error = {"error_code": error.error_code, "message": error.message}
            else:
                cells = [[_cell(v) for v in row] for row in rows]
                limit = int(row_limit) if row_limit else None
                stmt.truncated = limit is not None and len(cells) > limit
                stmt.rows = cells[:limit] if limit is not None else cells
                stmt.columns = [_column(c, i) for i, c in enumerate(columns)]
                stmt.state = "SUCCEEDED"
            stmt.done.set()
