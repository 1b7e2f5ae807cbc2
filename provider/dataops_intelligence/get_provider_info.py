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
                "python-modules": ["dataops_intelligence.operators.stages"],
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
                },
            }
        },
    }
