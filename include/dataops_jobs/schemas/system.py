"""Spark schemas of the Databricks system tables, built from the reference DDL.

The DDL text below is copied column for column from ``reference/databricks.md`` (sections 1.6, 2.5
and 3.3); it is the single source of truth for the local table contract. ``parse_ddl`` turns a
column list into a ``StructType`` without a running JVM, so ``SYSTEM_TABLES`` is a plain module
constant; the tests check it against Spark's own DDL parser and against what Delta stores.
"""

from __future__ import annotations

import re

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

_JOBS = """
  account_id STRING, workspace_id STRING, job_id STRING, name STRING, creator_id STRING,
  tags MAP<STRING, STRING>, run_as STRING, change_time TIMESTAMP, delete_time TIMESTAMP,
  description STRING,
  `trigger` STRUCT<
    file_arrival: STRUCT<url: STRING, min_time_between_triggers_seconds: INT, wait_after_last_change_seconds: INT>,
    periodic: STRUCT<`interval`: INT, units: STRING>,
    continuous: STRUCT<enabled: BOOLEAN>,
    table_update: STRUCT<table_names: ARRAY<STRING>, min_time_between_triggers_seconds: BIGINT,
                         wait_after_last_change_seconds: BIGINT, `condition`: STRING>,
    schedule: STRUCT<quartz_cron_expression: STRING, timezone_id: STRING>>,
  trigger_type STRING, run_as_user_name STRING, creator_user_name STRING, paused BOOLEAN,
  timeout_seconds BIGINT, health_rules ARRAY<STRUCT<metric: STRING, operator: STRING, value: BIGINT>>,
  deployment STRUCT<kind: STRING, metadata_file_path: STRING>, create_time TIMESTAMP
"""

_JOB_TASKS = """
  account_id STRING, workspace_id STRING, job_id STRING, task_key STRING, depends_on_keys ARRAY<STRING>,
  change_time TIMESTAMP, delete_time TIMESTAMP, timeout_seconds BIGINT,
  health_rules ARRAY<STRUCT<metric: STRING, operator: STRING, value: BIGINT>>
"""

_COMPUTE_ELEM = "ARRAY<STRUCT<type: STRING, cluster_id: STRING, warehouse_id: STRING>>"

_JOB_RUN_TIMELINE = f"""
  account_id STRING, workspace_id STRING, job_id STRING, run_id STRING, period_start_time TIMESTAMP,
  period_end_time TIMESTAMP, trigger_type STRING, result_state STRING, run_type STRING, run_name STRING,
  compute_ids ARRAY<STRING>, termination_code STRING, job_parameters MAP<STRING, MAP<STRING, STRING>>,
  source_task_run_id STRING, root_task_run_id STRING, compute {_COMPUTE_ELEM}, termination_type STRING,
  setup_duration_seconds BIGINT, queue_duration_seconds BIGINT, run_duration_seconds BIGINT,
  cleanup_duration_seconds BIGINT, execution_duration_seconds BIGINT
"""

_JOB_TASK_RUN_TIMELINE = f"""
  account_id STRING, workspace_id STRING, job_id STRING, run_id STRING, job_run_id STRING,
  parent_run_id STRING, period_start_time TIMESTAMP, period_end_time TIMESTAMP, task_key STRING,
  compute_ids ARRAY<STRING>, result_state STRING, termination_code STRING, compute {_COMPUTE_ELEM},
  termination_type STRING, task_parameters MAP<STRING, STRING>, setup_duration_seconds BIGINT,
  cleanup_duration_seconds BIGINT, execution_duration_seconds BIGINT
"""

_CLUSTERS = """
  account_id STRING, workspace_id STRING, cluster_id STRING, cluster_name STRING, owned_by STRING,
  create_time TIMESTAMP, delete_time TIMESTAMP, driver_node_type STRING, worker_node_type STRING,
  worker_count BIGINT, min_autoscale_workers BIGINT, max_autoscale_workers BIGINT,
  auto_termination_minutes BIGINT, enable_elastic_disk BOOLEAN, tags MAP<STRING, STRING>,
  cluster_source STRING, init_scripts ARRAY<STRING>,
  aws_attributes STRUCT<instance_profile_arn: STRING, zone_id: STRING, first_on_demand: INT,
                        availability: STRING, spot_bid_price_percent: INT, ebs_volume_type: STRING,
                        ebs_volume_count: INT, ebs_volume_size: INT, ebs_volume_iops: INT,
                        ebs_volume_throughput: INT>,
  azure_attributes STRUCT<first_on_demand: INT, availability: STRING, spot_bid_max_price: DOUBLE>,
  gcp_attributes STRUCT<use_preemptible_executors: BOOLEAN, zone_id: STRING, first_on_demand: INT,
                        availability: STRING>,
  driver_instance_pool_id STRING, worker_instance_pool_id STRING, dbr_version STRING,
  change_time TIMESTAMP, change_date DATE, data_security_mode STRING, policy_id STRING
"""

_NODE_TYPES = "account_id STRING, node_type STRING, core_count DOUBLE, memory_mb BIGINT, gpu_count BIGINT"

_NODE_TIMELINE = """
  account_id STRING, workspace_id STRING, cluster_id STRING, instance_id STRING, start_time TIMESTAMP,
  end_time TIMESTAMP, driver BOOLEAN, cpu_user_percent DOUBLE, cpu_system_percent DOUBLE,
  cpu_wait_percent DOUBLE, mem_used_percent DOUBLE, mem_swap_percent DOUBLE, network_sent_bytes BIGINT,
  network_received_bytes BIGINT, disk_free_bytes_per_mount_point MAP<STRING, BIGINT>, node_type STRING
"""

_USAGE_METADATA = """STRUCT<
    cluster_id: STRING, job_id: STRING, warehouse_id: STRING, instance_pool_id: STRING, node_type: STRING,
    job_run_id: STRING, notebook_id: STRING, dlt_pipeline_id: STRING, endpoint_name: STRING,
    endpoint_id: STRING, dlt_update_id: STRING, dlt_maintenance_id: STRING, run_name: STRING,
    job_name: STRING, notebook_path: STRING, central_clean_room_id: STRING, source_region: STRING,
    destination_region: STRING, app_id: STRING, app_name: STRING, metastore_id: STRING,
    private_endpoint_name: STRING, storage_api_type: STRING, budget_policy_id: STRING,
    ai_runtime_pool_id: STRING,
    ai_runtime_workload_id: STRING, uc_table_catalog: STRING, uc_table_schema: STRING,
    uc_table_name: STRING, database_instance_id: STRING, sharing_materialization_id: STRING,
    schema_id: STRING, usage_policy_id: STRING, base_environment_id: STRING, agent_bricks_id: STRING,
    index_id: STRING, catalog_id: STRING, project_id: STRING, branch_id: STRING, table_id: STRING,
    supervisor_agent_id: STRING, networking_client: STRING, associated_product: STRING,
    recipient_id: STRING, interactive_source: STRING, snapshot_id: STRING,
    ai_gateway: STRUCT<endpoint_name: STRING, endpoint_id: STRING, destination_id: STRING,
                       destination_model: STRING>,
    genie: STRUCT<surface: STRING, channel: STRING, agent_id: STRING>,
    data_source: STRING, operation: STRING, serverless_compute_id: STRING, entity_full_name: STRING,
    failover_group_name: STRING>"""

_PRODUCT_FEATURES = """STRUCT<
    jobs_tier: STRING, sql_tier: STRING, dlt_tier: STRING, is_serverless: BOOLEAN, is_photon: BOOLEAN,
    serving_type: STRING, networking: STRUCT<connectivity_type: STRING>,
    ai_runtime: STRUCT<compute_type: STRING>, model_serving: STRUCT<offering_type: STRING>,
    ai_gateway: STRUCT<feature_type: STRING>, performance_target: STRING,
    serverless_gpu: STRUCT<workload_type: STRING>,
    agent_bricks: STRUCT<problem_type: STRING, workload_type: STRING>,
    ai_functions: STRUCT<ai_function: STRING>, apps: STRUCT<compute_size: STRING>,
    lakeflow_connect: STRUCT<task_type: STRING, zerobus_request_type: STRING>,
    lakebase: STRUCT<storage_type: STRING, compute_type: STRING>,
    ai_bi_genie: STRUCT<capability_type: STRING, offering_type: STRING>,
    genie: STRUCT<offering_type: STRING>>"""

_USAGE = f"""
  account_id STRING, workspace_id STRING, record_id STRING, sku_name STRING, cloud STRING,
  usage_start_time TIMESTAMP, usage_end_time TIMESTAMP, usage_date DATE, custom_tags MAP<STRING, STRING>,
  usage_unit STRING, usage_quantity DECIMAL(38, 18), usage_metadata {_USAGE_METADATA},
  identity_metadata STRUCT<run_as: STRING, created_by: STRING, owned_by: STRING, run_by: STRING>,
  record_type STRING, ingestion_date DATE, billing_origin_product STRING,
  product_features {_PRODUCT_FEATURES}, usage_type STRING
"""

_LIST_PRICES = """
  account_id STRING, price_start_time TIMESTAMP, price_end_time TIMESTAMP, sku_name STRING, cloud STRING,
  currency_code STRING, usage_unit STRING,
  pricing STRUCT<`default`: DECIMAL(38, 18), promotional: STRUCT<`default`: DECIMAL(38, 18)>,
                 effective_list: STRUCT<`default`: DECIMAL(38, 18)>>
"""

SYSTEM_TABLE_DDL: dict[str, str] = {
    "lakeflow.jobs": _JOBS,
    "lakeflow.job_tasks": _JOB_TASKS,
    "lakeflow.job_run_timeline": _JOB_RUN_TIMELINE,
    "lakeflow.job_task_run_timeline": _JOB_TASK_RUN_TIMELINE,
    "compute.clusters": _CLUSTERS,
    "compute.node_types": _NODE_TYPES,
    "compute.node_timeline": _NODE_TIMELINE,
    "billing.usage": _USAGE,
    "billing.list_prices": _LIST_PRICES,
}
"""Column list (Spark DDL, ``name TYPE, ...``) of each system table, keyed ``<schema>.<table>``."""

_ATOMIC: dict[str, DataType] = {
    "STRING": StringType(),
    "TIMESTAMP": TimestampType(),
    "DATE": DateType(),
    "BOOLEAN": BooleanType(),
    "INT": IntegerType(),
    "BIGINT": LongType(),
    "DOUBLE": DoubleType(),
}
_TOKEN = re.compile(r"\s*(`[^`]+`|[A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),:])")


class _DdlParser:
    """Recursive-descent parser for the subset of Spark DDL used by the system tables."""

    def __init__(self, text: str) -> None:
        self._tokens = _tokenize(text)
        self._pos = 0

    def _peek(self) -> str:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else ""

    def _next(self, expected: str | None = None) -> str:
        token = self._peek()
        if not token or (expected is not None and token.upper() != expected):
            raise ValueError(f"DDL parse error at token {self._pos} ({token!r}), expected {expected!r}")
        self._pos += 1
        return token

    def fields(self, closing: str) -> StructType:
        fields: list[StructField] = []
        while True:
            name = self._next().strip("`")
            if self._peek() == ":":
                self._next(":")
            fields.append(StructField(name, self.data_type(), True))
            if self._peek() != ",":
                break
            self._next(",")
        if self._peek() != closing:
            raise ValueError(f"DDL parse error: expected {closing!r}, found {self._peek()!r}")
        return StructType(fields)

    def data_type(self) -> DataType:
        word = self._next().upper()
        if word in _ATOMIC:
            return _ATOMIC[word]
        if word == "DECIMAL":
            self._next("(")
            precision = int(self._next())
            self._next(",")
            scale = int(self._next())
            self._next(")")
            return DecimalType(precision, scale)
        self._next("<")
        result: DataType
        if word == "ARRAY":
            result = ArrayType(self.data_type(), True)
        elif word == "MAP":
            key = self.data_type()
            self._next(",")
            result = MapType(key, self.data_type(), True)
        elif word == "STRUCT":
            result = self.fields(">")
        else:
            raise ValueError(f"unsupported DDL type {word!r}")
        self._next(">")
        return result

    def done(self) -> bool:
        return self._pos == len(self._tokens)


def _tokenize(text: str) -> list[str]:
    text = re.sub(r"--[^\n]*", "", text).strip()
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos:].strip() == "":
                break
            raise ValueError(f"DDL tokenize error near {text[pos : pos + 30]!r}")
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


def parse_ddl(ddl: str) -> StructType:
    """Parse a Spark DDL column list (``a STRING, b MAP<STRING, BIGINT>``) into a ``StructType``.

    Every field is nullable, as Spark's own parser and Delta make them.
    """
    parser = _DdlParser(ddl)
    schema = parser.fields("")
    if not parser.done():
        raise ValueError("DDL parse error: trailing tokens")
    return schema


SYSTEM_TABLES: dict[str, StructType] = {name: parse_ddl(ddl) for name, ddl in SYSTEM_TABLE_DDL.items()}
"""Exact Spark schema of each system table, keyed ``<schema>.<table>`` (e.g. ``lakeflow.jobs``)."""


def system_table_schema(name: str) -> StructType:
    """Schema of ``name`` given as ``lakeflow.jobs`` or ``system.lakeflow.jobs``."""
    key = name.removeprefix("system.")
    try:
        return SYSTEM_TABLES[key]
    except KeyError:
        raise KeyError(f"unknown system table {name!r}; known: {sorted(SYSTEM_TABLES)}") from None
