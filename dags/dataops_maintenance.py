"""Airflow DAG: DataOps Intelligence maintenance (retention, housekeeping, OPTIMIZE and VACUUM)."""

from __future__ import annotations

from dataops_intelligence.dag_factory import build_maintenance_dag

dag = build_maintenance_dag()
