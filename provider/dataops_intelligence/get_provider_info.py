"""Provider metadata for Airflow's provider discovery (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    """What ``airflow providers list`` shows; the version comes from the distribution metadata."""
    return {
        "package-name": "airflow-provider-dataops-intelligence",
        "name": "DataOps Intelligence",
        "description": "Databricks job monitoring: collection from system tables, health scores, "
        "anomaly detection and fatigue-free alerting to Slack, email, Microsoft Teams and webhooks.",
        "integrations": [
            {
                "integration-name": "DataOps Intelligence",
                "external-doc-url": "https://github.com/dataops-intelligence/dataops-intelligence",
                "tags": ["service"],
            }
        ],
        "operators": [
            {
                "integration-name": "DataOps Intelligence",
                "python-modules": [
                    "dataops_intelligence.operators.stages",
                    "dataops_intelligence.operators.databricks",
                ],
            }
        ],
        "hooks": [
            {
                "integration-name": "DataOps Intelligence",
                "python-modules": [
                    "dataops_intelligence.hooks.databricks",
                    "dataops_intelligence.hooks.spark_submit",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "DataOps Intelligence",
                "python-modules": ["dataops_intelligence.triggers.databricks"],
            }
        ],
        "extra-links": ["dataops_intelligence.links.DataOpsRunLink"],
        "plugins": [
            {
                "name": "dataops_intelligence",
                "plugin-class": "dataops_intelligence.dashboard.plugin.DataOpsDashboardPlugin",
            }
        ],
        "config": {
            "dataops": {
                "description": "Deployment-wide settings of DataOps Intelligence.",
                "options": {
                    "config_path": {
                        "description": "Base YAML config file of the monitoring DAGs.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/airflow/config/base.yaml",
                        "default": "",
                    },
                    "environment": {
                        "description": "Environment overlay to apply (dev, staging, prod).",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "prod",
                        "default": "",
                    },
                    "databricks_retry_limit": {
                        "description": "Attempts per Databricks API call on connection errors, 429 and 5xx.",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": "8",
                        "default": "8",
                    },
                    "databricks_retry_delay": {
                        "description": "First retry wait in seconds (doubles per attempt, at least "
                        "Retry-After, at most 60 s).",
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": "1.0",
                        "default": "1.0",
                    },
                },
            }
        },
    }
