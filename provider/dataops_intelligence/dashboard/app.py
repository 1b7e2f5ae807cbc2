"""The dashboard's FastAPI app, mounted by the api-server at ``/dataops`` (see ``plugin``).

Pages (one HTML shell, client-side tabs): ``/`` fleet, ``/#job/<workspace>/<job>``, ``/#anomalies``,
``/#alerts``, ``/#status``. JSON API under ``/api``; static assets (the vendored uPlot chart library,
the page script and styles) under ``/static``. Every route requires an authenticated Airflow user
(:mod:`.auth`); a browser without a session is sent to Airflow's login page.

The tables are read through a :class:`Backend` built once from the provider's config (``[dataops]
config_path``/``DATAOPS_CONFIG``): ``deltalake`` on the local target, the SQL warehouse on
``databricks``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from dataops_intelligence.dashboard import views
from dataops_intelligence.dashboard.auth import (
    HEALTH_CHECK_DAG_ID,
    MONITORING_DAG_ID,
    EditUser,
    ReadUser,
    can_edit,
    can_read_dag,
    user_name,
)
from dataops_intelligence.dashboard.silences import SilenceError, new_silence

if TYPE_CHECKING:
    from collections.abc import Callable

    from dataops_intelligence.dashboard.silences import SilenceStore
    from dataops_intelligence.dashboard.tables import TableReader

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
    "uPlot.iife.min.js": "text/javascript",
    "uPlot.min.css": "text/css",
    "LICENSE.uPlot.txt": "text/plain",
    "icon.svg": "image/svg+xml",
}


@dataclass
class Backend:
    """Where the dashboard reads and where silences go, for the configured target."""

    reader: TableReader
    silences: SilenceStore
    target: str


def backend_from_config() -> Backend:
    """The backend for the provider's config: local Delta (deltalake) or the Databricks SQL warehouse."""
    from dataops_intelligence.settings import config_path, environment
    from dataops_jobs.config import load_config
    from dataops_jobs.io import TableLocator

    config = load_config(config_path(None), env=environment(None))
    target = config.compute.target
    if target == "databricks":
        from dataops_intelligence.dashboard.silences import SqlSilenceStore
        from dataops_intelligence.dashboard.tables import SqlReader
        from dataops_intelligence.hooks.statements import statements_runner

        runner = statements_runner(config.databricks.conn_id, config.compute.databricks.warehouse_id,
                                   caller="DataOps dashboard")
        locator = TableLocator(config, by_path=False)
        return Backend(SqlReader(runner, locator), SqlSilenceStore(runner, locator), target)
    from dataops_intelligence.dashboard.silences import DeltaSilenceStore
    from dataops_intelligence.dashboard.tables import DeltaReader

    locator = TableLocator(config, by_path=True)
    return Backend(DeltaReader(locator), DeltaSilenceStore(locator), "local")


class SilenceBody(BaseModel):
    """A silence request from the UI (or any API client)."""

    matchers: list[str] = Field(min_length=1, max_length=10, description="e.g. job_id=123, rule=~job_.*")
    duration_minutes: int = Field(ge=1, le=43_200)
    comment: str = Field(min_length=1, max_length=1000)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def create_app(backend: Backend | Callable[[], Backend] | None = None,
               clock: Callable[[], datetime] = _now) -> FastAPI:
    """The dashboard app; ``backend`` defaults to :func:`backend_from_config` (built on first use)."""
    app = FastAPI(title="DataOps Intelligence dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    lock = threading.Lock()
    holder: dict[str, Backend] = {}

    def get_backend() -> Backend:
        with lock:
            if "backend" not in holder:
                found = backend if isinstance(backend, Backend) else (backend or backend_from_config)()
                holder["backend"] = found
            return holder["backend"]

    app.state.get_backend = get_backend

    @app.exception_handler(HTTPException)
    async def login_redirect(request: Request, exc: HTTPException) -> Response:
        """A browser opening a page without a session goes to Airflow's login (the API keeps its 401)."""
        if exc.status_code == status.HTTP_401_UNAUTHORIZED and request.url.path.rstrip("/") == request.scope.get(
            "root_path", ""
        ).rstrip("/") and "text/html" in request.headers.get("accept", ""):
            from airflow.api_fastapi.app import get_auth_manager

            return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    _pages(app)
    _read_api(app, get_backend, clock)
    _silence_api(app, get_backend, clock)
    return app


def _pages(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(user: ReadUser) -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"),
                            headers={"Cache-Control": "no-store"})

    @app.get("/static/{name}", include_in_schema=False)
    def asset(name: str, user: ReadUser) -> FileResponse:
        if name not in ASSETS:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such asset")
        return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "private, max-age=300"})


def _read_api(app: FastAPI, get_backend: Callable[[], Backend], clock: Callable[[], datetime]) -> None:
    @app.get("/api/me")
    def me(user: ReadUser) -> dict[str, Any]:
        return {"user": user_name(user), "can_edit": can_edit(user), "target": get_backend().target}

    @app.get("/api/fleet")
    def fleet(user: ReadUser, workspace: str | None = None, team: str | None = None, tag: str | None = None,
              days: int = Query(7, ge=1, le=views.MAX_DAYS)) -> dict[str, Any]:
        return views.fleet(get_backend().reader, clock(), workspace=workspace, team=team, tag=tag, days=days)

    @app.get("/api/jobs/{workspace_id}/{job_id}")
    def job(workspace_id: str, job_id: str, user: ReadUser,
            days: int = Query(30, ge=1, le=views.MAX_DAYS)) -> dict[str, Any]:
        return views.job_page(get_backend().reader, workspace_id, job_id, clock(), days=days)

    @app.get("/api/anomalies")
    def anomalies(user: ReadUser, days: int = Query(7, ge=1, le=views.MAX_DAYS), severity: str | None = None,
                  anomaly_type: str | None = None, workspace: str | None = None, job_id: str | None = None,
                  limit: int = Query(500, ge=1, le=2000)) -> dict[str, Any]:
        return views.anomalies(get_backend().reader, clock(), days=days, severity=severity,
                               anomaly_type=anomaly_type, workspace=workspace, job_id=job_id, limit=limit)

    @app.get("/api/alerts")
    def alerts(user: ReadUser, days: int = Query(7, ge=1, le=views.MAX_DAYS)) -> dict[str, Any]:
        backend = get_backend()
        now = clock()
        found = views.alerts(backend.reader, now, days=days)
        found["silences"] = [s.to_json(now) for s in backend.silences.list(now)]
        return found

    @app.get("/api/status")
    def platform(user: ReadUser) -> dict[str, Any]:
        found = views.platform_status(get_backend().reader, clock())
        dag_ids = [d for d in (MONITORING_DAG_ID, HEALTH_CHECK_DAG_ID) if can_read_dag(user, d)]
        found.update(airflow_tasks(dag_ids))
        return found


def _silence_api(app: FastAPI, get_backend: Callable[[], Backend], clock: Callable[[], datetime]) -> None:
    @app.get("/api/silences")
    def silences(user: ReadUser) -> dict[str, Any]:
        now = clock()
        return {"silences": [s.to_json(now) for s in get_backend().silences.list(now)]}

    @app.post("/api/silences", status_code=status.HTTP_201_CREATED)
    def create(body: SilenceBody, user: EditUser) -> dict[str, Any]:
        now = clock()
        try:
            record = new_silence(body.matchers, timedelta(minutes=body.duration_minutes), body.comment,
                                 user_name(user), now)
        except SilenceError as err:
            raise HTTPException(422, str(err)) from None
        get_backend().silences.save(record)
        log.info("silence %s created by %s: %s", record.silence_id, record.created_by, list(record.matchers))
        return record.to_json(now)

    @app.post("/api/silences/{silence_id}/expire")
    def expire(silence_id: str, user: EditUser) -> dict[str, Any]:
        now = clock()
        store = get_backend().silences
        try:
            record = store.expire(silence_id, user_name(user), now)  # type: ignore[attr-defined]
        except SilenceError as err:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(err)) from None
        log.info("silence %s expired by %s", silence_id, user_name(user))
        return dict(record.to_json(now))


def airflow_tasks(dag_ids: list[str]) -> dict[str, Any]:
    """Latest try of every task of the given DAGs from Airflow's metadata DB: the monitoring stages'
    last run and duration, and the health checks (a failed check is a failed task)."""
    if not dag_ids:
        return {"tasks": [], "health_checks": []}
    try:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            query = (select(TaskInstance).where(TaskInstance.dag_id.in_(dag_ids))
                     .where(TaskInstance.start_date.is_not(None))
                     .order_by(TaskInstance.start_date.desc()).limit(500))
            latest: dict[tuple[str, str], dict[str, Any]] = {}
            for ti in session.scalars(query):
                key = (ti.dag_id, ti.task_id)
                if key not in latest:
                    latest[key] = {
                        "dag_id": ti.dag_id, "task_id": ti.task_id, "run_id": ti.run_id,
                        "state": getattr(ti.state, "value", ti.state), "try_number": ti.try_number,
                        "start_date": ti.start_date.isoformat() if ti.start_date else None,
                        "end_date": ti.end_date.isoformat() if ti.end_date else None,
                        "duration_seconds": ti.duration,
                    }
    except Exception as err:  # the page still shows the tables' view of the platform
        log.warning("dashboard: Airflow task states unavailable: %s", err)
        return {"tasks": [], "health_checks": [], "tasks_error": "Airflow task states unavailable"}
    rows = sorted(latest.values(), key=lambda r: (r["dag_id"], r["task_id"]))
    return {"tasks": [r for r in rows if r["dag_id"] == MONITORING_DAG_ID],
            "health_checks": [r for r in rows if r["dag_id"] == HEALTH_CHECK_DAG_ID]}


__all__ = ["Backend", "SilenceBody", "airflow_tasks", "backend_from_config", "create_app"]
