"""Fixed vocabularies and reference data of the simulated account (value sets from the reference §1.5)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import NamedTuple

ACCOUNT_ID = "7d3c1f2a-5b8e-4a90-9c61-2f4e8b0d1a37"
CLOUD = "AWS"
METASTORE_ID = "3f9b2c1d-8e7a-4d6b-a5c4-0b1e2d3f4a5b"
HOUR = 3600
DAY = 86400
LOOKBACK_DAYS = 3
"""Runs scheduled up to this many days earlier may still emit rows (long runs, late repairs)."""

AUG_2024_COLUMNS_SINCE = datetime(2024, 8, 26, tzinfo=timezone.utc)
DEC_2025_COLUMNS_SINCE = datetime(2025, 12, 1, tzinfo=timezone.utc)
"""Rows earlier than these carry NULL in the columns Databricks added then (reference §0)."""


class NodeType(NamedTuple):
    """A cloud instance type: the node_types row plus the DBU rate used for billing."""

    name: str
    cores: float
    memory_mb: int
    gpus: int
    dbu_per_hour: float


NODE_TYPES: tuple[NodeType, ...] = (
    NodeType("m5d.large", 2.0, 8192, 0, 0.34),
    NodeType("m5d.xlarge", 4.0, 16384, 0, 0.69),
    NodeType("m5d.2xlarge", 8.0, 32768, 0, 1.37),
    NodeType("r5d.xlarge", 4.0, 32768, 0, 0.90),
    NodeType("r5d.2xlarge", 8.0, 65536, 0, 1.80),
    NodeType("c5d.2xlarge", 8.0, 16384, 0, 1.21),
    NodeType("i3.xlarge", 4.0, 31232, 0, 1.00),
    NodeType("g4dn.xlarge", 4.0, 16384, 1, 1.47),
)
NODE_TYPE_BY_NAME = {node.name: node for node in NODE_TYPES}

SKU_JOBS = "PREMIUM_JOBS_COMPUTE"
SKU_JOBS_PHOTON = "PREMIUM_JOBS_COMPUTE_(PHOTON)"
SKU_JOBS_SERVERLESS = "PREMIUM_JOBS_SERVERLESS_COMPUTE_US_EAST_N_VIRGINIA"
SKU_ALL_PURPOSE = "PREMIUM_ALL_PURPOSE_COMPUTE"
SERVERLESS_DBU_PER_HOUR = 4.0


class PricePoint(NamedTuple):
    """A list price of a SKU and, when it changes during the simulation, its new price."""

    sku: str
    price: Decimal
    new_price: Decimal | None


PRICES: tuple[PricePoint, ...] = (
    PricePoint(SKU_JOBS, Decimal("0.15"), Decimal("0.17")),
    PricePoint(SKU_JOBS_PHOTON, Decimal("0.15"), None),
    PricePoint(SKU_JOBS_SERVERLESS, Decimal("0.35"), Decimal("0.39")),
    PricePoint(SKU_ALL_PURPOSE, Decimal("0.55"), None),
)
PRICE_HISTORY_START = datetime(2023, 1, 1, tzinfo=timezone.utc)
PRICE_CHANGE_DAY = 14
"""Day (from the simulation start) at which the changed SKUs get their new list price."""

DBR_VERSIONS = (
    "16.4.x-scala2.12",
    "15.4.x-scala2.12",
    "14.3.x-scala2.12",
    "13.3.x-scala2.12",
    "12.2.x-scala2.12",
)
TEAMS = ("data-platform", "analytics", "growth", "finance", "ml", "marketing", "risk")
DOMAINS = (
    "orders",
    "customers",
    "payments",
    "inventory",
    "events",
    "sessions",
    "marketing",
    "ledger",
    "shipments",
    "products",
    "clickstream",
    "fraud",
    "recommendations",
    "pricing",
    "support",
)
VERBS = ("etl", "ingest", "aggregate", "sync", "export", "train", "score", "compact", "validate")
USERS = (
    "alice.martin",
    "bob.chen",
    "carla.rossi",
    "deepak.iyer",
    "emma.schmidt",
    "farid.haddad",
    "grace.kim",
    "hugo.laurent",
)
SERVICE_PRINCIPALS = ("2b1f6c4e-9d3a-47e8-b5a1-6c0d9e8f7a21", "8e4d2a1b-7c6f-4e3d-9a8b-1c2d3e4f5a6b")
EMAIL_DOMAIN = "example.com"

CLIENT_ERROR_CODES = (
    "RUN_EXECUTION_ERROR",
    "RUN_EXECUTION_ERROR",
    "RUN_EXECUTION_ERROR",
    "LIBRARY_INSTALLATION_ERROR",
    "STORAGE_ACCESS_ERROR",
    "UNAUTHORIZED_ERROR",
    "RESOURCE_NOT_FOUND",
    "REPOSITORY_CHECKOUT_FAILED",
    "INVALID_RUN_CONFIGURATION",
)
PLATFORM_ERROR_CODES = (
    "DRIVER_ERROR",
    "DRIVER_ERROR",
    "CLUSTER_ERROR",
    "CLOUD_FAILURE",
    "INVALID_CLUSTER_REQUEST",
    "CLUSTER_REQUEST_LIMIT_EXCEEDED",
    "WORKSPACE_RUN_LIMIT_EXCEEDED",
)
SETUP_FAILURE_CODES = frozenset(
    {
        "CLUSTER_ERROR",
        "CLOUD_FAILURE",
        "INVALID_CLUSTER_REQUEST",
        "CLUSTER_REQUEST_LIMIT_EXCEEDED",
        "WORKSPACE_RUN_LIMIT_EXCEEDED",
        "LIBRARY_INSTALLATION_ERROR",
        "REPOSITORY_CHECKOUT_FAILED",
    }
)
TERMINATION_TYPE = {
    "SUCCESS": "SUCCESS",
    "CANCELLED": "SUCCESS",
    "SKIPPED": "SUCCESS",
    "CLOUD_FAILURE": "CLOUD_FAILURE",
    "DRIVER_ERROR": "INTERNAL_ERROR",
    "CLUSTER_ERROR": "INTERNAL_ERROR",
    "INVALID_CLUSTER_REQUEST": "CLIENT_ERROR",
    "CLUSTER_REQUEST_LIMIT_EXCEEDED": "CLIENT_ERROR",
    "WORKSPACE_RUN_LIMIT_EXCEEDED": "CLIENT_ERROR",
}
"""termination_code -> termination_type (REST vocabulary, INFERRED for the table); default CLIENT_ERROR."""
