"""Typed configuration of DataOps Intelligence: YAML base + environment overlay, ``${VAR}``
substitution, validation into frozen pydantic models, secrets only by reference.

    from dataops_jobs.config import load_config
    config = load_config("config/base.yaml", env="prod")
    catalog, schema, table = config.output_table("job_health_scores")

Only the standard library, PyYAML and pydantic are imported here: this package runs on Databricks,
under spark-submit and inside Airflow alike.
"""

from __future__ import annotations

from dataops_jobs.config.alerting import (
    AlertingConfig,
    ChannelConfig,
    ChannelsConfig,
)
from dataops_jobs.config.diagnostics import format_config_error
from dataops_jobs.config.loader import ENV_VAR, deep_merge, load_config, load_config_from_dict
from dataops_jobs.config.models import (
    AnomalyConfig,
    CollectionConfig,
    ComputeConfig,
    Config,
    DatabricksComputeConfig,
    DatabricksConfig,
    HealthConfig,
    HealthWeights,
    JobSla,
    LocalConfig,
    LoggingConfig,
    OutputTables,
    RecommendationsConfig,
    RetentionConfig,
    SchedulesConfig,
    SlaConfig,
    SourceTables,
    SparkSubmitConfig,
    StorageConfig,
)
from dataops_jobs.config.types import (
    ConnId,
    EmailAddress,
    Identifier,
    SchemaTable,
    SecretRef,
    StrictModel,
    is_identifier,
    quote_identifier,
)
from dataops_jobs.errors import ConfigError, DataOpsError

__all__ = [
    "ENV_VAR",
    "AlertingConfig",
    "AnomalyConfig",
    "ChannelConfig",
    "ChannelsConfig",
    "CollectionConfig",
    "ComputeConfig",
    "Config",
    "ConfigError",
    "ConnId",
    "DataOpsError",
    "DatabricksComputeConfig",
    "DatabricksConfig",
    "EmailAddress",
    "HealthConfig",
    "HealthWeights",
    "Identifier",
    "JobSla",
    "LocalConfig",
    "LoggingConfig",
    "OutputTables",
    "RecommendationsConfig",
    "RetentionConfig",
    "SchedulesConfig",
    "SchemaTable",
    "SecretRef",
    "SlaConfig",
    "SourceTables",
    "SparkSubmitConfig",
    "StorageConfig",
    "StrictModel",
    "deep_merge",
    "format_config_error",
    "is_identifier",
    "load_config",
    "load_config_from_dict",
    "quote_identifier",
]
