"""The typed configuration: one frozen pydantic model per section, :class:`Config` at the root.

Defaults suit a 2-core laptop running the ``local`` target; ``config/base.yaml`` documents every key.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Literal

from pydantic import Field, field_validator, model_validator

from dataops_jobs.config.alerting import AlertingConfig
from dataops_jobs.config.types import (
    ConnId,
    FieldProblem,
    Identifier,
    SchemaTable,
    SecretRef,
    StrictModel,
    problem,
)
from dataops_jobs.errors import ConfigError

__all__ = [
    "AnomalyConfig",
    "CollectionConfig",
    "ComputeConfig",
    "Config",
    "DatabricksComputeConfig",
    "DatabricksConfig",
    "HealthConfig",
    "HealthWeights",
    "JobSla",
    "LocalConfig",
    "LoggingConfig",
    "OutputTables",
    "RecommendationsConfig",
    "RetentionConfig",
    "SchedulesConfig",
    "SlaConfig",
    "SourceTables",
    "SparkSubmitConfig",
    "StorageConfig",
]

_ENVIRONMENT = re.compile(r"[A-Za-z0-9_-]+")
_MEMORY = re.compile(r"[1-9][0-9]*[kKmMgGtT]?")
_HH_MM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_CRON_PRESETS = frozenset({"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@yearly"})
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class DatabricksConfig(StrictModel):
    """The monitored workspace(s): where the Airflow Databricks connection points."""

    workspace_url: str | None = None
    access_token: SecretRef | None = None
    conn_id: ConnId = "databricks_default"
    workspace_ids: list[str] = Field(default_factory=list)

    @field_validator("workspace_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if not value:
            return None  # `${DATABRICKS_HOST:}` left empty: the connection's host is used
        if not value.startswith(("https://", "http://")):
            raise problem("url", "expected a URL starting with https:// (http:// only for a local emulator)")
        return value.rstrip("/")


class DatabricksComputeConfig(StrictModel):
    """How the Spark jobs run on Databricks (``runs/submit``): serverless, existing or job cluster."""

    cluster_mode: Literal["serverless", "existing_cluster", "job_cluster"] = "serverless"
    existing_cluster_id: str | None = None
    spark_version: str = "16.4.x-scala2.12"
    node_type_id: str = "i3.xlarge"
    num_workers: int = Field(default=1, ge=0)
    code_path: str = "/Workspace/Shared/dataops_intelligence"
    polling_period_seconds: int = Field(default=30, ge=1)
    deferrable: bool = True
    timeout_seconds: int = Field(default=3600, ge=0)
    #: SQL warehouse the alert task reads its inputs and keeps its state through (Statement Execution
    #: API); required when the alert task runs on the databricks target.
    warehouse_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]+$")

    @model_validator(mode="after")
    def _cluster_id_for_existing_cluster(self) -> DatabricksComputeConfig:
        if self.cluster_mode == "existing_cluster" and not self.existing_cluster_id:
            raise FieldProblem(
                "existing_cluster_id", "expected a cluster id when cluster_mode is existing_cluster"
            )
        return self


class SparkSubmitConfig(StrictModel):
    """The ``spark_submit`` target: a Spark cluster reached through an Airflow Spark connection."""

    conn_id: ConnId = "spark_default"
    master: str | None = None
    conf: dict[str, str] = Field(default_factory=dict)

    @field_validator("conf", mode="before")
    @classmethod
    def _stringify(cls, value: object) -> object:
        # YAML reads `spark.x.enabled: true` as a bool; Spark conf values are strings.
        if isinstance(value, dict):
            return {key: str(item).lower() if isinstance(item, bool) else item for key, item in value.items()}
        return value


class ComputeConfig(StrictModel):
    """Where the Spark jobs run; the same code runs on every target."""

    target: Literal["local", "databricks", "spark_submit"] = "local"
    databricks: DatabricksComputeConfig = Field(default_factory=DatabricksComputeConfig)
    spark_submit: SparkSubmitConfig = Field(default_factory=SparkSubmitConfig)


class OutputTables(StrictModel):
    """Names of the output tables inside ``<catalog_name>.<schema_name>``."""

    job_monitoring: Identifier = "job_monitoring"
    resource_metrics: Identifier = "resource_metrics"
    job_costs: Identifier = "job_costs"
    job_health_scores: Identifier = "job_health_scores"
    job_anomalies: Identifier = "job_anomalies"
    alert_history: Identifier = "alert_history"
    watermarks: Identifier = "_watermarks"
    alert_outbox: Identifier = "alert_outbox"
    analysis_state: Identifier = "_analysis_state"
    job_recommendations: Identifier = "job_recommendations"


class SourceTables(StrictModel):
    """System tables read by the collectors, as ``schema.table`` inside ``source_catalog``."""

    jobs: SchemaTable = "lakeflow.jobs"
    job_tasks: SchemaTable = "lakeflow.job_tasks"
    job_run_timeline: SchemaTable = "lakeflow.job_run_timeline"
    job_task_run_timeline: SchemaTable = "lakeflow.job_task_run_timeline"
    clusters: SchemaTable = "compute.clusters"
    node_timeline: SchemaTable = "compute.node_timeline"
    node_types: SchemaTable = "compute.node_types"
    usage: SchemaTable = "billing.usage"
    list_prices: SchemaTable = "billing.list_prices"


class StorageConfig(StrictModel):
    """Output location (Unity Catalog names, or directories under the local warehouse) and sources."""

    catalog_name: Identifier = "dataops_intelligence"
    schema_name: Identifier = "monitoring"
    tables: OutputTables = Field(default_factory=OutputTables)
    source_catalog: Identifier = "system"
    sources: SourceTables = Field(default_factory=SourceTables)
    partition_by_date: bool = False


DEFAULT_DRIVER_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=256m"


class LocalConfig(StrictModel):
    """The ``local`` target: embedded PySpark + Delta; relative paths are resolved by consumers."""

    system_tables_path: str = ".dataops/system_tables"
    warehouse_path: str = ".dataops/warehouse"
    jars_dir: str | None = None
    spark_master: str = "local[2]"
    shuffle_partitions: int = Field(default=4, ge=1)
    driver_memory: str = "2g"
    #: JVM options of the embedded driver. The default trades peak JIT speed for less compile work
    #: (C1 only, one GC thread): a short Delta MERGE workload ran 1.6x faster on a 2-core machine
    #: (benchmarks/jvm_options_benchmark.py). Set "" for long runs over large workspaces.
    driver_java_options: str = DEFAULT_DRIVER_JAVA_OPTIONS

    @field_validator("driver_memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        if _MEMORY.fullmatch(value) is None:
            raise problem("memory", "expected a JVM memory size such as 2g or 512m")
        return value


class CollectionConfig(StrictModel):
    """Incremental collection: initial backfill window, re-read window for late rows, batch cap."""

    lookback_days: int = Field(default=30, ge=1)
    overlap_minutes: int = Field(default=180, ge=0)
    max_rows_per_batch: int | None = Field(default=None, ge=1)


class AnalysisConfig(StrictModel):
    """Analysis watermarks: how far back the first cycle scores, and which findings are too old to notify."""

    backfill_days: int | None = Field(default=None, ge=1, le=3650)
    notify_max_age_hours: float = Field(default=24.0, ge=0, le=24 * 3650)


class HealthWeights(StrictModel):
    """Relative weights of the health score components; consumers normalise them to sum 1.

    Reliability first (success rate, current failures: 0.6), then promises (SLA 0.15), then
    performance (stability, duration and cost drift together 0.2), so that failures outrank duration
    trouble (the reasoning is in ``dataops_jobs.health`` and the README).
    """

    success_rate: float = Field(default=0.4, ge=0)
    current_failures: float = Field(default=0.2, ge=0)
    sla_adherence: float = Field(default=0.15, ge=0)
    retry_rate: float = Field(default=0.05, ge=0)
    performance_stability: float = Field(default=0.08, ge=0)
    duration_drift: float = Field(default=0.07, ge=0)
    cost_drift: float = Field(default=0.05, ge=0)

    @model_validator(mode="after")
    def _positive_sum(self) -> HealthWeights:
        if sum(self.as_dict().values()) <= 0:
            raise ValueError("expected at least one weight greater than 0")
        return self

    def as_dict(self) -> dict[str, float]:
        """The weights by component name."""
        return {name: float(getattr(self, name)) for name in type(self).model_fields}


class HealthConfig(StrictModel):
    """Health scoring windows and weights."""

    window_days: int = Field(default=14, ge=1)
    baseline_days: int = Field(default=30, ge=1)
    min_runs_for_confidence: int = Field(default=10, ge=1)
    weights: HealthWeights = Field(default_factory=HealthWeights)
    neutral_score: float = Field(default=75.0, ge=0, le=100)
    trend_z: float = Field(default=2.58, gt=0)
    drift_tolerance: float = Field(default=0.1, ge=0)
    max_failure_rate: float = Field(default=0.5, gt=0, le=1)
    failing_streak_runs: int = Field(default=2, ge=1)


def _default_thresholds() -> dict[str, float]:
    return {"low": 0.5, "medium": 0.7, "high": 0.85, "critical": 0.95}


def _default_metrics() -> list[str]:
    return ["cpu_utilization", "memory_utilization", "disk_utilization", "network_io"]


class AnomalyConfig(StrictModel):
    """Anomaly detection: history needed before scoring, severity cut-offs on the 0-1 score, metrics."""

    min_history_runs: int = Field(default=8, ge=1)
    severity_thresholds: dict[str, float] = Field(default_factory=_default_thresholds)
    resource_metrics: list[Identifier] = Field(default_factory=_default_metrics)
    failure_streak_runs: int = Field(default=3, ge=2)
    failure_streak_hours: float | None = Field(default=48.0, gt=0)
    retry_storm_runs: int = Field(default=4, ge=2)
    retry_storm_window: int = Field(default=10, ge=2)
    saturation_percent: float = Field(default=95.0, gt=0, le=100)
    memory_warn_percent: float = Field(default=80.0, gt=0, le=100)
    forecast_horizon_minutes: int = Field(default=60, ge=1)
    trend_minutes: int = Field(default=30, ge=5)
    cpu_saturation_percent: float = Field(default=85.0, gt=0, le=100)
    cpu_saturation_minutes: int = Field(default=20, ge=2)

    @field_validator("severity_thresholds")
    @classmethod
    def _unit_interval(cls, value: dict[str, float]) -> dict[str, float]:
        for name, threshold in value.items():
            if not 0 <= threshold <= 1:
                raise problem("threshold", f"expected thresholds between 0 and 1 ({name} is {threshold})")
        return value


class JobSla(StrictModel):
    """An SLA for one job, matched by name or id: a maximum duration and/or a daily deadline."""

    job_name: str | None = None
    job_id: str | None = None
    max_duration_minutes: float | None = Field(default=None, gt=0)
    finish_by: str | None = None
    timezone: str = "UTC"

    @field_validator("finish_by")
    @classmethod
    def _hh_mm(cls, value: str | None) -> str | None:
        if value is not None and _HH_MM.fullmatch(value) is None:
            raise problem("finish_by", "expected a time of day HH:MM (24-hour, such as 06:30)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value != "UTC":
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise problem("timezone", "expected an IANA time zone such as UTC or Europe/Paris") from None
        return value

    @model_validator(mode="after")
    def _complete(self) -> JobSla:
        if not (self.job_name or self.job_id):
            raise FieldProblem("job_name", "expected job_name or job_id to say which job the SLA is for")
        if self.max_duration_minutes is None and self.finish_by is None:
            raise FieldProblem("max_duration_minutes", "expected max_duration_minutes or finish_by (or both)")
        return self


class SlaConfig(StrictModel):
    """Per-job SLAs."""

    jobs: list[JobSla] = Field(default_factory=list)


class RecommendationsConfig(StrictModel):
    """Right-sizing and cost recommendations (``dataops_jobs.recommend``): thresholds and guards.

    Each kind and its formula is explained in the README ("Recommendations").
    """

    enabled: bool = True
    #: Days of runs a recommendation is based on (the evidence window).
    lookback_days: int = Field(default=14, ge=1, le=90)
    #: Terminal runs (with cluster metrics, where the kind needs them) a job needs in the window.
    min_runs: int = Field(default=5, ge=2, le=1000)
    #: Hours between two evaluations; per-run evidence is still gathered every cycle. 0 = every cycle.
    evaluate_every_hours: float = Field(default=24.0, ge=0, le=24 * 7)
    #: Right-sizing keeps the run's CPU and memory (its ``utilization_percentile`` over busy minutes)
    #: below these after the change.
    cpu_target_percent: float = Field(default=85.0, gt=0, le=100)
    memory_target_percent: float = Field(default=90.0, gt=0, le=100)
    utilization_percentile: float = Field(default=0.9, ge=0.5, le=1.0)
    #: A run-minute with cluster CPU below this is idle (start-up, waiting), not busy.
    idle_cpu_percent: float = Field(default=12.0, ge=0, le=100)
    #: CPU above this slows a run down in proportion (the duration-risk model).
    no_slowdown_cpu_percent: float = Field(default=70.0, gt=0, le=100)
    #: Jobs without an SLA: the predicted p95 duration may grow by at most this fraction.
    max_duration_increase: float = Field(default=0.25, ge=0, le=5)
    #: Jobs with a max-duration SLA: the predicted p95 must stay this fraction below the limit.
    sla_headroom: float = Field(default=0.2, ge=0, lt=1)
    #: Recommendations saving less than this per month (list-price currency) are not written
    #: (memory pressure is written whenever runs fail on memory).
    min_monthly_savings: float = Field(default=5.0, ge=0)
    #: Idle time: share of a cluster's up-time with no run active (or CPU idle) that is reported.
    idle_min_share: float = Field(default=0.25, gt=0, le=1)
    #: Memory pressure: a run whose peak memory reaches this (or that swaps) ran under pressure.
    memory_pressure_percent: float = Field(default=95.0, gt=0, le=100)
    #: Memory pressure is reported when this share of runs ran under pressure or one failed on it.
    memory_pressure_share: float = Field(default=0.3, gt=0, le=1)
    #: Autoscaling: reported when the workers a fixed-size run needs average at most this share of
    #: its size (utilisation varies widely within the run).
    autoscale_max_mean_share: float = Field(default=0.7, gt=0, lt=1)
    #: Share of the theoretical autoscaling saving counted (scale-down lags the load).
    autoscale_efficiency: float = Field(default=0.6, gt=0, le=1)
    #: Minutes a job cluster needs to start, added to the p95 when moving a job off all-purpose compute.
    job_cluster_startup_minutes: float = Field(default=5.0, ge=0, le=60)

    @model_validator(mode="after")
    def _ordered(self) -> RecommendationsConfig:
        if self.idle_cpu_percent >= self.cpu_target_percent:
            raise FieldProblem("idle_cpu_percent", "expected idle_cpu_percent below cpu_target_percent")
        return self


def _default_tags() -> list[str]:
    return ["dataops", "databricks", "monitoring"]


class SchedulesConfig(StrictModel):
    """DAG schedules (cron or Airflow presets) and the task defaults of the monitoring DAGs."""

    monitoring: str = "*/30 * * * *"
    health_check: str = "@hourly"
    maintenance: str = "@daily"
    cycle_time_budget_minutes: int = Field(default=25, ge=1)
    max_active_runs: int = Field(default=1, ge=1)
    catchup_max_runs: int = Field(default=3, ge=0)
    retries: int = Field(default=2, ge=0)
    retry_delay_seconds: int = Field(default=60, ge=0)
    retry_exponential_backoff: bool = True
    owner: str = "dataops"
    tags: list[str] = Field(default_factory=_default_tags)

    @field_validator("monitoring", "health_check", "maintenance")
    @classmethod
    def _cron(cls, value: str) -> str:
        value = value.strip()
        if value not in _CRON_PRESETS and len(value.split()) not in (5, 6):
            raise problem("schedule", "expected a cron expression of 5 fields or a preset such as @hourly")
        return value


class RetentionConfig(StrictModel):
    """Days kept per output table (the maintenance DAG deletes older rows) and VACUUM retention."""

    job_monitoring: int = Field(default=365, ge=1)
    resource_metrics: int = Field(default=90, ge=1)
    job_costs: int = Field(default=365, ge=1)
    job_health_scores: int = Field(default=365, ge=1)
    job_anomalies: int = Field(default=180, ge=1)
    alert_history: int = Field(default=365, ge=1)
    vacuum_retain_hours: int = Field(default=168, ge=0)


class LoggingConfig(StrictModel):
    """Log level and format. ``json`` is exposed as ``json_format`` (``json`` is a BaseModel method)."""

    level: str = "INFO"
    json_format: bool = Field(default=True, alias="json")

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            raise problem("log_level", f"expected one of {', '.join(_LOG_LEVELS)}")
        return level


class Config(StrictModel):
    """The validated DataOps Intelligence configuration (the seed's ``Config``), one section per key."""

    environment: str = "dev"
    databricks: DatabricksConfig = Field(default_factory=DatabricksConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    local: LocalConfig = Field(default_factory=LocalConfig)
    collection: CollectionConfig = Field(default_factory=CollectionConfig)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    anomaly: AnomalyConfig = Field(default_factory=AnomalyConfig)
    sla: SlaConfig = Field(default_factory=SlaConfig)
    recommendations: RecommendationsConfig = Field(default_factory=RecommendationsConfig)
    schedules: SchedulesConfig = Field(default_factory=SchedulesConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    alerting: AlertingConfig = Field(default_factory=AlertingConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str) -> str:
        if _ENVIRONMENT.fullmatch(value) is None:
            raise problem("environment", "expected an environment name of letters, digits, _ and -")
        return value

    def output_table(self, name: str) -> tuple[str, str, str]:
        """(catalog, schema, table) of the output table ``name`` (a field of ``storage.tables``)."""
        tables = self.storage.tables
        if name not in type(tables).model_fields:
            raise ConfigError(
                f"unknown output table {name!r}; expected one of {', '.join(type(tables).model_fields)}",
                key=f"storage.tables.{name}",
            )
        return self.storage.catalog_name, self.storage.schema_name, str(getattr(tables, name))

    def source_table(self, name: str) -> tuple[str, str, str]:
        """(source catalog, schema, table) of the system table ``name`` (a field of ``storage.sources``)."""
        sources = self.storage.sources
        if name not in type(sources).model_fields:
            raise ConfigError(
                f"unknown source table {name!r}; expected one of {', '.join(type(sources).model_fields)}",
                key=f"storage.sources.{name}",
            )
        schema, table = str(getattr(sources, name)).split(".")
        return self.storage.source_catalog, schema, table

    def to_json(self, indent: int | None = None) -> str:
        """JSON of the whole configuration; secrets appear as their references, never resolved."""
        return self.model_dump_json(by_alias=True, indent=indent)
