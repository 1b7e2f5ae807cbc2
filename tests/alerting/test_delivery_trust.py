"""Issue 13: escaping, outage recovery without duplicates, configuration faults kept pending, SMTP
TLS modes and webhook replay protection, each against independent loopback receivers."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from alerting_support import (
    CANARY,
    FakeClock,
    MailSink,
    Receiver,
    channel_settings,
    conn_env,
    free_port,
    self_signed_tls,
)

from dataops_intelligence.alerting.channels.registry import default_registry
from dataops_intelligence.alerting.channels.retry import RetryPolicy
from dataops_intelligence.alerting.channels.webhook import sign, verify
from dataops_intelligence.alerting.engine import AlertManager, RedeliveryPolicy, blocked_deliveries
from dataops_intelligence.alerting.model import AlertCandidate, DeliveryStatus, Severity
from dataops_intelligence.alerting.policy_config import PolicyConfig
from dataops_intelligence.alerting.store import InMemoryAlertStore

if TYPE_CHECKING:
    from pathlib import Path

FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.05)
HOSTILE = "etl_<orders> & <!channel>"


def candidate(name: str = "etl", channel: str = "hook") -> AlertCandidate:
    return AlertCandidate(
        "job_failed",
        {"job_name": name, "job_id": "7", "workspace_id": "ws1"},
        Severity.ERROR,
        f"{name} failed <http://evil.example|click> & more",
        "job_failure",
        "7",
        (channel,),
    )


def engine(store: Any, clock: FakeClock, settings: Any, **policy: Any) -> AlertManager:
    channels = default_registry(load_plugins=False).build([settings], retry=FAST, sleep=clock.sleep)
    config = PolicyConfig(group_wait=timedelta(0), **policy)
    return AlertManager(store=store, channels=channels, policy=config, clock=clock, sleep=clock.sleep)


def hook_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, port: int) -> None:
    conn_env(
        monkeypatch,
        conn_id,
        {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http", "password": CANARY},
    )


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [
            t for k, v in node.items() for t in ([v] if k == "text" and isinstance(v, str) else _texts(v))
        ]
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


# -- 1. Slack escaping ------------------------------------------------------------------------
def test_slack_payload_escapes_user_strings(
    receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_env(
        monkeypatch, "slack_esc", {"conn_type": "slackwebhook", "password": receiver.url("/services/a/b")}
    )
    settings = channel_settings("slack", "slack_webhook", "slack_esc")
    manager = engine(InMemoryAlertStore(), clock, settings, group_by=("job_name",))
    assert len(manager.run_cycle(candidates=[candidate(HOSTILE, "slack")]).sent) == 1
    body = receiver.delivered()[0].json()
    texts = _texts(body)
    assert len(texts) >= 4  # fallback text, header, section, context
    for text in texts:
        assert "<!channel>" not in text
        assert "<http://evil" not in text
        assert "<" not in text.replace("&lt;", "")
        assert ">" not in text.replace("&gt;", "")
    section = next(b for b in body["blocks"] if b["type"] == "section")["text"]["text"]
    assert "etl_&lt;orders&gt; &amp; &lt;!channel&gt;" in section
    assert "&lt;http://evil.example|click&gt; &amp; more" in section
    assert "etl_&lt;orders&gt; &amp; &lt;!channel&gt;" in body["text"]


def test_slack_cut_never_splits_an_entity() -> None:
    from dataops_intelligence.alerting.channels.slack import escaped

    for limit in range(20, 40):
        cut = escaped("&" * 100, limit)
        assert len(cut) <= limit
        assert cut.split("…")[0].replace("&amp;", "") == ""


# -- 3. no duplicates after an outage, counted when delivered ---------------------------------
def test_outage_recovery_sends_one_message_and_repeat_counts_from_delivery(
    receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook_conn(monkeypatch, "hook_outage", receiver.port)
    store = InMemoryAlertStore()
    settings = channel_settings("hook", "webhook", "hook_outage", endpoint="/alerts")
    receiver.script = [(503, {}, "down")] * 4  # two cycles of two attempts each
    for _ in range(2):  # the default 30-minute schedule, 15-minute repeat interval
        engine(store, clock, settings).run_cycle(candidates=[candidate()], evaluated_rules=["job_failed"])
        clock.advance(minutes=30)
    assert receiver.delivered() == []
    report = engine(store, clock, settings).run_cycle(
        candidates=[candidate()], evaluated_rules=["job_failed"]
    )
    assert len(receiver.delivered()) == 1  # not the stale original plus a repeat
    assert len(report.sent) == 1
    statuses = sorted(r["status"] for r in store.deliveries.values())
    assert statuses == ["sent", "superseded", "superseded"]
    delivered_at = clock.now
    clock.advance(minutes=14)  # inside the repeat interval counted from the delivery
    engine(store, clock, settings).run_cycle(candidates=[candidate()], evaluated_rules=["job_failed"])
    assert len(receiver.delivered()) == 1
    clock.advance(minutes=2)
    engine(store, clock, settings).run_cycle(candidates=[candidate()], evaluated_rules=["job_failed"])
    assert len(receiver.delivered()) == 2  # the repeat, 16 minutes after the first delivery
    (state,) = store.load_open_alerts()
    assert state.last_sent is not None
    assert state.last_sent > delivered_at


def test_late_delivery_moves_last_sent_to_the_delivery_time(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    hook_conn(monkeypatch, "hook_late", port)
    store = InMemoryAlertStore()
    settings = channel_settings("hook", "webhook", "hook_late", endpoint="/alerts")
    long_repeat = {"repeat_interval": timedelta(hours=4)}
    engine(store, clock, settings, **long_repeat).run_cycle(
        candidates=[candidate()], evaluated_rules=["job_failed"]
    )
    queued_at = clock.now
    receiver = Receiver(port=port).start()
    try:
        clock.advance(minutes=30)
        engine(store, clock, settings, **long_repeat).run_cycle(
            candidates=[candidate()], evaluated_rules=["job_failed"]
        )
        assert len(receiver.delivered()) == 1
    finally:
        receiver.stop()
    (state,) = store.load_open_alerts()
    assert state.last_sent == queued_at + timedelta(minutes=30)


# -- 4. configuration faults stay pending and are delivered once fixed ------------------------
def test_missing_connection_stays_pending_and_is_delivered_once_fixed(
    receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = InMemoryAlertStore()
    settings = channel_settings("hook", "webhook", "hook_later", endpoint="/alerts")
    report = engine(store, clock, settings).run_cycle(
        candidates=[candidate()], evaluated_rules=["job_failed"]
    )
    assert len(report.failed) == 1
    (blocked,) = blocked_deliveries(store)
    assert blocked.status is DeliveryStatus.PENDING
    assert "hook_later" in (blocked.last_error or "")
    clock.advance(minutes=30)
    engine(store, clock, settings).run_cycle(candidates=[candidate()], evaluated_rules=["job_failed"])
    assert len(blocked_deliveries(store)) == 1  # still broken: still pending, nothing lost
    hook_conn(monkeypatch, "hook_later", receiver.port)  # the operator fixes the connection
    clock.advance(minutes=30)
    engine(store, clock, settings).run_cycle(candidates=[candidate()], evaluated_rules=["job_failed"])
    assert len(receiver.delivered()) == 1
    assert blocked_deliveries(store) == []
    clock.advance(minutes=5)
    engine(store, clock, settings).run_cycle(candidates=[candidate()], evaluated_rules=["job_failed"])
    assert len(receiver.delivered()) == 1


def test_missing_signing_secret_and_bad_url_are_configuration_faults(
    receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_env(monkeypatch, "hook_nosecret", {"conn_type": "http", "host": "127.0.0.1", "port": receiver.port})
    store = InMemoryAlertStore()
    settings = channel_settings("hook", "webhook", "hook_nosecret", secret_env="DATAOPS_T13_SECRET")
    engine(store, clock, settings).run_cycle(candidates=[candidate()])
    (blocked,) = blocked_deliveries(store)
    assert "DATAOPS_T13_SECRET" in (blocked.last_error or "")
    assert receiver.requests == []  # an unsigned request is never sent
    monkeypatch.setenv("DATAOPS_T13_SECRET", "now-set")
    clock.advance(minutes=30)
    engine(store, clock, settings).run_cycle(candidates=[candidate()])
    (request,) = receiver.delivered()
    assert verify(
        "now-set",
        request.headers["X-DataOps-Timestamp"],
        request.body,
        request.headers["X-DataOps-Signature"],
    )
    conn_env(monkeypatch, "teams_badurl", {"conn_type": "http", "password": "htp:/nowhere"})
    teams = channel_settings("teams", "teams", "teams_badurl")
    store2 = InMemoryAlertStore()
    engine(store2, clock, teams).run_cycle(candidates=[candidate(channel="teams")])
    assert len(blocked_deliveries(store2)) == 1


def test_blocked_delivery_is_given_up_when_too_old(clock: FakeClock) -> None:
    store = InMemoryAlertStore()
    settings = channel_settings("hook", "webhook", "hook_never", endpoint="/alerts")
    manager = engine(store, clock, settings)
    manager.redelivery = RedeliveryPolicy(config_max_age=timedelta(hours=2))
    manager.run_cycle(candidates=[candidate()])
    clock.advance(hours=3)
    manager.run_cycle()
    (row,) = store.deliveries.values()
    assert row["status"] == "failed"
    assert row["last_error"].startswith("given up after 3.0 h blocked by configuration")
    assert store.load_outbox() == []


# -- 7. SMTP tls: starttls | ssl | none ------------------------------------------------------
def _smtp(mode: str, ctx: Any) -> tuple[Any, MailSink, int, list[str]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    logins: list[str] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == CANARY.encode()
        if ok:
            logins.append(data.login.decode())
        return AuthResult(success=ok)

    sink, port = MailSink(), free_port()
    kwargs: dict[str, Any] = {"authenticator": authenticator}
    if mode == "starttls":
        kwargs |= {"tls_context": ctx, "require_starttls": True}
    elif mode == "ssl":
        kwargs |= {"ssl_context": ctx, "auth_require_tls": False}  # aiosmtpd: implicit TLS is not "tls"
    else:
        kwargs |= {"auth_require_tls": False}
    controller = Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, sink, port, logins


@pytest.mark.parametrize("mode", ["starttls", "ssl", "none"])
def test_email_tls_modes_against_a_real_smtp_server(
    mode: str, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, cert = self_signed_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the server's certificate is verified, not skipped
    controller, sink, port, logins = _smtp(mode, ctx)
    try:
        # The README's connection: host, port, login, password and nothing else.
        conn_env(
            monkeypatch,
            f"smtp_{mode}",
            {"conn_type": "smtp", "host": "127.0.0.1", "port": port, "login": "alerts", "password": CANARY},
        )
        options: dict[str, Any] = {"to": ["oncall@example.com"], "from_email": "dataops@example.com"}
        if mode != "starttls":  # starttls is the default
            options["tls"] = mode
        settings = channel_settings("email", "email", f"smtp_{mode}", **options)
        report = engine(InMemoryAlertStore(), clock, settings).run_cycle(
            candidates=[candidate(channel="email")]
        )
        assert len(report.sent) == 1, report
        assert len(sink.messages) == 1
        assert logins == ["alerts"]
    finally:
        controller.stop()


def test_email_tls_mismatch_is_a_configuration_fault(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    controller, sink, port, _ = _smtp("none", None)
    try:
        conn_env(monkeypatch, "smtp_plain", {"conn_type": "smtp", "host": "127.0.0.1", "port": port})
        store = InMemoryAlertStore()
        settings = channel_settings("email", "email", "smtp_plain", to="oncall@example.com", tls="ssl")
        engine(store, clock, settings).run_cycle(candidates=[candidate(channel="email")])
        (blocked,) = blocked_deliveries(store)
        assert "smtp_plain" in (blocked.last_error or "")
        assert "options.tls" in (blocked.last_error or "")
        assert sink.messages == []
    finally:
        controller.stop()


# -- 8. replay protection ---------------------------------------------------------------------
def test_verify_rejects_replayed_and_malformed_timestamps() -> None:
    body = json.dumps({"dedup_key": "k"}).encode()
    now = time.time()
    fresh = str(int(now) - 10)
    stale = str(int(now) - 301)
    assert verify("s", fresh, body, sign("s", fresh, body))
    assert not verify("s", stale, body, sign("s", stale, body))  # valid signature, too old: a replay
    assert verify("s", stale, body, sign("s", stale, body), tolerance_seconds=600)
    future = str(int(now) + 3600)
    assert not verify("s", future, body, sign("s", future, body))
    assert not verify("s", "yesterday", body, sign("s", "yesterday", body))
    assert not verify("s", fresh, body, sign("other", fresh, body))
    with pytest.raises(ValueError, match="positive"):
        verify("s", fresh, body, sign("s", fresh, body), tolerance_seconds=0)
