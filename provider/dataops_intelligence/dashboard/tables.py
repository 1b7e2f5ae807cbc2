"""Bounded, parameterised reads of the output tables, on both targets, behind one small query spec.

A :class:`Query` names a registered output table, its columns, filters, an optional group-by with
aggregates, an order and a **mandatory limit** (at most :data:`MAX_ROWS`). Two readers run it:

- :class:`DeltaReader` (``local``): the Delta table at ``<warehouse_path>/<catalog>/<schema>/<table>``
  read with ``deltalake`` (delta-rs) and pyarrow: no JVM, no Spark session per request. Filters
  become a pyarrow expression (file pruning by Parquet statistics); column projection is pushed down.
- :class:`SqlReader` (``databricks``): one SQL statement through the alert task's
  :class:`~dataops_intelligence.alerting.sql.SqlRunner` (the SQL Statement Execution API on
  ``compute.databricks.warehouse_id``). Identifiers are the registered columns, backquoted; every
  value is a named parameter cast to the column type.

Both return the same Python values: ``datetime`` (UTC) for timestamps, ``float`` for DOUBLE and
DECIMAL, ``dict`` for maps, ``list`` for arrays. A table that does not exist yet reads as empty.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from dataops_jobs import sla as _sla  # noqa: F401  (registers sla_breaches)
from dataops_jobs.schemas import alerts as _alerts  # noqa: F401  (registers the alert tables)
from dataops_jobs.schemas import analysis as _analysis  # noqa: F401  (registers health and anomalies)
from dataops_jobs.schemas.output import OUTPUT_TABLES, OutputTable

if TYPE_CHECKING:
    from dataops_intelligence.alerting.sql import SqlRunner
    from dataops_jobs.io import TableLocator

log = logging.getLogger(__name__)

#: Hard cap on the rows any dashboard query returns.
MAX_ROWS = 50_000
OPS = ("=", "!=", ">", ">=", "<", "<=", "in", "is_null", "not_null")
AGGS = ("count", "sum", "min", "max", "count_true", "any")


class QueryError(ValueError):
    """A query names an unknown table or column, an unknown operator, or has no valid limit."""


@dataclass(frozen=True)
class Filter:
    """``column op value``; ``in`` takes a tuple, ``is_null``/``not_null`` no value."""

    column: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Agg:
    """An aggregate over a group: ``count`` (rows), ``sum``, ``min``, ``max``, ``count_true``, ``any``
    (one value of the group, for columns equal within it such as a job's tags)."""

    func: str
    column: str
    alias: str


@dataclass(frozen=True)
class Query:
    """A bounded read of one output table (see the module docstring)."""

    table: str
    columns: tuple[str, ...] = ()
    where: tuple[Filter, ...] = ()
    group_by: tuple[str, ...] = ()
    aggregates: tuple[Agg, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()
    """(column or alias, descending)"""
    limit: int = 1000
    spec: OutputTable = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spec = OUTPUT_TABLES.get(self.table)
        if spec is None:
            raise QueryError(f"unknown table {self.table!r}")
        object.__setattr__(self, "spec", spec)
        known = set(spec.column_names)
        used = [*self.columns, *self.group_by, *(f.column for f in self.where),
                *(a.column for a in self.aggregates if a.func != "count")]
        unknown = [c for c in used if c not in known]
        if unknown:
            raise QueryError(f"{self.table}: unknown column(s) {', '.join(unknown)}")
        if any(f.op not in OPS for f in self.where) or any(a.func not in AGGS for a in self.aggregates):
            raise QueryError(f"{self.table}: unknown operator or aggregate")
        outputs = {*self.columns, *self.group_by, *(a.alias for a in self.aggregates)}
        if any(c not in outputs for c, _ in self.order_by):
            raise QueryError(f"{self.table}: ORDER BY must use selected columns")
        if not 1 <= self.limit <= MAX_ROWS:
            raise QueryError(f"{self.table}: limit must be between 1 and {MAX_ROWS}, not {self.limit}")

    @property
    def output_columns(self) -> list[str]:
        if self.aggregates or self.group_by:
            return [*self.group_by, *(a.alias for a in self.aggregates)]
        return list(self.columns)

    def column_type(self, name: str) -> str:
        return next(c.type for c in self.spec.columns if c.name == name).upper()


class TableReader(Protocol):
    """Runs a :class:`Query`; rows as dicts keyed by the query's output columns."""

    target: str

    def read(self, query: Query) -> list[dict[str, Any]]:
        """Rows of the query (an absent table reads as no rows)."""


def utc(value: Any) -> datetime | None:
    """A datetime or ISO string as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _normalise(value: Any, sql_type: str) -> Any:
    if value is None:
        return None
    if sql_type == "TIMESTAMP":
        return utc(value)
    if isinstance(value, Decimal) or sql_type.startswith("DECIMAL"):
        return float(value)
    if sql_type.startswith("MAP"):
        return dict(value) if not isinstance(value, dict) else value
    return value


def _output_types(query: Query) -> dict[str, str]:
    types = {c: query.column_type(c) for c in (*query.columns, *query.group_by)}
    for agg in query.aggregates:
        types[agg.alias] = "BIGINT" if agg.func in ("count", "count_true") else query.column_type(agg.column)
        if agg.func == "sum" and types[agg.alias] in ("INT", "BIGINT", "BOOLEAN"):
            types[agg.alias] = "BIGINT"
    return types


# -- local: deltalake ------------------------------------------------------------------------------
class DeltaReader:
    """:class:`TableReader` over local Delta tables with ``deltalake`` (delta-rs) and pyarrow.

    Table snapshots are cached per path and refreshed at most every ``refresh_seconds`` (new
    commits of the monitoring cycle show up within that delay). Delta data files never change once
    written, so the rows a query needs from each file (its columns, from the day its time filter
    starts) are cached per file: a new snapshot only reads the files it added, and a warm query
    filters and aggregates in memory. The cache holds at most ``cache_rows`` rows (least recently
    used files go first).
    """

    target = "local"

    def __init__(self, locator: TableLocator, *, refresh_seconds: float = 5.0,
                 cache_rows: int = 3_000_000) -> None:
        self.locator = locator
        self.refresh_seconds = refresh_seconds
        self.cache_rows = cache_rows
        self._snapshots: dict[str, tuple[float, Any]] = {}
        self._files: OrderedDict[tuple[str, tuple[str, ...], Any], Any] = OrderedDict()
        self._cached_rows = 0
        self._lock = threading.Lock()

    def path(self, table: str) -> str:
        ref = self.locator.output(table)
        if ref.path is None:
            raise QueryError(f"{table}: the local reader needs the local table layout")
        return ref.path

    def dataset(self, table: str) -> Any:
        """The table's pyarrow dataset (latest snapshot), or None when there is no table yet."""
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        path = self.path(table)
        now = time.monotonic()
        with self._lock:
            cached = self._snapshots.get(path)
            if cached is not None and now - cached[0] < self.refresh_seconds:
                return cached[1]
        try:
            dataset = DeltaTable(path).to_pyarrow_dataset()
        except TableNotFoundError:
            with self._lock:
                self._snapshots.pop(path, None)
            return None
        with self._lock:
            self._snapshots[path] = (now, dataset)
        return dataset

    def invalidate(self, table: str) -> None:
        with self._lock:
            self._snapshots.pop(self.path(table), None)

    def read(self, query: Query) -> list[dict[str, Any]]:
        dataset = self.dataset(query.table)
        if dataset is None:
            return []
        needed = list(dict.fromkeys([*query.columns, *query.group_by, *(f.column for f in query.where),
                                     *(a.column for a in query.aggregates if a.func != "count")]))
        table = self._rows(query, dataset, needed or [query.spec.keys[0]])
        expression = self._expression(query, dataset.schema)
        if expression is not None:
            table = table.filter(expression)
        if query.group_by or query.aggregates:
            table = self._aggregate(query, table)
        if query.order_by:
            table = table.sort_by([(c, "descending" if desc else "ascending") for c, desc in query.order_by])
        table = table.slice(0, query.limit)
        types = _output_types(query)
        columns = query.output_columns
        data = {c: table.column(c).to_pylist() for c in columns}
        return [{c: _normalise(data[c][i], types[c]) for c in columns} for i in range(table.num_rows)]

    def _rows(self, query: Query, dataset: Any, columns: list[str]) -> Any:
        """The query's columns from every file of the snapshot, from the day its time filter starts
        (per-file cache; files are immutable)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        since = self._since(query)
        prefilter = None
        if since is not None:
            prefilter = pc.field(since[0]) >= pa.scalar(since[1], dataset.schema.field(since[0]).type)
        key_columns = tuple(sorted(columns))
        parts = []
        for fragment in dataset.get_fragments():
            key = (f"{query.table}/{fragment.path}", key_columns, since)
            with self._lock:
                part = self._files.get(key)
                if part is not None:
                    self._files.move_to_end(key)
            if part is None:
                part = fragment.to_table(columns=list(key_columns), filter=prefilter, schema=dataset.schema)
                self._remember(key, part)
            parts.append(part)
        if not parts:
            return dataset.schema.empty_table().select(list(key_columns))
        return pa.concat_tables(parts)

    def _remember(self, key: tuple[str, tuple[str, ...], Any], part: Any) -> None:
        with self._lock:
            if key in self._files:
                return
            self._files[key] = part
            self._cached_rows += part.num_rows
            while self._cached_rows > self.cache_rows and len(self._files) > 1:
                _, old = self._files.popitem(last=False)
                self._cached_rows -= old.num_rows

    @staticmethod
    def _since(query: Query) -> tuple[str, datetime] | None:
        """The query's lower time bound, rounded down to the day (so a day's queries share the cache)."""
        for f in query.where:
            if f.op in (">=", ">") and query.column_type(f.column) == "TIMESTAMP" and isinstance(f.value, datetime):
                day = utc(f.value)
                assert day is not None
                return f.column, day.replace(hour=0, minute=0, second=0, microsecond=0)
        return None

    @staticmethod
    def _expression(query: Query, schema: Any) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        expression = None
        for f in query.where:
            field_ = pc.field(f.column)
            arrow_type = schema.field(f.column).type

            def scalar(value: Any, arrow_type: Any = arrow_type) -> Any:
                return pa.scalar(value, type=arrow_type)

            if f.op == "is_null":
                part = field_.is_null()
            elif f.op == "not_null":
                part = field_.is_valid()
            elif f.op == "in":
                part = field_.isin(pa.array(list(f.value), type=arrow_type))
            else:
                value = scalar(f.value)
                part = {"=": field_ == value, "!=": field_ != value, ">": field_ > value,
                        ">=": field_ >= value, "<": field_ < value, "<=": field_ <= value}[f.op]
            expression = part if expression is None else expression & part
        return expression

    @staticmethod
    def _aggregate(query: Query, table: Any) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        specs: list[tuple[str, str]] = []
        anys: dict[str, str] = {}
        for i, agg in enumerate(query.aggregates):
            if agg.func == "any":
                # First row of each group, by index: works for every type (maps and lists too).
                name = f"__row{i}"
                table = table.append_column(name, pa.array(range(table.num_rows), type=pa.int64()))
                specs.append((name, "min"))
                anys[f"{name}_min"] = agg.column
            elif agg.func == "count":
                name = f"__one{i}"
                table = table.append_column(name, pa.array([1] * table.num_rows, type=pa.int64()))
                specs.append((name, "sum"))
            elif agg.func == "count_true":
                name = f"__true{i}"
                values = pc.cast(pc.fill_null(table.column(agg.column), False), pa.int64())
                table = table.append_column(name, values)
                specs.append((name, "sum"))
            else:
                specs.append((agg.column, agg.func))
        grouped = table.group_by(list(query.group_by), use_threads=False).aggregate(specs)
        # pyarrow names aggregate columns "<col>_<func>" first, then the keys.
        ordered = [f"{c}_{fn}" for c, fn in specs]
        grouped = grouped.select([*ordered, *query.group_by])
        columns = [
            table.column(anys[name]).take(grouped.column(name)) if name in anys else grouped.column(name)
            for name in ordered
        ]
        names = [a.alias for a in query.aggregates]
        return pa.table([*columns, *(grouped.column(k) for k in query.group_by)],
                        names=[*names, *query.group_by])


# -- databricks: SQL through the Statement Execution API ----------------------------------------------
class SqlReader:
    """:class:`TableReader` over a :class:`SqlRunner` (a SQL warehouse on the ``databricks`` target)."""

    target = "databricks"

    def __init__(self, runner: SqlRunner, locator: TableLocator) -> None:
        self.runner = runner
        self.locator = locator
        self._exists: dict[str, bool] = {}

    def sql(self, query: Query) -> tuple[str, dict[str, Any]]:
        """The statement and its parameters (exposed for tests and audits)."""
        from dataops_intelligence.alerting.sql import col

        ref = self.locator.output(query.table)
        conditions, params = self._where(query)
        text = f"SELECT {', '.join(self._select(query))} FROM {ref.sql}"
        if conditions:
            text += " WHERE " + " AND ".join(conditions)
        if query.group_by:
            text += " GROUP BY " + ", ".join(col(c) for c in query.group_by)
        if query.order_by:
            text += " ORDER BY " + ", ".join(f"{col(c)} {'DESC' if d else 'ASC'}" for c, d in query.order_by)
        return text + f" LIMIT {int(query.limit)}", params

    @staticmethod
    def _select(query: Query) -> list[str]:
        from dataops_intelligence.alerting.sql import col, iso

        select: list[str] = []
        for name in query.group_by or query.columns:
            select.append(iso(col(name), name) if query.column_type(name) == "TIMESTAMP" else col(name))
        templates = {"count": "count(*)", "count_true": "sum(CASE WHEN {c} THEN 1 ELSE 0 END)",
                     "any": "any_value({c})", "sum": "sum({c})", "min": "min({c})", "max": "max({c})"}
        for agg in query.aggregates:
            expr = templates[agg.func].format(c=col(agg.column))
            kind = query.column_type(agg.column) if agg.func in ("min", "max", "any") else ""
            select.append(iso(expr, agg.alias) if kind == "TIMESTAMP" else f"{expr} AS {col(agg.alias)}")
        return select

    @staticmethod
    def _where(query: Query) -> tuple[list[str], dict[str, Any]]:
        from dataops_intelligence.alerting.sql import col, placeholder

        params: dict[str, Any] = {}
        conditions: list[str] = []
        for i, f in enumerate(query.where):
            kind = query.column_type(f.column)
            if f.op in ("is_null", "not_null"):
                conditions.append(f"{col(f.column)} IS {'NOT ' if f.op == 'not_null' else ''}NULL")
            elif f.op == "in":
                names = [f"p{i}_{j}" for j in range(len(f.value))]
                params.update(zip(names, f.value, strict=True))
                cells = ", ".join(placeholder(n, kind) for n in names) or "NULL"
                conditions.append(f"{col(f.column)} IN ({cells})")
            else:
                params[f"p{i}"] = f.value
                conditions.append(f"{col(f.column)} {f.op} {placeholder(f'p{i}', kind)}")
        return conditions, params

    def read(self, query: Query) -> list[dict[str, Any]]:
        ref = self.locator.output(query.table)
        if not self._exists.get(query.table):
            self._exists[query.table] = self.runner.table_exists(ref)
            if not self._exists[query.table]:
                return []
        text, params = self.sql(query)
        rows = self.runner.query(text, params, limit=query.limit)
        types = _output_types(query)
        return [{c: _normalise(row.get(c), types[c]) for c in query.output_columns} for row in rows]


def arrow_schema(table: OutputTable) -> Any:
    """The pyarrow schema of a registered table (for writers of local tables: fixtures, silences)."""
    import pyarrow as pa

    def arrow(kind: str) -> Any:
        kind = kind.upper().replace(" ", "")
        simple = {"STRING": pa.string(), "TIMESTAMP": pa.timestamp("us", tz="UTC"), "DOUBLE": pa.float64(),
                  "INT": pa.int32(), "BIGINT": pa.int64(), "BOOLEAN": pa.bool_()}
        if kind in simple:
            return simple[kind]
        if kind.startswith("DECIMAL("):
            precision, scale = (int(x) for x in kind[8:-1].split(","))
            return pa.decimal128(precision, scale)
        if kind.startswith("ARRAY<"):
            return pa.list_(arrow(kind[6:-1]))
        if kind.startswith("MAP<"):
            key, value = kind[4:-1].split(",", 1)
            return pa.map_(arrow(key), arrow(value))
        raise QueryError(f"{table.name}: no Arrow type for {kind}")

    return pa.schema([pa.field(c.name, arrow(c.type)) for c in table.columns])


__all__ = [
    "MAX_ROWS",
    "Agg",
    "DeltaReader",
    "Filter",
    "Query",
    "QueryError",
    "SqlReader",
    "TableReader",
    "arrow_schema",
    "utc",
]
