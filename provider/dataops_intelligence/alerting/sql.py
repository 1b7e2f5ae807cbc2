"""``SqlRunner``: the one seam through which the alert task reads its inputs and keeps its state.

The alert cycle runs in the Airflow worker (it holds the channel secrets, which never go to a
cluster), so on every target it reaches the Delta tables through SQL text:

- ``local``: :class:`SparkSqlRunner`, ``spark.sql(sql, args=params)`` on the embedded session;
- ``databricks``: ``hooks.statements.StatementsSqlRunner``, the SQL Statement Execution API on a SQL
  warehouse (``compute.databricks.warehouse_id``).

Both run the SAME statements. Rules for the SQL built here and by its callers:

- identifiers come from ``dataops_jobs.io.TableRef.sql`` (validated, backquoted) or from code
  constants (column names of the registered table schemas);
- every value is a named parameter (``:name``), bound as a string (Databricks' default parameter
  type) and cast in the SQL text by :func:`placeholder` to the column type, so a parameter means the
  same on a warehouse and in local Spark;
- timestamps come back as ISO-8601 UTC strings (:func:`iso`), so nothing depends on a session or
  worker time zone.

pyspark is imported inside functions only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from dataops_intelligence.alerting.errors import AlertingError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dataops_jobs.io import TableRef
    from dataops_jobs.schemas.output import OutputTable

Params = Mapping[str, Any]
_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Spark/Databricks pattern of an ISO-8601 instant with an explicit offset ("+00:00" in UTC).
ISO_PATTERN = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSxxx"
#: Rows per MERGE source: keeps each statement far below the API's 16 MiB and parameter limits.
MAX_ROWS_PER_STATEMENT = 100


class SqlError(AlertingError):
    """Raised when a statement fails; the message carries the engine's error (never a secret)."""


class SqlRunner(Protocol):
    """Runs parameterised SQL against the tables of the monitoring schema."""

    def query(self, sql: str, params: Params | None = None, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Rows of a query as dicts (at most ``limit`` when given)."""

    def execute(self, sql: str, params: Params | None = None) -> None:
        """Run a statement whose result is not needed (DDL, MERGE)."""

    def table_exists(self, ref: TableRef) -> bool:
        """True when the table exists."""


def sql_value(value: Any) -> str | None:
    """A parameter value as the string both engines receive (NULL stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).isoformat()
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, (int, float, Decimal, str)):
        return str(value)
    raise TypeError(f"unsupported SQL parameter value of type {type(value).__name__}")


def encode_params(params: Params | None) -> dict[str, str | None]:
    """Validate parameter names and encode values with :func:`sql_value`."""
    out: dict[str, str | None] = {}
    for name, value in (params or {}).items():
        if not _PARAM.match(name):
            raise ValueError(f"invalid SQL parameter name {name!r}")
        out[name] = sql_value(value)
    return out


def placeholder(name: str, sql_type: str) -> str:
    """``:name`` cast to ``sql_type`` (a registered column type; complex types parsed from JSON)."""
    if not _PARAM.match(name):
        raise ValueError(f"invalid SQL parameter name {name!r}")
    kind = sql_type.strip().upper()
    if kind == "STRING":
        return f":{name}"
    if kind.startswith(("ARRAY", "MAP", "STRUCT")):
        if "'" in kind:
            raise ValueError(f"invalid SQL type {sql_type!r}")
        return f"from_json(:{name}, '{kind}')"
    if not re.fullmatch(r"[A-Z]+(\(\d+(,\s*\d+)?\))?", kind):
        raise ValueError(f"invalid SQL type {sql_type!r}")
    return f"CAST(:{name} AS {kind})"


def iso(expression: str, alias: str | None = None) -> str:
    """A timestamp expression rendered as an ISO-8601 UTC string (aliased to its column name)."""
    text = f'date_format({expression}, "{ISO_PATTERN}")'
    return f"{text} AS `{alias}`" if alias else text


def col(name: str, prefix: str = "") -> str:
    """A backquoted column reference (names are code constants; validated anyway)."""
    if not _PARAM.match(name):
        raise ValueError(f"invalid column name {name!r}")
    return f"{prefix}`{name}`"


def values_source(
    table: OutputTable, rows: Sequence[Sequence[Any]], prefix: str = "v"
) -> tuple[str, dict[str, Any]]:
    """``(VALUES (...), ...) AS s(cols)`` over ``rows`` in the table's column order, plus parameters."""
    if not rows:
        raise ValueError("values_source needs at least one row")
    params: dict[str, Any] = {}
    tuples = []
    for i, row in enumerate(rows):
        if len(row) != len(table.columns):
            raise ValueError(f"{table.name}: row {i} has {len(row)} values, the table {len(table.columns)}")
        cells = []
        for j, (column, value) in enumerate(zip(table.columns, row, strict=True)):
            name = f"{prefix}{i}_{j}"
            params[name] = value
            cells.append(placeholder(name, column.type))
        tuples.append("(" + ", ".join(cells) + ")")
    names = ", ".join(col(c) for c in table.column_names)
    return f"(SELECT * FROM VALUES {', '.join(tuples)} AS s({names}))", params


def chunks(rows: Sequence[Any], size: int = MAX_ROWS_PER_STATEMENT) -> list[Sequence[Any]]:
    """``rows`` cut into statements of at most ``size`` rows."""
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def plain(value: Any) -> Any:
    """Spark row values as the statements API's parsed cells (Decimal kept, nested rows as dicts)."""
    if hasattr(value, "asDict"):
        return {k: plain(v) for k, v in value.asDict(recursive=True).items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


_TOKENS = re.compile(r"""'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|`[^`]*`|:([A-Za-z_][A-Za-z0-9_]*)""")


def bind_literals(sql: str, params: Mapping[str, str | None]) -> str:
    """``sql`` with every ``:name`` marker (outside quotes) replaced by its value as a hex literal.

    Why: with the Delta extension loaded, Spark 4.2's ``spark.sql(sql, args=...)`` reports every
    named parameter as unbound (Delta's SQL parser drops them), so the local runner binds them
    itself. A value becomes ``CAST(X'<utf-8 hex>' AS STRING)``: only hex digits reach the SQL
    text, so no value can change the statement. The warehouse path sends real parameters.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)
        if name not in params:
            raise SqlError(f"statement uses :{name} but no such parameter was given")
        value = params[name]
        return "CAST(NULL AS STRING)" if value is None else f"CAST(X'{value.encode().hex()}' AS STRING)"

    return _TOKENS.sub(replace, sql)


class SparkSqlRunner:
    """:class:`SqlRunner` on a SparkSession (the local target, and tests).

    Parameters are encoded as strings, exactly as the statements API receives them, and bound by
    :func:`bind_literals` (see there for why not ``spark.sql(sql, args=...)``).
    """

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def query(self, sql: str, params: Params | None = None, *, limit: int | None = None) -> list[dict[str, Any]]:
        def run() -> list[Any]:
            df = self._sql(sql, params)
            return list((df.limit(limit) if limit is not None else df).collect())

        return [{k: plain(v) for k, v in row.asDict(recursive=True).items()} for row in self._guard(run)]

    def execute(self, sql: str, params: Params | None = None) -> None:
        self._guard(lambda: self._sql(sql, params).collect())

    def table_exists(self, ref: TableRef) -> bool:
        from dataops_jobs.io import table_exists

        return table_exists(self.spark, ref)

    def _sql(self, sql: str, params: Params | None) -> Any:
        return self.spark.sql(bind_literals(sql, encode_params(params)))

    @staticmethod
    def _guard(run: Any) -> Any:
        from pyspark.errors import PySparkException

        try:
            return run()
        except PySparkException as exc:
            raise SqlError(f"statement failed: {str(exc).splitlines()[0]}") from exc


__all__ = [
    "ISO_PATTERN",
    "MAX_ROWS_PER_STATEMENT",
    "SparkSqlRunner",
    "SqlError",
    "SqlRunner",
    "bind_literals",
    "chunks",
    "col",
    "encode_params",
    "iso",
    "placeholder",
    "sql_value",
    "values_source",
]
