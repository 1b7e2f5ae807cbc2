"""The DataOps dashboard: an Airflow 3 UI plugin (FastAPI app + navigation entry) over the output tables.

- ``plugin``: the ``AirflowPlugin`` (registered by the provider, loadable from ``plugins/``);
- ``app``: the FastAPI app: pages, static assets and a JSON API, every route behind Airflow's auth
  manager (``auth``);
- ``tables``: bounded, parameterised reads of the output tables: ``deltalake`` on the local target
  (no JVM), the SQL Statement Execution API on ``databricks``;
- ``views``: what each page shows, computed from those reads (pure);
- ``silences``: silences created and expired from the UI, read by every alert cycle.

Nothing here imports pyspark.
"""
