"""Spark schemas of the Databricks system tables the platform reads (see ``system``)."""

from __future__ import annotations

from dataops_jobs.schemas.system import SYSTEM_TABLE_DDL, SYSTEM_TABLES, parse_ddl, system_table_schema

__all__ = ["SYSTEM_TABLES", "SYSTEM_TABLE_DDL", "parse_ddl", "system_table_schema"]
