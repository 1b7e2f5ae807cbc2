"""Airflow DAG: DataOps Intelligence health checks (source tables, output location, alert channels)."""

from __future__ import annotations

from dataops_intelligence.dag_factory import build_health_check_dag

dag = build_health_check_dag()
