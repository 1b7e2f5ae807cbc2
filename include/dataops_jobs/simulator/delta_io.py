"""All reads and writes of the simulator: Delta tables at ``<root>/<schema>/<table>`` and two JSON files."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from dataops_jobs.schemas.system import SYSTEM_TABLES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MANIFEST = "_simulator.json"
GROUND_TRUTH = "_ground_truth.json"
_NO_CDF = {"compute.node_types", "billing.list_prices", "compute.node_timeline"}


def table_path(root: str, table: str) -> str:
    """Local table contract: ``system.<schema>.<table>`` lives at ``<root>/<schema>/<table>``."""
    schema, name = table.split(".")
    return os.path.join(root, schema, name)


def rows_frame(spark: SparkSession, table: str, rows: list[dict[str, Any]]) -> DataFrame:
    """A DataFrame with the exact system schema of ``table`` from row dicts (missing keys are NULL)."""
    schema = SYSTEM_TABLES[table]
    data = [tuple(row.get(name) for name in schema.names) for row in rows]
    return spark.createDataFrame(data, schema, verifySchema=False)


def write_table(spark: SparkSession, root: str, table: str, df: DataFrame, *, overwrite: bool) -> None:
    """Overwrite (replacing data and schema) or append to the Delta table of ``table``.

    ``df`` must carry the exact system schema (``rows_frame`` or a cast select); Delta stores every
    column as nullable, as the system tables are.
    """
    writer = df.write.format("delta").mode("overwrite" if overwrite else "append")
    if overwrite:
        writer = writer.option("overwriteSchema", "true")
        if table not in _NO_CDF:
            writer = writer.option("delta.enableChangeDataFeed", "true")
    writer.save(table_path(root, table))


def write_json(root: str, name: str, payload: Any) -> None:
    os.makedirs(root, exist_ok=True)
    tmp = os.path.join(root, f".{name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, sort_keys=False)
    os.replace(tmp, os.path.join(root, name))


def read_json(root: str, name: str) -> Any:
    with open(os.path.join(root, name), encoding="utf-8") as fh:
        return json.load(fh)
