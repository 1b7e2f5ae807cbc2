"""Anomaly detection for job and resource metrics (pure Python, Spark-safe)."""
