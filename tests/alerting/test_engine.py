"""AlertManager end to end: outbox, retries, outages, crashes, restarts; real loopback receivers."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from alerting_support import CANARY, FakeClock, Receiver, channel_settings, conn_env, free_port

from dataops_intelligence.alerting.channels.registry import default_registry
from dataops_intelligence.alerting.channels.retry import RetryPolicy
from dataops_intelligence.alerting.engine import AlertManager
from dataops_intelligence.alerting.model import AlertCandidate, DeliveryStatus, Severity
from dataops_intelligence.alerting.policy_config import PolicyConfig
from dataops_intelligence.alerting.store import InMemoryAlertStore, SqliteAlertStore

if TYPE_CHECKING:
    import pytest

HERE = Path(__file__).resolve().parent


def job(name: str = "etl", severity: Severity = Severity.ERROR) -> AlertCandidate:
    return AlertCandidate(
        "job_failed",
        {"job_name": name, "job_id": name, "workspace_id": "ws1"},
        severity,
        f"{name} failed",
        "job_failure",
        name,
        ("hook",),
    )


def webhook_conn(monkeypatch: pytest.MonkeyPatch, port: int, conn_id: str = "hook_local") -> None:
    conn_env(
        monkeypatch,
        conn_id,
        {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http", "password": CANARY},
    )


def manager(store: object, clock: FakeClock, conn_id: str = "hook_local", **policy: object) -> AlertManager:
    channels = default_registry(load_plugins=False).build(
        [channel_settings("hook", "webhook", conn_id, endpoint="/alerts")],
        retry=RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=30),
        sleep=clock.sleep,
    )
    config = PolicyConfig(group_wait=timedelta(0), **policy)  # type: ignore[arg-type]
    return AlertManager(store=store, channels=channels, policy=config, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]


def test_500_then_429_then_200_delivers_once(
    receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhook_conn(monkeypatch, receiver.port)
    receiver.script = [(500, {}, "boom"), (429, {"Retry-After": "7"}, "slow down")]
    engine = manager(InMemoryAlertStore(), clock)
    report = engine.run_cycle(candidates=[job()], evaluated_rules=["job_failed"])
    assert len(report.sent) == 1
    assert report.failed == []
    assert [r.answered for r in receiver.requests] == [500, 429, 200]
    assert clock.sleeps[:2] == [0.5, 7.0]  # backoff, then the server's Retry-After
    assert len({r.json()["dedup_key"] for r in receiver.requests}) == 1
    for _ in range(5):  # later cycles: same alert still firing, inside the repeat interval
        clock.advance(60)
        engine.run_cycle(candidates=[job()], evaluated_rules=["job_failed"])
    assert len(receiver.delivered()) == 1


def test_4xx_is_not_retried(receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    webhook_conn(monkeypatch, receiver.port)
    receiver.script = [(400, {}, "bad payload")]
    store = InMemoryAlertStore()
    engine = manager(store, clock)
    report = engine.run_cycle(candidates=[job()], evaluated_rules=["job_failed"])
    assert len(report.failed) == 1
    assert len(receiver.requests) == 1
    assert store.load_outbox() == []  # permanently failed: no next attempt
    (row,) = store.deliveries.values()
    assert row["status"] == "failed"
    assert row["attempts"] == 1
    assert "HTTP 400" in row["last_error"]


def test_receiver_down_for_a_cycle_gets_it_next_cycle(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port = free_port()
    webhook_conn(monkeypatch, port)
    store = SqliteAlertStore(tmp_path / "alerts.db")
    report = manager(store, clock).run_cycle(candidates=[job()], evaluated_rules=["job_failed"])
    assert len(report.failed) == 1
    (pending,) = store.load_outbox()
    assert pending.status is DeliveryStatus.FAILED
    assert pending.attempts == 3
    assert "ConnectionError" in (pending.last_error or "")
    assert CANARY not in (pending.last_error or "")
    receiver = Receiver(port=port).start()
    try:
        clock.advance(120)
        report = manager(store, clock).run_cycle(candidates=[job()], evaluated_rules=["job_failed"])
        assert len(report.sent) == 1
        assert len(receiver.delivered()) == 1
        assert receiver.delivered()[0].json()["dedup_key"] == pending.delivery_id
        assert store.load_outbox() == []
    finally:
        receiver.stop()


def test_failed_delivery_waits_for_its_next_attempt(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhook_conn(monkeypatch, free_port())
    store = InMemoryAlertStore()
    manager(store, clock).run_cycle(candidates=[job()], evaluated_rules=["job_failed"])
    clock.advance(1)
    report = manager(store, clock).run_cycle(candidates=[job()], evaluated_rules=["job_failed"])
    assert report.deferred
    assert not report.sent
    assert not report.failed


def test_sigkill_between_outbox_write_and_send_loses_nothing(
    receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "alerts.db"
    proc = subprocess.run(
        [sys.executable, str(HERE / "crash_cycle.py"), str(db), str(receiver.port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -9, proc.stderr
    assert receiver.requests == []
    store = SqliteAlertStore(db)
    (pending,) = store.load_outbox()
    assert pending.status is DeliveryStatus.PENDING
    assert pending.attempts == 0
    webhook_conn(monkeypatch, receiver.port, "crash_hook")
    # The killed process ran on the real clock and leased the delivery for claim_ttl (2 min).
    clock.now = datetime.now(timezone.utc) + timedelta(minutes=2, seconds=1)
    report = manager(store, clock, conn_id="crash_hook").flush_outbox()
    assert report.sent == [pending.delivery_id]
    assert [r.json()["dedup_key"] for r in receiver.delivered()] == [pending.delivery_id]
    assert store.load_outbox() == []


def test_state_survives_restart_with_sqlite(
    receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    webhook_conn(monkeypatch, receiver.port)
    path = tmp_path / "alerts.db"
    manager(SqliteAlertStore(path), clock).run_cycle(candidates=[job()], evaluated_rules=["job_failed"])
    clock.advance(300)
    manager(SqliteAlertStore(path), clock).run_cycle(candidates=[job()], evaluated_rules=["job_failed"])
    assert len(receiver.delivered()) == 1  # dedup and repeat interval held across "processes"
    clock.advance(600)
    manager(SqliteAlertStore(path), clock).run_cycle(candidates=[], evaluated_rules=["job_failed"])
    assert [r.json()["kind"] for r in receiver.delivered()] == ["firing", "resolved"]
    (row,) = SqliteAlertStore(path).load_history()
    assert row["status"] == "resolved"
    assert row["resolved_at"]
    assert row["channels_sent"] == "hook"
    assert {
        "alert_id",
        "job_id",
        "alert_type",
        "severity",
        "message",
        "created_at",
        "fingerprint",
        "group_key",
        "deliveries",
    } <= set(row)
    assert row["deliveries"].count("hook:sent") == 2


def test_unknown_route_is_recorded_not_raised(clock: FakeClock) -> None:
    store = InMemoryAlertStore()
    engine = AlertManager(store=store, channels={}, policy=PolicyConfig(group_wait=timedelta(0)), clock=clock)
    report = engine.run_cycle(candidates=[job()], evaluated_rules=["job_failed"])
    assert len(report.failed) == 1
    row = next(iter(store.deliveries.values()))
    assert "channel 'hook' is not configured" in row["last_error"]
    assert row["status"] == "pending"  # a configuration fault: kept for when the channel is configured
    assert len(store.load_outbox()) == 1


def test_channel_pacing_uses_the_channel_rate(
    receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_env(
        monkeypatch, "slack_pace", {"conn_type": "slackwebhook", "password": receiver.url("/services/a/b/c")}
    )
    channels = default_registry(load_plugins=False).build(
        [channel_settings("hook", "slack_webhook", "slack_pace")], sleep=clock.sleep
    )
    engine = AlertManager(
        store=InMemoryAlertStore(),
        channels=channels,
        clock=clock,
        sleep=clock.sleep,
        policy=PolicyConfig(group_wait=timedelta(0), group_by=("job_name",)),
    )
    engine.run_cycle(candidates=[job(f"j{i}") for i in range(4)], evaluated_rules=["job_failed"])
    assert len(receiver.delivered()) == 4
    assert len(clock.sleeps) == 3
    assert all(0 < s <= 1.0 for s in clock.sleeps)


def test_slack_429_retry_after_is_honoured(
    receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_env(
        monkeypatch, "slack_429", {"conn_type": "slackwebhook", "password": receiver.url("/services/a/b/c")}
    )
    receiver.script = [(429, {"Retry-After": "3"}, "rate_limited"), (503, {}, "unavailable")]
    channels = default_registry(load_plugins=False).build(
        [channel_settings("hook", "slack_webhook", "slack_429")],
        retry=RetryPolicy(base_delay=0.25),
        sleep=clock.sleep,
    )
    engine = AlertManager(
        store=InMemoryAlertStore(),
        channels=channels,
        clock=clock,
        sleep=clock.sleep,
        policy=PolicyConfig(group_wait=timedelta(0)),
    )
    report = engine.run_cycle(candidates=[job()], evaluated_rules=["job_failed"])
    assert len(report.sent) == 1
    assert [r.answered for r in receiver.requests] == [429, 503, 200]
    assert clock.sleeps == [3.0, 0.5]


RULES_YAML = """
policy: {group_wait_seconds: 30, group_by: [rule, workspace_id]}
channels:
  hook: {type: webhook, conn_id: rules_hook, options: {endpoint: /incident}}
rules:
  - {name: job_failed, kind: job_failure, severity: error, routes: [hook]}
"""


def test_forty_job_incident_end_to_end(
    receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import yaml

    from dataops_intelligence.alerting.rules_loader import parse_settings

    webhook_conn(monkeypatch, receiver.port, "rules_hook")
    settings = parse_settings(yaml.safe_load(RULES_YAML), "rules.yaml")
    store = SqliteAlertStore(tmp_path / "alerts.db")
    engine = AlertManager.from_settings(
        settings, store, clock=clock, sleep=clock.sleep, registry=default_registry(load_plugins=False)
    )
    runs = [
        {
            "job_id": str(i),
            "job_name": f"etl_{i}",
            "run_id": i,
            "status": "FAILED",
            "workspace_id": "ws1",
            "end_time": clock().isoformat(),
        }
        for i in range(40)
    ]
    engine.run_cycle({"runs": runs})
    clock.advance(31)
    engine.run_cycle({"runs": runs})
    (message,) = receiver.delivered()
    assert len(message.json()["alerts"]) == 40
    clock.advance(600)
    engine.run_cycle({"runs": [{**r, "status": "SUCCESS"} for r in runs]})
    assert [len(r.json()["alerts"]) for r in receiver.delivered()] == [40, 40]
    assert receiver.delivered()[1].json()["kind"] == "resolved"
    history = store.load_history()
    assert len(history) == 40
    assert all(h["status"] == "resolved" and h["resolved_at"] for h in history)
