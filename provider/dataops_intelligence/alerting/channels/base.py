"""The channel interface and the webhook base that owns transport, retries and the dedup header."""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlsplit

from dataops_intelligence.alerting.channels.retry import RetryPolicy, check_http_status, classify_exception
from dataops_intelligence.alerting.errors import AlertConfigError
from dataops_intelligence.alerting.model import DeliveryResult, Notification

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from dataops_intelligence.alerting.policy_config import ChannelSettings

DEFAULT_TIMEOUT = 10.0
DEDUP_HEADER = "X-DataOps-Dedup-Key"


@dataclass(frozen=True)
class TransportResponse:
    """A receiver's answer: status, headers and (truncated) body."""

    status: int
    headers: Mapping[str, Any]
    body: str = ""


class Transport(Protocol):
    """Sends one request body; hooks live behind this (the only network I/O in alerting)."""

    def post(self, body: bytes, headers: Mapping[str, str]) -> TransportResponse: ...

    def register_secrets(self) -> None: ...


class AlertChannel(ABC):
    """A destination for notifications: one method, ``send``, that never raises.

    Subclasses set ``type`` (the registry key) and implement :meth:`send`. Errors come back in the
    :class:`DeliveryResult`, already redacted.
    """

    type: ClassVar[str] = ""
    #: Option keys this channel understands (None: not checked, for third-party channels).
    options_allowed: ClassVar[frozenset[str] | None] = None
    #: Connection id used when the settings name none.
    default_conn_id: ClassVar[str] = ""

    def __init__(
        self,
        settings: ChannelSettings,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.timeout = float(settings.options.get("timeout", DEFAULT_TIMEOUT))

    @abstractmethod
    def send(self, notification: Notification) -> DeliveryResult:
        """Deliver one notification (with retries); return what happened."""

    def register_secrets(self) -> None:  # noqa: B027 - optional hook, deliberately a no-op by default
        """Resolve the connection early so its secrets are redacted from alert text (optional)."""

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Static checks of the options at load time: ``(key, problem)`` pairs, empty when fine."""
        if cls.options_allowed is None:
            return []
        return [
            (f"options.{key}", f"unknown option for type {cls.type!r}; known: {', '.join(sorted(cls.options_allowed))}")
            for key in options
            if key not in cls.options_allowed
        ]

    def check_config(self) -> list[str]:
        """Everything that can be checked without sending: the connection exists and is usable, the
        variables it references are set, the URL is well-formed. One message per problem, naming the
        file and key, the connection and the variable; never a secret. Overridden per channel."""
        return []

    @property
    def conn_id(self) -> str:
        return self.settings.conn_id or self.default_conn_id

    def connection(self) -> Any:
        """The Airflow connection, or :class:`AlertConfigError` saying how to define it."""
        from airflow.sdk import BaseHook

        try:
            return BaseHook.get_connection(self.conn_id)
        except Exception as err:
            if "NotFound" not in type(err).__name__ and "isn't defined" not in str(err):
                raise
            raise AlertConfigError(
                f"{self.settings.where}.conn_id: Airflow connection {self.conn_id!r} is not defined "
                f"(define it in Airflow, or as the environment variable AIRFLOW_CONN_{self.conn_id.upper()})"
            ) from None


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable http(s) URL (None when it is). Never echoes the URL (secret)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises on a malformed port
    except ValueError as err:
        return f"is not a valid URL ({err})"
    if parts.scheme not in ("http", "https"):
        return f"is not an http(s) URL (scheme {parts.scheme!r})"
    if not parts.hostname:
        return "has no host"
    del port
    return None


class WebhookChannel(AlertChannel):
    """Base for JSON-over-HTTP channels: owns encoding, the POST, retries and status checks.

    Concrete channels only build the payload (and, if they must, extra headers such as a signature)
    and say which transport carries it.
    """

    @abstractmethod
    def build_payload(self, notification: Notification) -> dict[str, Any]:
        """The JSON document to POST; must contain the notification's dedup key."""

    @abstractmethod
    def make_transport(self) -> Transport:
        """The hook-backed transport this channel posts through."""

    def extra_headers(self, body: bytes) -> dict[str, str]:
        """Headers computed per attempt (for example a timestamped signature)."""
        return {}

    @cached_property
    def transport(self) -> Transport:
        return self.make_transport()

    def register_secrets(self) -> None:
        self.transport.register_secrets()

    def target_url(self, conn: Any) -> str | None:
        """The URL the connection points at (a URL password wins), None when it cannot be built."""
        password = conn.password or ""
        if "://" in password:
            return str(password)
        host = conn.host or ""
        if not host:
            return None
        if "://" not in host:
            host = f"{conn.schema or 'https'}://{host}"
        if conn.port:
            host = f"{host.rstrip('/')}:{conn.port}"
        return host.rstrip("/") + "/" + str(self.settings.options.get("endpoint", "")).lstrip("/")

    def check_config(self) -> list[str]:
        try:
            conn = self.connection()
        except AlertConfigError as err:
            return [str(err)]
        url = self.target_url(conn)
        if url is None:
            return [
                f"{self.settings.where}: connection {self.conn_id!r} has no URL: put the full URL in its "
                "password, or its host (and port, schema)"
            ]
        problem = url_problem(url)
        return [f"{self.settings.where}: the URL of connection {self.conn_id!r} {problem}"] if problem else []

    def send(self, notification: Notification) -> DeliveryResult:
        try:
            body = json.dumps(self.build_payload(notification), separators=(",", ":"), default=str).encode()
        except Exception as err:  # a payload bug is permanent: never retried
            error = classify_exception(err)
            return DeliveryResult(ok=False, attempts=0, error=str(error), retryable=False)

        def attempt() -> None:
            headers = {
                "Content-Type": "application/json",
                DEDUP_HEADER: notification.dedup_key,
                **self.extra_headers(body),
            }
            answer = self.transport.post(body, headers)
            check_http_status(answer.status, answer.headers, answer.body)

        return self.retry.run(attempt, self.sleep)
