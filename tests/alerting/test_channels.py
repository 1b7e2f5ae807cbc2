"""Channels against real servers on 127.0.0.1 (stdlib HTTP receivers, aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import json
import time
from typing import TYPE_CHECKING, Any

from alerting_support import (
    CANARY,
    MailSink,
    Receiver,
    channel_settings,
    conn_env,
    make_notification,
    self_signed_tls,
)

from dataops_intelligence.alerting.channels.registry import default_registry
from dataops_intelligence.alerting.channels.retry import RetryPolicy
from dataops_intelligence.alerting.channels.slack import MAX_BLOCKS, build_slack_message
from dataops_intelligence.alerting.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)


def build(settings: Any) -> Any:
    return default_registry(load_plugins=False).build([settings], retry=FAST)[settings.name]


def test_slack_webhook_block_kit(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_env(
        monkeypatch,
        "slack_local",
        {"conn_type": "slackwebhook", "password": receiver.url(f"/services/T0/B0/{CANARY}")},
    )
    notification = make_notification(3)
    result = build(channel_settings("slack", "slack_webhook", "slack_local")).send(notification)
    assert result.ok
    assert result.attempts == 1
    (request,) = receiver.requests
    assert request.path == f"/services/T0/B0/{CANARY}"
    body = request.json()
    assert body["blocks"][0]["type"] == "header"
    assert body["blocks"][0]["text"]["text"].startswith("[FIRING:3] CRITICAL")
    assert notification.dedup_key in json.dumps(body["blocks"][-1])
    assert "etl_000" in body["text"]


def test_slack_blocks_stay_within_limits() -> None:
    huge = make_notification(400, message="x" * 2500)
    body = build_slack_message(huge)
    assert len(body["blocks"]) <= MAX_BLOCKS
    assert len(body["blocks"][0]["text"]["text"]) <= 150
    sections = [b for b in body["blocks"] if b["type"] == "section"]
    assert all(len(s["text"]["text"]) <= 3000 for s in sections)
    assert any("truncated" in json.dumps(b) for b in body["blocks"] if b["type"] == "context")
    assert huge.dedup_key in json.dumps(body["blocks"][-1])


def test_slack_web_api(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_env(
        monkeypatch,
        "slack_api_local",
        {"conn_type": "slack", "password": f"xoxb-{CANARY}", "extra": {"base_url": receiver.url("/api/")}},
    )
    settings = channel_settings("slack_api", "slack_api", "slack_api_local", channel="#data-alerts")
    assert build(settings).send(make_notification(2)).ok
    (request,) = receiver.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == f"Bearer xoxb-{CANARY}"
    assert request.json()["channel"] == "#data-alerts"
    assert request.json()["blocks"]


def test_teams_workflows_adaptive_card(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    url = receiver.url(f"/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig={CANARY}")
    conn_env(monkeypatch, "teams_local", {"conn_type": "http", "host": "127.0.0.1", "password": url})
    notification = make_notification(2, resolved=True)
    assert build(channel_settings("teams", "teams", "teams_local")).send(notification).ok
    (request,) = receiver.requests
    assert request.path.endswith(f"sig={CANARY}")
    body = request.json()
    assert body["type"] == "message"
    assert body["dedup_key"] == notification.dedup_key
    attachment = body["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.2"
    assert card["body"][0]["text"].startswith("[RESOLVED:2]")
    assert card["body"][0]["color"] == "Good"
    assert len(request.body) < 28_000


def test_generic_webhook_is_signed(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_env(
        monkeypatch,
        "hook_local",
        {
            "conn_type": "http",
            "host": "127.0.0.1",
            "port": receiver.port,
            "schema": "http",
            "password": CANARY,
        },
    )
    notification = make_notification(1)
    assert (
        build(channel_settings("hook", "webhook", "hook_local", endpoint="/hooks/dataops"))
        .send(notification)
        .ok
    )
    (request,) = receiver.requests
    assert request.path == "/hooks/dataops"
    timestamp, signature = request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER]
    assert signature.startswith("sha256=")
    assert verify(CANARY, timestamp, request.body, signature)
    assert not verify("wrong", timestamp, request.body, signature)
    assert abs(time.time() - int(timestamp)) < 60
    body = request.json()
    assert body["dedup_key"] == notification.dedup_key == request.headers["X-DataOps-Dedup-Key"]
    assert body["schema"] == "dataops.alert/v1"
    assert body["alerts"][0]["fingerprint"]


def test_webhook_secret_from_env(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_env(
        monkeypatch,
        "hook_env",
        {"conn_type": "http", "host": "127.0.0.1", "port": receiver.port, "schema": "http"},
    )
    monkeypatch.setenv("DATAOPS_HOOK_SECRET", "env-secret-value")
    settings = channel_settings("hook", "webhook", "hook_env", secret_env="DATAOPS_HOOK_SECRET")
    assert build(settings).send(make_notification(1)).ok
    req = receiver.requests[0]
    assert verify("env-secret-value", req.headers[TIMESTAMP_HEADER], req.body, req.headers[SIGNATURE_HEADER])


def _parse_mail(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_email_text_and_html(smtp_server: tuple[int, MailSink], monkeypatch: pytest.MonkeyPatch) -> None:
    port, sink = smtp_server
    conn_env(
        monkeypatch,
        "smtp_local",
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "login": "alerts",
            "password": CANARY,
            "extra": {
                "disable_tls": True,
                "disable_ssl": True,
                "from_email": "dataops@example.com",
                "retry_limit": 0,
            },
        },
    )
    notification = make_notification(3, channel="email")
    settings = channel_settings("email", "email", "smtp_local", to=["oncall@example.com", "team@example.com"])
    result = build(settings).send(notification)
    assert result.ok, result.error
    (mail_from, rcpts, raw) = sink.messages[0]
    assert mail_from == "dataops@example.com"
    assert rcpts == ["oncall@example.com", "team@example.com"]
    msg = _parse_mail(raw)
    assert msg["Subject"].startswith("[DataOps] [FIRING:3] CRITICAL")
    assert str(msg["X-DataOps-Dedup-Key"]).strip() == notification.dedup_key
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "etl_000" in text
    assert notification.dedup_key in text
    assert "<table" in html
    assert "etl_002" in html


def test_email_starttls_when_connection_asks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiosmtpd.controller import Controller
    from alerting_support import free_port

    sink, port = MailSink(), free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, tls_context=self_signed_tls(tmp_path)[0], require_starttls=True
    )
    controller.start()
    try:
        # disable_tls false → SmtpHook issues STARTTLS; ssl_context "none" accepts the self-signed cert.
        conn_env(
            monkeypatch,
            "smtp_tls",
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": port,
                "extra": {
                    "disable_ssl": True,
                    "ssl_context": "none",
                    "from_email": "dataops@example.com",
                    "retry_limit": 0,
                },
            },
        )
        result = build(channel_settings("email", "email", "smtp_tls", to="oncall@example.com")).send(
            make_notification(1, channel="email")
        )
        assert result.ok, result.error
        assert len(sink.messages) == 1
    finally:
        controller.stop()


def test_email_requires_recipients() -> None:
    result = build(channel_settings("email", "email", "smtp_none")).send(
        make_notification(1, channel="email")
    )
    assert not result.ok
    assert not result.retryable
    assert result.config_error  # kept pending by the engine until the configuration is fixed
    assert "channels.email.options.to" in (result.error or "")
