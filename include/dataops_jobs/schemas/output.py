"""The output tables users query: columns, types, comments and natural keys.

The seed's columns come first in each table and are never removed; the rest are what users need to
act on a row (workspace, result state, termination code, attempts, costs...).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One output column: Spark SQL type and the comment written into the table."""

    name: str
    type: str
    comment: str


@dataclass(frozen=True)
class OutputTable:
    """An output table: its columns, its MERGE key and the column its retention is based on."""

    name: str
    comment: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    time_column: str
    bookkeeping: tuple[str, ...] = ()
    """Columns saying when or how a row was written (``collected_at``...): a MERGE whose only
    difference is in them leaves the row as it is, so they keep the time the content last changed."""

    @property
    def ddl(self) -> str:
        """Column list for CREATE TABLE, with comments (identifiers backquoted)."""
        parts = [f"`{c.name}` {c.type} COMMENT '{c.comment.replace(chr(39), '')}'" for c in self.columns]
        return ", ".join(parts)

    @property
    def column_names(self) -> list[str]:
        """Column names in table order."""
        return [c.name for c in self.columns]


def _cols(*spec: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


JOB_MONITORING = OutputTable(
    name="job_monitoring",
    comment="One row per Databricks job run, assembled from system.lakeflow timeline slices",
    keys=("workspace_id", "job_id", "run_id"),
    time_column="start_time",
    columns=_cols(
        ("job_id", "STRING", "Databricks job id (unique within a workspace)"),
        ("job_name", "STRING", "Job name from the latest system.lakeflow.jobs row"),
        ("run_id", "STRING", "Job run id"),
        ("status", "STRING", "RUNNING while in flight, else the final result_state"),
        ("start_time", "TIMESTAMP", "Start of the first slice of the run (UTC)"),
        ("end_time", "TIMESTAMP", "End of the final slice; NULL while the run is in flight (UTC)"),
        ("duration_minutes", "DOUBLE", "Run duration: sum of slice durations, in minutes"),
        ("cluster_id", "STRING", "First cluster the run's tasks used (NULL for serverless)"),
        ("created_by", "STRING", "Job creator (user name, else principal id)"),
        ("tags", "MAP<STRING,STRING>", "Job tags"),
        ("workspace_id", "STRING", "Workspace id"),
        ("result_state", "STRING", "Final result_state from the last terminal slice; NULL while running"),
        ("termination_code", "STRING", "Final termination_code; NULL while running"),
        ("termination_type", "STRING", "Final termination_type (SUCCESS, CLIENT_ERROR, ...)"),
        ("failure_category", "STRING", "user_error, platform, capacity, cancelled or NULL"),
        ("trigger_type", "STRING", "CRON, ONETIME, ONETIME_RETRY, FILE_ARRIVAL, CONTINUOUS..."),
        ("run_type", "STRING", "JOB_RUN, SUBMIT_RUN or WORKFLOW_RUN"),
        ("run_name", "STRING", "Run name"),
        ("attempts", "INT", "Terminal rows for the run: 1 plus the number of repairs"),
        ("is_failed", "BOOLEAN", "Final result_state is ERROR, FAILED or TIMED_OUT"),
        ("cluster_ids", "ARRAY<STRING>", "Every cluster the run's tasks used"),
        ("task_count", "INT", "Distinct task keys run"),
        ("queue_duration_seconds", "BIGINT", "Queue time from the final slice (NULL before Dec 2025)"),
        ("setup_duration_seconds", "BIGINT", "Setup time from the final slice"),
        ("execution_duration_seconds", "BIGINT", "Execution time from the final slice"),
        ("job_deleted", "BOOLEAN", "The job has since been deleted"),
        ("run_as", "STRING", "Principal the job runs as"),
        ("collected_at", "TIMESTAMP", "End of the collection interval that last changed this row"),
    ),
    bookkeeping=("collected_at",),
)

RESOURCE_METRICS = OutputTable(
    name="resource_metrics",
    comment="Per cluster per minute utilisation from system.compute.node_timeline, attributed to job runs",
    keys=("workspace_id", "cluster_id", "timestamp", "job_id", "run_id"),
    time_column="timestamp",
    columns=_cols(
        ("job_id", "STRING", "Job whose run used the cluster in this minute (NULL if none)"),
        ("cluster_id", "STRING", "Cluster id"),
        ("timestamp", "TIMESTAMP", "Minute start (UTC)"),
        ("cpu_utilization", "DOUBLE", "Mean of cpu_user_percent + cpu_system_percent over instances"),
        ("memory_utilization", "DOUBLE", "Mean mem_used_percent over instances"),
        ("disk_utilization", "DOUBLE", "Percent of local disk used, relative to the most free space seen"),
        ("network_io", "BIGINT", "Bytes sent plus received by all instances in the minute"),
        ("workspace_id", "STRING", "Workspace id"),
        ("run_id", "STRING", "Job run using the cluster in this minute (NULL if none)"),
        ("cpu_utilization_max", "DOUBLE", "Busiest instance: cpu_user_percent + cpu_system_percent"),
        ("memory_utilization_max", "DOUBLE", "Highest mem_used_percent over instances"),
        ("driver_memory_utilization", "DOUBLE", "mem_used_percent of the driver"),
        ("cpu_wait_percent", "DOUBLE", "Mean cpu_wait_percent (I/O wait)"),
        ("swap_percent", "DOUBLE", "Highest mem_swap_percent over instances"),
        ("instance_count", "INT", "Instances reporting in the minute"),
        ("collected_at", "TIMESTAMP", "End of the collection interval that last changed this row"),
        ("driver_cpu_utilization", "DOUBLE", "cpu_user_percent + cpu_system_percent of the driver"),
    ),
    bookkeeping=("collected_at",),
)

JOB_COSTS = OutputTable(
    name="job_costs",
    comment="Cost per job run from system.billing.usage at list prices",
    keys=("workspace_id", "job_id", "run_id"),
    time_column="usage_start",
    columns=_cols(
        ("workspace_id", "STRING", "Workspace id"),
        ("job_id", "STRING", "usage_metadata.job_id"),
        ("run_id", "STRING", "usage_metadata.job_run_id"),
        ("usage_start", "TIMESTAMP", "First billed hour"),
        ("usage_end", "TIMESTAMP", "End of the last billed hour"),
        ("dbus", "DECIMAL(38,18)", "DBUs billed (retractions and restatements netted)"),
        ("list_cost", "DECIMAL(38,18)", "DBUs times the effective list price"),
        ("currency_code", "STRING", "Price currency"),
        ("sku_names", "ARRAY<STRING>", "SKUs billed"),
        ("is_serverless", "BOOLEAN", "Billed as serverless compute"),
        ("record_count", "INT", "Usage records for the run"),
        ("collected_at", "TIMESTAMP", "End of the collection interval that last changed this row"),
    ),
    bookkeeping=("collected_at",),
)

WATERMARKS = OutputTable(
    name="watermarks",
    comment="Incremental collection state: the latest source time read per source",
    keys=("source",),
    time_column="updated_at",
    columns=_cols(
        ("source", "STRING", "Source name (job_run_timeline, node_timeline, usage...)"),
        ("watermark", "TIMESTAMP", "Latest source time read"),
        ("rows_read", "BIGINT", "Rows read by the last cycle"),
        ("updated_at", "TIMESTAMP", "End of the interval that set the watermark"),
    ),
)

OUTPUT_TABLES: dict[str, OutputTable] = {
    t.name: t for t in (JOB_MONITORING, RESOURCE_METRICS, JOB_COSTS, WATERMARKS)
}


def register(table: OutputTable) -> None:
    """Add a table (health scores, anomalies, a custom processor's output) to the registry."""
    existing = OUTPUT_TABLES.get(table.name)
    if existing is not None and existing != table:
        raise ValueError(f"output table {table.name!r} is already registered with another schema")
    OUTPUT_TABLES[table.name] = table
