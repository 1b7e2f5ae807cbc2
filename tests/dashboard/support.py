"""Helpers for the dashboard tests: a loopback webhook receiver and one alert cycle that reads the
stored silences exactly as ``AlertCycleOperator`` does."""

from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    import pytest

    from dataops_intelligence.alerting.model import AlertState
    from dataops_intelligence.alerting.store import InMemoryAlertStore
    from dataops_intelligence.dashboard.silences import SilenceStore

CONN_ID = "dashboard_hook"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def loopback_webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """A webhook receiver on 127.0.0.1 and the Airflow connection ``dashboard_hook`` pointing at it;
    yields the list of alerts (with labels) received, in order."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            received.extend(body.get("alerts") or [])
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conn = {"conn_type": "http", "host": "127.0.0.1", "port": server.server_address[1], "schema": "http",
            "password": "signing-secret"}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
    try:
        yield received
    finally:
        server.shutdown()


def cycle_with_stored_silences(silences: SilenceStore, store: InMemoryAlertStore,
                               job_ids: Sequence[str]) -> dict[str, AlertState]:
    """One engine cycle with a failure alert per job, policy = rules + ``alert_silences`` (as the alert
    task builds it), delivered to the loopback webhook; returns the alert state per job id."""
    from dataops_intelligence.alerting.channels.registry import default_registry
    from dataops_intelligence.alerting.engine import AlertManager
    from dataops_intelligence.alerting.model import AlertCandidate, Severity
    from dataops_intelligence.alerting.policy_config import ChannelSettings, PolicyConfig
    from dataops_intelligence.alerting.rules_loader import AlertingSettings
    from dataops_intelligence.dashboard.silences import with_stored_silences

    channel = ChannelSettings(name="hook", type="webhook", conn_id=CONN_ID, options={"endpoint": "/alerts"})
    settings = AlertingSettings(rules=(), channels=(channel,),
                                policy=PolicyConfig(group_wait=timedelta(0), group_by=("job_id",)))
    settings = with_stored_silences(settings, silences)
    manager = AlertManager.from_settings(settings, store, registry=default_registry(load_plugins=False))
    candidates = [
        AlertCandidate("job_failed", {"job_id": job, "workspace_id": "1001"}, Severity.ERROR,
                       f"job {job} failed", "job_failure", job, ("hook",))
        for job in job_ids
    ]
    manager.run_cycle(candidates=candidates, evaluated_rules=["job_failed"])
    return {a.job_id or "": a for a in store.load_open_alerts()}
