"""The system-table schemas: our DDL parser agrees with Spark's, and Delta stores them unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from dataops_jobs.schemas import SYSTEM_TABLE_DDL, SYSTEM_TABLES, parse_ddl, system_table_schema
from dataops_jobs.simulator import table_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from tests.simulator.conftest import Sims

EXPECTED_COLUMNS = {
    "lakeflow.jobs": 19,
    "lakeflow.job_tasks": 9,
    "lakeflow.job_run_timeline": 22,
    "lakeflow.job_task_run_timeline": 18,
    "compute.clusters": 27,
    "compute.node_types": 5,
    "compute.node_timeline": 16,
    "billing.usage": 18,
    "billing.list_prices": 8,
}


def test_every_table_has_its_reference_column_count() -> None:
    assert {name: len(schema.fields) for name, schema in SYSTEM_TABLES.items()} == EXPECTED_COLUMNS


def test_spot_checks_of_types() -> None:
    usage = SYSTEM_TABLES["billing.usage"]
    assert usage["usage_quantity"].dataType.simpleString() == "decimal(38,18)"
    metadata = usage["usage_metadata"].dataType.names  # type: ignore[attr-defined]
    assert len(metadata) == 53  # every field the reference DDL lists (25 confirmed + 28 from a 3P DDL)
    assert metadata[:6] == [
        "cluster_id",
        "job_id",
        "warehouse_id",
        "instance_pool_id",
        "node_type",
        "job_run_id",
    ]
    assert metadata[24] == "ai_runtime_pool_id"
    assert metadata[-1] == "failover_group_name"
    runs = SYSTEM_TABLES["lakeflow.job_run_timeline"]
    assert runs["job_parameters"].dataType.simpleString() == "map<string,map<string,string>>"
    assert runs["run_id"].dataType.simpleString() == "string"
    jobs = SYSTEM_TABLES["lakeflow.jobs"]
    assert jobs["trigger"].dataType.simpleString().startswith("struct<file_arrival:struct<url:string")
    assert SYSTEM_TABLES["compute.clusters"]["change_date"].dataType.simpleString() == "date"
    assert system_table_schema("system.compute.node_types") is SYSTEM_TABLES["compute.node_types"]


def test_parser_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="DDL"):
        parse_ddl("a STRING, b MAP<STRING")


@pytest.mark.spark
@pytest.mark.parametrize("table", sorted(SYSTEM_TABLE_DDL))
def test_schema_matches_spark_parser_and_delta(spark: SparkSession, sims: Sims, table: str) -> None:
    from pyspark.sql.types import StructType

    expected = StructType.fromDDL(SYSTEM_TABLE_DDL[table])
    assert SYSTEM_TABLES[table] == expected
    stored = spark.read.format("delta").load(table_path(str(sims.full), table)).schema
    assert [(f.name, f.dataType.simpleString()) for f in stored.fields] == [
        (f.name, f.dataType.simpleString()) for f in expected.fields
    ]
    assert stored == expected  # nullability included
