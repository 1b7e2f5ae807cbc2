"""Fixtures for alerting tests: a fake clock, real loopback HTTP receivers and a real SMTP server."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT / "provider", ROOT / "include", Path(__file__).resolve().parent):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="dataops-alerting-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

# Airflow configures logging when first imported; doing it here, before any test attaches caplog
# handlers and before our loggers exist, keeps log capture (and the canary test) meaningful.
import airflow  # noqa: E402, F401
from alerting_support import FakeClock, MailSink, Receiver, free_port  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, MailSink]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        return AuthResult(success=True)

    sink = MailSink()
    port = free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    yield port, sink
    controller.stop()
