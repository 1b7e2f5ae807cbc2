"""A Hive-metastore-backed stand-in for a Databricks runtime's Spark, for the real-chain tests.

On Databricks the job's session already has Delta and a catalog where ``system.lakeflow.*`` and the
output schema resolve by name (``compute.target`` other than ``local`` reads/writes by name). The
emulator's task subprocess and the spark-submit driver get the same through ``spark-defaults.conf`` /
``--conf``: Delta jars from the cache, the Delta catalog and a Derby Hive metastore in which the
simulated system tables are registered as external Delta tables (catalog ``spark_catalog``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

REGISTER = r'''
import sys
from pyspark.sql import SparkSession
root, schemas, tables = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
spark = SparkSession.builder.getOrCreate()
for schema in schemas:
    spark.sql(f"CREATE SCHEMA IF NOT EXISTS spark_catalog.{schema}")
for name in tables:
    schema, table = name.split(".")
    spark.sql(f"CREATE TABLE IF NOT EXISTS spark_catalog.{schema}.{table} USING DELTA LOCATION '{root}/{schema}/{table}'")
print("registered", len(tables))
'''


def metastore_conf(root: Path) -> dict[str, str]:
    """Spark settings of the stand-in runtime (Delta + Derby Hive metastore under ``root``)."""
    from dataops_jobs.spark_jars import fetch_delta_jars

    java = f"-Dderby.system.home={root} -Dderby.stream.error.file={root / 'derby.log'}"
    return {
        "spark.jars": ",".join(fetch_delta_jars()),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(root / "hive-warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": java,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
    }


def write_conf_dir(directory: Path, conf: dict[str, str]) -> Path:
    """A SPARK_CONF_DIR whose spark-defaults.conf is ``conf`` plus ``spark.master local[1]``."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"{k} {v}" for k, v in {"spark.master": "local[1]", **conf}.items()]
    (directory / "spark-defaults.conf").write_text("\n".join(lines) + "\n")
    return directory


def spark_env(conf_dir: Path) -> dict[str, str]:
    """Environment of a stand-in runtime process."""
    return {"SPARK_CONF_DIR": str(conf_dir), "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}


def register_sources(conf_dir: Path, system_root: Path, schemas: list[str]) -> None:
    """Register the simulated system tables (and create the output schemas) in the metastore."""
    from dataops_jobs.config import Config

    sources = Config().storage.sources
    tables = [str(getattr(sources, f)) for f in type(sources).model_fields]
    tables = [t for t in tables if (system_root / t.replace(".", "/")).exists()]
    all_schemas = sorted({t.split(".")[0] for t in tables} | set(schemas))
    subprocess.run([sys.executable, "-c", REGISTER, str(system_root), ",".join(all_schemas), ",".join(tables)],
                   env={**os.environ, **spark_env(conf_dir)}, check=True, capture_output=True, text=True,
                   timeout=300)


def table_rows(spark: SparkSession, path: Path) -> list[tuple[Any, ...]]:
    """A Delta table's rows (all columns but ``collected_at``), sorted."""
    df = spark.read.format("delta").load(str(path))
    cols = sorted(c for c in df.columns if c != "collected_at")
    return sorted((tuple(r) for r in df.select(*cols).collect()), key=repr)


class MetastoreMirror:
    """The emulator's SQL warehouse: ``SparkSqlExecutor`` on the test's own session, which mirrors one
    schema of the stand-in metastore.

    The job subprocesses register their tables in the Derby metastore, which one JVM at a time can
    open; the test session cannot share it. So the schema is declared in the test session's catalog at
    the same location, and before each statement every Delta table found there is registered by
    name: ``spark_catalog.<schema>.<table>`` resolves to the same files in both catalogs.
    """

    def __init__(self, spark: SparkSession, root: Path, schema: str) -> None:
        from dataops_intelligence.emulator.spark_sql import SparkSqlExecutor

        self.spark = spark
        self.schema = schema
        self.location = root / "hive-warehouse" / f"{schema}.db"
        self.location.mkdir(parents=True, exist_ok=True)
        self.executor = SparkSqlExecutor(spark)
        self._known: set[str] = set()
        spark.sql(f"CREATE SCHEMA IF NOT EXISTS spark_catalog.`{schema}` LOCATION '{self.location}'")

    def __call__(self, statement: str, params: Any) -> Any:
        for table in sorted(self.location.iterdir()):
            if table.name not in self._known and (table / "_delta_log").is_dir():
                self.spark.sql(f"CREATE TABLE IF NOT EXISTS spark_catalog.`{self.schema}`.`{table.name}` "
                               f"USING DELTA LOCATION '{table}'")
                self._known.add(table.name)
        return self.executor(statement, params)


def stable_rows(spark: SparkSession, path: Path, columns: list[str]) -> list[tuple[Any, ...]]:
    """Some columns of a Delta table, sorted: rows minus wall-clock stamps. Maps and arrays compare as
    sorted-key JSON (a map's key order is not part of its value)."""
    import json

    df = spark.read.format("delta").load(str(path)).select(*columns)
    rows = [tuple(json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v
                  for v in r.asDict(recursive=True).values()) for r in df.collect()]
    return sorted(rows, key=repr)
