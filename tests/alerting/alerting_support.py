"""Shared helpers for alerting tests: fake clock, loopback HTTP receiver, SMTP sink, connection env."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
CANARY = "CANARY-7f3a9c-s3cr3t"


class FakeClock:
    """An injectable clock; ``sleep`` advances it instead of blocking."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        self.now += timedelta(seconds=seconds, **kwargs)
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


@dataclass
class Received:
    """One request a receiver got, and what it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A stdlib HTTP server on 127.0.0.1 answering from a script (then 200)."""

    script: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, text = receiver.script.pop(0) if receiver.script else (200, {}, "ok")
                if self.path.endswith("chat.postMessage") and status == 200:
                    headers, text = {"Content-Type": "application/json"}, '{"ok": true, "ts": "1.0"}'
                receiver.requests.append(Received(self.path, dict(self.headers), body, status))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *args: Any) -> None:  # keep test output clean
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def delivered(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.answered < 300]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MailSink:
    """aiosmtpd handler keeping every message (optionally requiring AUTH)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def conn_env(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: dict[str, Any]) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def make_notification(
    n_alerts: int = 3,
    *,
    channel: str = "slack",
    resolved: bool = False,
    message: str = "failed with exit code 1",
) -> Any:
    """A realistic grouped notification built by the real policy."""
    from dataops_intelligence.alerting.model import AlertCandidate, Severity
    from dataops_intelligence.alerting.policy import AlertPolicy
    from dataops_intelligence.alerting.policy_config import PolicyConfig

    policy = AlertPolicy(PolicyConfig(group_wait=timedelta(0)))
    cands = [
        AlertCandidate(
            "job_failed",
            {"job_name": f"etl_{i:03d}", "job_id": str(i), "workspace_id": "ws1"},
            Severity.ERROR if i else Severity.CRITICAL,
            f"etl_{i:03d} {message}",
            "job_failure",
            str(i),
            (channel,),
        )
        for i in range(n_alerts)
    ]
    decision = policy.decide(cands, [], T0, ("job_failed",))
    if resolved:
        decision = policy.decide([], decision.states, T0 + timedelta(minutes=10), ("job_failed",))
    return decision.notifications[0]


def channel_settings(name: str, type_: str, conn_id: str, **options: Any) -> Any:
    from dataops_intelligence.alerting.policy_config import ChannelSettings

    return ChannelSettings(name=name, type=type_, conn_id=conn_id, options=options)


def self_signed_tls(tmp_path: Path) -> tuple[Any, Path]:
    """A server TLS context for 127.0.0.1 with a self-signed certificate (a CA, so a client can trust it
    through ``SSL_CERT_FILE``), and the certificate's path."""
    import datetime as dt
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx, cert_path
