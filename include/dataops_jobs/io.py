"""All reads and writes of the Spark jobs: table locations, incremental reads, Delta MERGE, watermarks.

Two layouts, one contract:
- ``local``: a source ``system.<schema>.<table>`` is the Delta table at
  ``<local.system_tables_path>/<schema>/<table>``; an output ``<catalog>.<schema>.<table>`` is the Delta
  table at ``<local.warehouse_path>/<catalog>/<schema>/<table>``.
- ``databricks`` / ``spark_submit`` with a metastore: Unity Catalog (or Hive) names, backquoted.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dataops_jobs.errors import DataOpsError
from dataops_jobs.schemas.output import OUTPUT_TABLES, Column, OutputTable

if TYPE_CHECKING:
    from datetime import datetime

    from pyspark.sql import DataFrame, SparkSession

    from dataops_jobs.config import Config

log = logging.getLogger(__name__)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SourceTableError(DataOpsError):
    """A system table cannot be read: missing, access denied, or without the expected columns."""


class DeltaWriteError(DataOpsError):
    """A Delta write (create or MERGE) failed; the message names the table and the cause."""


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise DataOpsError(f"invalid identifier {name!r}: expected letters, digits and underscores")
    return f"`{name}`"


@dataclass(frozen=True)
class TableRef:
    """Where a table lives: a path (local layout) or a three-part name (metastore)."""

    catalog: str
    schema: str
    table: str
    path: str | None

    @property
    def name(self) -> str:
        """Human name, ``catalog.schema.table``."""
        return f"{self.catalog}.{self.schema}.{self.table}"

    @property
    def sql(self) -> str:
        """How SQL refers to it: ``delta.`/path``` or a backquoted three-part name."""
        if self.path is not None:
            return f"delta.`{self.path}`"
        return ".".join(_ident(p) for p in (self.catalog, self.schema, self.table))


class TableLocator:
    """Resolves logical table names from config to :class:`TableRef` for the configured target."""

    def __init__(self, config: Config, *, by_path: bool | None = None) -> None:
        self.config = config
        self.by_path = config.compute.target == "local" if by_path is None else by_path

    def source(self, name: str) -> TableRef:
        """A system table by its ``storage.sources`` field name (``job_run_timeline``...)."""
        catalog, schema, table = self.config.source_table(name)
        path = None
        if self.by_path:
            path = str(Path(self.config.local.system_tables_path).resolve() / schema / table)
        return TableRef(catalog, schema, table, path)

    def output(self, name: str) -> TableRef:
        """An output table by its logical name (``job_monitoring``, ``watermarks``, a custom one)."""
        try:
            catalog, schema, table = self.config.output_table(name)
        except DataOpsError:
            catalog, schema, table = self.config.storage.catalog_name, self.config.storage.schema_name, name
        for part in (catalog, schema, table):
            _ident(part)
        path = None
        if self.by_path:
            path = str(Path(self.config.local.warehouse_path).resolve() / catalog / schema / table)
        return TableRef(catalog, schema, table, path)


def read_table(spark: SparkSession, ref: TableRef) -> DataFrame:
    """Read a table, turning "not found" and "access denied" into a :class:`SourceTableError`."""
    from pyspark.errors import AnalysisException

    try:
        if ref.path is not None:
            return spark.read.format("delta").load(ref.path)
        return spark.read.table(ref.sql)
    except AnalysisException as exc:
        where = ref.path or ref.name
        hint = _read_hint(str(exc))
        raise SourceTableError(f"cannot read {ref.name} ({where}): {hint}") from exc


def _read_hint(message: str) -> str:
    lowered = message.lower()
    if "permission" in lowered or "access denied" in lowered or "insufficient" in lowered:
        return "access denied; grant USE CATALOG/USE SCHEMA/SELECT on the system schemas"
    if "not a delta table" in lowered or "path does not exist" in lowered or "not found" in lowered:
        return "table not found; run `dataops simulate` or point local.system_tables_path at your tables"
    return message.splitlines()[0]


def table_exists(spark: SparkSession, ref: TableRef) -> bool:
    """True when the table exists (a Delta table at the path, or a catalog table)."""
    if ref.path is not None:
        from delta.tables import DeltaTable

        return bool(DeltaTable.isDeltaTable(spark, ref.path))
    return bool(spark.catalog.tableExists(ref.name))


_CHECKED: set[str] = set()


def ensure_table(spark: SparkSession, ref: TableRef, table: OutputTable) -> None:
    """Create the output table with its column comments if it does not exist yet; add the columns a
    newer release defines to a table an older one created (checked once per process and table)."""
    if table_exists(spark, ref):
        if ref.sql not in _CHECKED:
            _add_missing_columns(spark, ref, table)
            _CHECKED.add(ref.sql)
        return
    ddl = (
        f"CREATE TABLE IF NOT EXISTS {ref.sql} ({table.ddl}) USING DELTA "
        f"COMMENT '{table.comment.replace(chr(39), '')}'"
    )
    try:
        spark.sql(ddl)
    except Exception as exc:
        raise DeltaWriteError(f"cannot create {ref.name} at {ref.path or ref.sql}: {exc}") from exc
    _CHECKED.add(ref.sql)


def _add_missing_columns(spark: SparkSession, ref: TableRef, table: OutputTable) -> None:
    """``ALTER TABLE ADD COLUMNS`` for the columns of ``table`` that the existing table lacks."""
    present = {f.name.lower() for f in read_table(spark, ref).schema.fields}
    missing = [c for c in table.columns if c.name.lower() not in present]
    if not missing:
        return
    cols = ", ".join(f"`{c.name}` {c.type} COMMENT '{c.comment.replace(chr(39), '')}'" for c in missing)
    log.info("adding %s to %s", ", ".join(c.name for c in missing), ref.name)
    try:
        spark.sql(f"ALTER TABLE {ref.sql} ADD COLUMNS ({cols})")
    except Exception as exc:
        raise DeltaWriteError(f"cannot add columns to {ref.name} at {ref.path or ref.sql}: {exc}") from exc


def merge_into(spark: SparkSession, locator: TableLocator, name: str, df: DataFrame) -> int:
    """MERGE ``df`` into output table ``name`` on its natural keys; return the source row count.

    Rows whose values are unchanged (bookkeeping columns aside) are not rewritten, so re-running an
    interval leaves the table identical and ``collected_at`` keeps the time the content last changed.
    Keys compare null-safely (a metric minute with no job run has a NULL job_id).
    """
    from delta.tables import DeltaTable

    table = OUTPUT_TABLES[name]
    ref = locator.output(name)
    ensure_table(spark, ref, table)
    source = df.select(*table.column_names).dropDuplicates(list(table.keys))
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in table.keys)
    ignored = set(table.keys) | set(table.bookkeeping)
    changed = " OR ".join(_differs(c) for c in table.columns if c.name not in ignored)
    target = DeltaTable.forPath(spark, ref.path) if ref.path else DeltaTable.forName(spark, ref.name)
    try:
        (
            target.alias("t")
            .merge(source.alias("s"), on)
            .whenMatchedUpdateAll(condition=changed or None)
            .whenNotMatchedInsertAll()
            .execute()
        )
    except Exception as exc:
        raise DeltaWriteError(f"MERGE into {ref.name} at {ref.path or ref.sql} failed: {exc}") from exc
    # The MERGE's own metrics, from the Delta log: evaluating the source again would redo its joins.
    metrics = target.history(1).select("operationMetrics").first()
    return int((metrics[0] or {}).get("numSourceRows", 0)) if metrics else 0


def update_where(spark: SparkSession, locator: TableLocator, name: str, condition: str, values: dict[str, str]) -> None:
    """``UPDATE`` output table ``name``: set ``values`` (SQL expressions) where ``condition`` holds.

    ``condition`` and ``values`` are code, never user input (column names are checked)."""
    from delta.tables import DeltaTable

    ref = locator.output(name)
    for column in values:
        _ident(column)
    if not table_exists(spark, ref):
        return
    target = DeltaTable.forPath(spark, ref.path) if ref.path else DeltaTable.forName(spark, ref.name)
    try:
        target.update(condition, dict(values.items()))
    except Exception as exc:
        raise DeltaWriteError(f"UPDATE of {ref.name} at {ref.path or ref.sql} failed: {exc}") from exc


def _differs(column: Column) -> str:
    """SQL that is true when the target and source values of ``column`` differ (MAPs via JSON)."""
    if column.type.upper().startswith("MAP"):
        return f"NOT (to_json(t.`{column.name}`) <=> to_json(s.`{column.name}`))"
    return f"NOT (t.`{column.name}` <=> s.`{column.name}`)"


def read_output(spark: SparkSession, locator: TableLocator, name: str) -> DataFrame | None:
    """An output table, or None before its first write."""
    ref = locator.output(name)
    if not table_exists(spark, ref):
        return None
    return read_table(spark, ref)


def load_watermarks(spark: SparkSession, locator: TableLocator) -> dict[str, datetime]:
    """Latest source time read per source (empty before the first cycle)."""
    df = read_output(spark, locator, "watermarks")
    if df is None:
        return {}
    return {r["source"]: r["watermark"] for r in df.select("source", "watermark").collect()}


def save_watermarks(
    spark: SparkSession, locator: TableLocator, marks: dict[str, tuple[datetime | None, int]], at: datetime
) -> None:
    """Advance watermarks; a source that read nothing keeps its previous watermark."""
    rows = [(src, wm, rows, at) for src, (wm, rows) in marks.items() if wm is not None]
    if not rows:
        return
    df = spark.createDataFrame(rows, "source STRING, watermark TIMESTAMP, rows_read BIGINT, updated_at TIMESTAMP")
    merge_into(spark, locator, "watermarks", df)
