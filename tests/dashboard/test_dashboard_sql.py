"""The warehouse reader's statements (what the SQL Statement Execution API receives on ``databricks``)
run on the suite's local Spark through ``SparkSqlRunner`` give the same pages as the deltalake reader,
and a silence MERGEd through SQL is read back by deltalake."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from synthetic import write_tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = [pytest.mark.spark]
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def test_warehouse_statements_give_the_same_pages(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> None:
    from dataops_intelligence.alerting.sql import SparkSqlRunner
    from dataops_intelligence.dashboard import views
    from dataops_intelligence.dashboard.silences import DeltaSilenceStore, SqlSilenceStore, new_silence
    from dataops_intelligence.dashboard.tables import DeltaReader, SqlReader
    from dataops_jobs.config.models import Config
    from dataops_jobs.io import TableLocator

    warehouse = tmp_path_factory.mktemp("sql-warehouse")
    write_tables(warehouse, jobs=4, days=7, now=NOW)
    locator = TableLocator(Config.model_validate({"local": {"warehouse_path": str(warehouse)}}), by_path=True)
    runner = SparkSqlRunner(spark)
    sql, delta = SqlReader(runner, locator), DeltaReader(locator)
    fleet = [_plain(views.fleet(r, NOW)) for r in (sql, delta)]
    for page in fleet:
        for job in page["jobs"]:
            job["cost"], job["dbus"] = round(job["cost"], 6), round(job["dbus"], 6)
    assert fleet[0] == fleet[1]
    assert _plain(views.job_page(sql, "1001", "100", NOW)) == _plain(views.job_page(delta, "1001", "100", NOW))
    assert _plain(views.alerts(sql, NOW)) == _plain(views.alerts(delta, NOW))

    record = new_silence(["job_id=100"], timedelta(hours=1), "through SQL", "oncall", NOW)
    store = SqlSilenceStore(runner, locator)
    store.save(record)
    store.expire(record.silence_id, "oncall", NOW + timedelta(minutes=1))
    [read] = DeltaSilenceStore(locator).list(NOW)
    assert read.silence_id == record.silence_id
    assert read.state(NOW + timedelta(minutes=2)) == "expired"
