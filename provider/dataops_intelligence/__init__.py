"""DataOps Intelligence: an Airflow provider for monitoring Databricks jobs."""
