"""The dashboard's API and page logic over real local Delta tables (deltalake, no JVM).

The app runs in-process through FastAPI's TestClient with the auth dependencies replaced by a fixed
user (auth itself is tested against the real api-server in ``test_dashboard_browser.py``). The
warehouse target is covered by the SQL the reader generates, run through a recording runner (a
Databricks SQL warehouse cannot run here).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from synthetic import JOB_WITH_INCIDENT, write_tables

if TYPE_CHECKING:
    from pathlib import Path

    from fastapi.testclient import TestClient
    from synthetic import Written

    from dataops_intelligence.dashboard.app import Backend

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Written:
    return write_tables(tmp_path_factory.mktemp("warehouse"), jobs=12, days=14, now=NOW)


@pytest.fixture(scope="module")
def backend(written: Written) -> Backend:
    from dataops_intelligence.dashboard.app import Backend
    from dataops_intelligence.dashboard.silences import DeltaSilenceStore
    from dataops_intelligence.dashboard.tables import DeltaReader
    from dataops_jobs.config.models import Config
    from dataops_jobs.io import TableLocator

    config = Config.model_validate({"local": {"warehouse_path": str(written.warehouse)}})
    locator = TableLocator(config, by_path=True)
    return Backend(DeltaReader(locator), DeltaSilenceStore(locator), "local")


@pytest.fixture(scope="module")
def client(backend: Backend) -> TestClient:
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    from dataops_intelligence.dashboard.app import create_app
    from dataops_intelligence.dashboard.auth import require_edit, require_read

    init_auth_manager()  # the status page asks it which DAGs' tasks the user may see
    app = create_app(backend, clock=lambda: NOW)
    user = SimpleAuthManagerUser(username="oncall", role="user")
    app.dependency_overrides[require_read] = lambda: user
    app.dependency_overrides[require_edit] = lambda: user
    return TestClient(app)


def _runs_last_week(written: Written, table: Path) -> dict[tuple[str, str], tuple[int, int]]:
    from deltalake import DeltaTable

    rows = DeltaTable(str(table)).to_pyarrow_table(columns=["workspace_id", "job_id", "start_time", "is_failed"])
    counts: dict[tuple[str, str], list[int]] = {}
    for row in rows.to_pylist():
        if row["start_time"] >= NOW - timedelta(days=7):
            n = counts.setdefault((row["workspace_id"], row["job_id"]), [0, 0])
            n[0] += 1
            n[1] += int(bool(row["is_failed"]))
    return {k: (v[0], v[1]) for k, v in counts.items()}


def test_fleet_lists_every_job_worst_first_with_its_week(client: TestClient, written: Written) -> None:
    from synthetic import table_path

    body = client.get("/api/fleet").json()
    jobs = body["jobs"]
    assert {(j["workspace_id"], j["job_id"]) for j in jobs} == {(w, j) for w, j, _ in written.jobs}
    assert (jobs[0]["workspace_id"], jobs[0]["job_id"]) == JOB_WITH_INCIDENT
    assert jobs[0]["arrow"] == "down"
    assert jobs[0]["open_alerts"] == 1
    scores = [j["health_score"] for j in jobs]
    assert scores == sorted(scores)
    expected = _runs_last_week(written, table_path(written.warehouse, "job_monitoring"))
    assert {(j["workspace_id"], j["job_id"]): (j["runs"], j["failures"]) for j in jobs} == expected
    assert all(j["cost"] > 0 and j["team"] for j in jobs)


def test_fleet_filters_by_workspace_team_and_tag(client: TestClient) -> None:
    only = client.get("/api/fleet", params={"workspace": "1002"}).json()["jobs"]
    assert only
    assert {j["workspace_id"] for j in only} == {"1002"}
    team = client.get("/api/fleet", params={"team": "marketing"}).json()["jobs"]
    assert team
    assert {j["team"] for j in team} == {"marketing"}
    dev = client.get("/api/fleet", params={"tag": "env=dev"}).json()["jobs"]
    assert dev
    assert all(j["tags"]["env"] == "dev" for j in dev)
    assert client.get("/api/fleet", params={"days": 500}).status_code == 422  # bounded window


def test_job_page_has_history_band_anomalies_failures_costs_metrics_and_slas(client: TestClient) -> None:
    ws, job = JOB_WITH_INCIDENT
    page = client.get(f"/api/jobs/{ws}/{job}").json()
    assert len(page["health"]) >= 14
    assert page["score"]["health_score"] == pytest.approx(38.0)
    assert page["score"]["points_lost"]["success_rate"] == pytest.approx(32.0)
    banded = [r for r in page["runs"] if r["upper"] is not None]
    assert len(banded) > len(page["runs"]) // 2
    flagged = [a for a in page["anomalies"] if a["metric"] == "duration_minutes"]
    assert flagged
    assert all("its median" in a["explanation"] for a in flagged)
    assert page["failures"]
    assert sum(page["termination_codes"].values()) == len(page["failures"])
    assert page["costs"]
    assert page["metrics"]
    assert page["sla_breaches"]
    assert client.get("/api/jobs/1001/does-not-exist").json()["runs"] == []


def test_expected_band_is_causal() -> None:
    from dataops_intelligence.dashboard.views import expected_band

    end = NOW
    runs = [{"duration_minutes": 10.0, "end_time": end, "is_failed": False} for _ in range(8)]
    runs.append({"duration_minutes": 90.0, "end_time": end, "is_failed": False})
    band = expected_band(runs)
    assert band[4]["upper"] is None
    assert band[5]["upper"] is not None
    assert band[8]["upper"] < 90.0  # the regression is judged against its past, not itself


def test_anomalies_filter_by_minimum_severity_and_type(client: TestClient) -> None:
    high = client.get("/api/anomalies", params={"severity": "high"}).json()["anomalies"]
    assert high
    assert {a["severity"] for a in high} <= {"high", "critical"}
    every = client.get("/api/anomalies", params={"anomaly_type": "duration_regression"}).json()
    assert len(every["anomalies"]) > len(high)
    assert every["types"]["duration_regression"] >= len(every["anomalies"])
    assert all(a["explanation"] and a["job_id"] for a in every["anomalies"])


def test_alerts_show_delivery_status_per_channel(client: TestClient) -> None:
    body = client.get("/api/alerts").json()
    firing = next(a for a in body["alerts"] if a["status"] == "firing")
    by_channel = {d["channel"]: d for d in firing["deliveries"]}
    assert by_channel["slack"]["status"] == "sent"
    assert by_channel["email"]["status"] == "failed"
    assert "421" in by_channel["email"]["last_error"]
    assert by_channel["teams"]["status"] == "pending"
    assert body["deliveries"] == {"sent": 2, "failed": 1, "pending": 1}


def test_status_shows_every_stage_with_its_lag(client: TestClient) -> None:
    body = client.get("/api/status").json()
    stages = {s["source"]: s for s in body["stages"]}
    assert {"job_run_timeline", "analysis.health", "analysis.alerts"} <= set(stages)
    assert stages["job_run_timeline"]["lag_minutes"] == pytest.approx(30.0)
    assert body["alert_cycles"][0]["sent"] == 1


def test_pages_and_assets_are_served(client: TestClient) -> None:
    assert "DataOps Intelligence" in client.get("/").text
    js = client.get("/static/uPlot.iife.min.js")
    assert js.status_code == 200
    assert "uPlot" in js.text
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404


def test_silence_requests_are_validated(client: TestClient) -> None:
    bad = client.post("/api/silences", json={"matchers": ["job_id=~("], "duration_minutes": 60, "comment": "x"})
    assert bad.status_code == 422
    assert "matchers" in bad.json()["detail"]
    long = client.post("/api/silences", json={"matchers": ["job_id=1"], "duration_minutes": 60 * 24 * 31,
                                               "comment": "x"})
    assert long.status_code == 422
    assert client.post("/api/silences/0123456789abcdef/expire").status_code == 404


def test_a_silence_from_the_api_mutes_the_next_cycle_and_expiring_it_unmutes(
    client: TestClient, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Created through the API, read by the same code the alert task runs (``with_stored_silences``),
    honoured by the real engine: the silenced job's alert is not delivered, the other job's is."""
    from support import cycle_with_stored_silences, loopback_webhook

    from dataops_intelligence.alerting.model import AlertStatus
    from dataops_intelligence.alerting.store import InMemoryAlertStore

    with loopback_webhook(monkeypatch) as received:
        created = client.post("/api/silences", json={"matchers": ["job_id=100"], "duration_minutes": 120,
                                                     "comment": "deploying a fix"})
        assert created.status_code == 201, created.text
        silence = created.json()
        assert silence["state"] == "active"
        assert silence["created_by"] == "oncall"
        store = InMemoryAlertStore()
        states = cycle_with_stored_silences(backend.silences, store, ["100", "101"])
        assert states["100"].status is AlertStatus.SILENCED
        assert states["100"].muted_by == f"silence:{silence['silence_id']}"
        assert [b["labels"]["job_id"] for b in received] == ["101"]
        expired = client.post(f"/api/silences/{silence['silence_id']}/expire")
        assert expired.json()["state"] == "expired"
        assert expired.json()["expired_by"] == "oncall"
        states = cycle_with_stored_silences(backend.silences, store, ["100", "101"])
        assert states["100"].status is AlertStatus.FIRING
        assert [b["labels"]["job_id"] for b in received] == ["101", "100"]
    listed = client.get("/api/silences").json()["silences"]
    assert listed[0]["silence_id"] == silence["silence_id"]
    assert listed[0]["state"] == "expired"


def test_queries_are_bounded_and_validated() -> None:
    from dataops_intelligence.dashboard.tables import MAX_ROWS, Filter, Query, QueryError

    with pytest.raises(QueryError, match="unknown column"):
        Query("job_monitoring", ("job_id", "password"))
    with pytest.raises(QueryError, match="limit"):
        Query("job_monitoring", ("job_id",), limit=MAX_ROWS + 1)
    with pytest.raises(QueryError, match="unknown table"):
        Query("users", ("job_id",))
    with pytest.raises(QueryError, match="operator"):
        Query("job_monitoring", ("job_id",), where=(Filter("job_id", "LIKE", "%"),))


class RecordingRunner:
    """Stands in for the SQL warehouse: records statements, answers with canned rows."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def query(self, sql: str, params: Any = None, *, limit: int | None = None) -> list[dict[str, Any]]:
        self.calls.append((sql, dict(params or {})))
        return self.rows

    def execute(self, sql: str, params: Any = None) -> None:
        self.calls.append((sql, dict(params or {})))

    def table_exists(self, ref: Any) -> bool:
        return True


def test_warehouse_queries_are_parameterised() -> None:
    from dataops_intelligence.dashboard.tables import Agg, Filter, Query, SqlReader
    from dataops_jobs.config.models import Config
    from dataops_jobs.io import TableLocator

    hostile = "1' OR '1'='1"
    runner = RecordingRunner([{"job_id": "1", "runs": 3, "last": "2026-12-01T00:00:00.000000+00:00",
                               "cost": "1.50"}])
    reader = SqlReader(runner, TableLocator(Config.model_validate({}), by_path=False))
    rows = reader.read(Query("job_monitoring", group_by=("job_id",),
                             aggregates=(Agg("count", "run_id", "runs"), Agg("max", "start_time", "last")),
                             where=(Filter("job_id", "=", hostile), Filter("start_time", ">=", NOW)), limit=10))
    sql, params = runner.calls[-1]
    assert hostile not in sql
    assert params["p0"] == hostile
    assert "`dataops_intelligence`.`monitoring`.`job_monitoring`" in sql
    assert sql.endswith("LIMIT 10")
    assert "CAST(:p1 AS TIMESTAMP)" in sql
    assert "GROUP BY `job_id`" in sql
    assert rows == [{"job_id": "1", "runs": 3, "last": datetime(2026, 12, 1, tzinfo=timezone.utc)}]


def test_the_alert_task_reads_the_stored_silences(backend: Backend, written: Written) -> None:
    """``AlertCycleOperator`` (local target) adds ``alert_silences`` to the rules file's silences."""
    from dataops_intelligence.alerting.policy_config import PolicyConfig
    from dataops_intelligence.alerting.rules_loader import AlertingSettings
    from dataops_intelligence.dashboard.silences import new_silence
    from dataops_intelligence.operators.alerts import AlertCycleOperator
    from dataops_jobs.config.models import Config

    record = new_silence(["workspace_id=1002"], timedelta(hours=1), "maintenance", "oncall",
                         datetime.now(timezone.utc))
    backend.silences.save(record)
    config = Config.model_validate({"local": {"warehouse_path": str(written.warehouse)}})
    settings = AlertingSettings(rules=(), channels=(), policy=PolicyConfig())
    found = AlertCycleOperator(task_id="alerts").with_ui_silences(settings, config, "local", None)  # type: ignore[arg-type]
    assert record.silence_id in {s.silence_id for s in found.policy.silences}


def test_utilisation_is_downsampled_to_bounded_points() -> None:
    from dataops_intelligence.dashboard.views import downsample

    rows = [{"timestamp": NOW + timedelta(minutes=i), "cpu_utilization": float(i % 10), "memory_utilization": 50.0,
             "cpu_utilization_max": float(i % 10), "memory_utilization_max": 60.0, "run_id": "r"}
            for i in range(10_000)]
    out = downsample(rows, points=100)
    assert 95 <= len(out) <= 101
    assert max(r["cpu_utilization_max"] for r in out) == 9.0
    assert out[0]["cpu_utilization"] == pytest.approx(4.5)
    assert downsample(rows[:50], points=100) == rows[:50]


def test_airflow_notifications_honour_dashboard_silences(
    backend: Backend, written: Written, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``DataOpsNotifier`` (task failures of users' DAGs) reads ``alert_silences`` too; an unreadable
    config never blocks a notification."""
    import yaml

    from dataops_intelligence.alerting.policy_config import PolicyConfig
    from dataops_intelligence.alerting.rules_loader import AlertingSettings
    from dataops_intelligence.dashboard.silences import new_silence
    from dataops_intelligence.notifiers import deployment_config, with_dashboard_silences

    record = new_silence(["dag_id=nightly_load"], timedelta(hours=1), "known outage", "oncall",
                         datetime.now(timezone.utc))
    backend.silences.save(record)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"local": {"warehouse_path": str(written.warehouse)}}))
    settings = AlertingSettings(rules=(), channels=(), policy=PolicyConfig())
    monkeypatch.delenv("AIRFLOW__DATAOPS__CONFIG_PATH", raising=False)
    monkeypatch.setenv("DATAOPS_CONFIG", str(config))
    silenced = with_dashboard_silences(settings, deployment_config())
    assert record.silence_id in {s.silence_id for s in silenced.policy.silences}
    monkeypatch.setenv("DATAOPS_CONFIG", str(tmp_path / "missing.yaml"))
    assert deployment_config() is None
    assert with_dashboard_silences(settings, deployment_config()) is settings


def test_plugin_module_builds_the_app_only_when_the_api_server_asks() -> None:
    """Task processes load every plugin (macros): importing ours must not import the FastAPI app."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from dataops_intelligence.dashboard.plugin import DataOpsDashboardPlugin as P\n"
        "assert 'dataops_intelligence.dashboard.app' not in sys.modules, 'app imported at plugin import'\n"
        "apps = P.fastapi_apps\n"
        "assert apps is P.fastapi_apps and apps[0]['url_prefix'] == '/dataops'\n"
        "assert type(apps[0]['app']).__name__ == 'FastAPI'\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
