"""``SparkSqlExecutor``: the emulator's SQL warehouse backed by a real SparkSession (tests and the demo).

Plug it into ``DatabricksEmulator(sql_executor=SparkSqlExecutor(spark))`` and ``/api/2.0/sql/statements``
runs each statement on ``spark``, where tables resolve by name (a Hive metastore stand-in for Unity
Catalog) or by ``delta.`path```. Results come back as a warehouse returns them: Databricks
``type_name`` per column (``LONG`` for BIGINT, ``INT``...), every non-null cell a string, complex
values (arrays, maps, structs) as JSON text, timestamps as ISO-8601 UTC. Parameters arrive as
strings (Databricks' default parameter type) and are bound like the local runner binds them.

pyspark is imported inside functions only.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dataops_intelligence.emulator.errors import SqlExecutionError
from dataops_intelligence.emulator.sql import SqlColumn

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pyspark.sql import SparkSession
    from pyspark.sql.types import DataType

_SIMPLE = {
    "string": "STRING", "varchar": "STRING", "char": "STRING", "integer": "INT", "long": "LONG",
    "short": "SHORT", "byte": "BYTE", "double": "DOUBLE", "float": "FLOAT", "decimal": "DECIMAL",
    "boolean": "BOOLEAN", "timestamp": "TIMESTAMP", "timestamp_ntz": "TIMESTAMP", "date": "DATE",
    "binary": "BINARY", "array": "ARRAY", "map": "MAP", "struct": "STRUCT", "void": "NULL",
}


def type_name(data_type: DataType) -> str:
    """The Databricks ``type_name`` of a Spark data type."""
    return _SIMPLE.get(data_type.typeName(), "USER_DEFINED_TYPE")


def _json_ready(value: Any) -> Any:
    if hasattr(value, "asDict"):
        return {k: _json_ready(v) for k, v in value.asDict(recursive=True).items()}
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return _cell(value, "TIMESTAMP" if isinstance(value, dt.datetime) else "DATE")
    if isinstance(value, Decimal):
        return str(value)
    return value


def _cell(value: Any, kind: str) -> Any:
    """A value as the warehouse renders it (the emulator's JSON layer stringifies the rest)."""
    if value is None:
        return None
    if kind in ("ARRAY", "MAP", "STRUCT"):
        return json.dumps(_json_ready(value), separators=(",", ":"))
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return aware.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, float):
        return repr(value)
    return value


class SparkSqlExecutor:
    """A ``SqlExecutor`` running statements on ``spark`` (one at a time, like a small warehouse)."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self._lock = threading.Lock()
        self.statements: list[str] = []

    def __call__(self, statement: str, params: Mapping[str, str | None]) -> tuple[list[SqlColumn], list[list[Any]]]:
        from pyspark.errors import PySparkException

        from dataops_intelligence.alerting.sql import SqlError, bind_literals

        with self._lock:
            self.statements.append(statement)
            try:
                df = self.spark.sql(bind_literals(statement, dict(params)))
                fields = df.schema.fields
                rows = df.collect()
            except PySparkException as exc:
                state = exc.getSqlState() if hasattr(exc, "getSqlState") else None
                condition = exc.getCondition() if hasattr(exc, "getCondition") else None
                raise SqlExecutionError(str(exc).splitlines()[0], condition or "BAD_REQUEST", state) from None
            except SqlError as exc:
                raise SqlExecutionError(str(exc), "BAD_REQUEST", "42P02") from None
        kinds = [type_name(f.dataType) for f in fields]
        columns = [SqlColumn(f.name, k, f.dataType.simpleString().upper()) for f, k in zip(fields, kinds, strict=True)]
        return columns, [[_cell(v, k) for v, k in zip(row, kinds, strict=True)] for row in rows]


__all__ = ["SparkSqlExecutor", "type_name"]
