"""A canary secret in every connection never reaches logs, stdout/stderr or store records."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from alerting_support import CANARY, FakeClock, MailSink, Receiver, channel_settings, conn_env, free_port

from dataops_intelligence.alerting.channels.registry import default_registry
from dataops_intelligence.alerting.channels.retry import RetryPolicy
from dataops_intelligence.alerting.engine import AlertManager
from dataops_intelligence.alerting.model import AlertCandidate, Severity
from dataops_intelligence.alerting.policy_config import PolicyConfig
from dataops_intelligence.alerting.store import SqliteAlertStore

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

CHANNELS = ("slack", "slack_api", "teams", "teams_down", "hook", "email")


def _connections(monkeypatch: pytest.MonkeyPatch, receiver: Receiver, smtp_port: int) -> None:
    down = free_port()
    conn_env(
        monkeypatch,
        "c_slack",
        {"conn_type": "slackwebhook", "password": receiver.url(f"/services/T/B/{CANARY}")},
    )
    conn_env(
        monkeypatch,
        "c_slack_api",
        {"conn_type": "slack", "password": f"xoxb-{CANARY}", "extra": {"base_url": receiver.url("/api/")}},
    )
    conn_env(
        monkeypatch,
        "c_teams",
        {
            "conn_type": "http",
            "host": "127.0.0.1",
            "password": receiver.url(f"/workflows/1/invoke?api-version=1&sig={CANARY}"),
        },
    )
    conn_env(
        monkeypatch,
        "c_teams_down",
        {
            "conn_type": "http",
            "host": "127.0.0.1",
            "password": f"http://127.0.0.1:{down}/workflows/2/invoke?sig={CANARY}",
        },
    )
    conn_env(
        monkeypatch,
        "c_hook",
        {
            "conn_type": "http",
            "host": "127.0.0.1",
            "port": receiver.port,
            "schema": "http",
            "login": "dataops",
            "password": CANARY,
        },
    )
    conn_env(
        monkeypatch,
        "c_email",
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": smtp_port,
            "login": "alerts",
            "password": CANARY,
            "extra": {
                "disable_tls": True,
                "disable_ssl": True,
                "retry_limit": 0,
                "from_email": "dataops@example.com",
            },
        },
    )


def test_canary_never_leaks(
    receiver: Receiver,
    smtp_server: tuple[int, MailSink],
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "slack_sdk", "dataops_intelligence", "airflow.task.hooks"):
        caplog.set_level(logging.DEBUG, logger=name)
    smtp_port, sink = smtp_server
    _connections(monkeypatch, receiver, smtp_port)
    receiver.script = [(500, {}, "upstream error"), (429, {"Retry-After": "0"}, "slow down")]
    settings = [
        channel_settings("slack", "slack_webhook", "c_slack"),
        channel_settings("slack_api", "slack_api", "c_slack_api", channel="#alerts"),
        channel_settings("teams", "teams", "c_teams"),
        channel_settings("teams_down", "teams", "c_teams_down"),
        channel_settings("hook", "webhook", "c_hook", endpoint="/signed"),
        channel_settings("email", "email", "c_email", to="oncall@example.com"),
    ]
    channels = default_registry(load_plugins=False).build(
        settings, retry=RetryPolicy(max_attempts=3, base_delay=0.0), sleep=clock.sleep
    )
    store = SqliteAlertStore(tmp_path / "alerts.db")
    engine = AlertManager(
        store=store,
        channels=channels,
        clock=clock,
        sleep=clock.sleep,
        policy=PolicyConfig(group_wait=timedelta(0)),
    )
    candidate = AlertCandidate(
        "job_failed",
        {"job_name": "etl", "workspace_id": "ws1"},
        Severity.ERROR,
        "etl failed",
        "job_failure",
        "1",
        CHANNELS,
    )
    report = engine.run_cycle(candidates=[candidate], evaluated_rules=["job_failed"])

    assert len(report.sent) == 5
    assert len(report.failed) == 1
    assert len(sink.messages) == 1
    outbox = [d.to_row() for d in store.load_deliveries()]
    failed = next(d for d in outbox if d["channel"] == "teams_down")
    assert "ConnectionError" in failed["last_error"]
    assert "***" in failed["last_error"]
    records = json.dumps([outbox, store.load_history(), [a.to_row() for a in store.load_open_alerts()]])
    raw_db = (tmp_path / "alerts.db").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("alerts.db-*")
    )
    out, err = capfd.readouterr()
    assert "***" in caplog.text, "expected the redactor to have scrubbed at least one log line"
    for where, text in {"caplog": caplog.text, "stdout": out, "stderr": err, "store": records}.items():
        assert CANARY not in text, f"canary leaked into {where}"
    assert CANARY.encode() not in raw_db
