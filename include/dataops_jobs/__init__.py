"""Spark jobs shipped to Databricks by DataOps Intelligence."""
