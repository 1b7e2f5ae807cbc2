"""Airflow DAG: the DataOps Intelligence monitoring cycle, built from config/ (see the provider's dag_factory)."""

from __future__ import annotations

from dataops_intelligence.dag_factory import build_monitoring_dag

dag = build_monitoring_dag()
