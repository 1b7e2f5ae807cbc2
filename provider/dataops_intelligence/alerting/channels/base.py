"""The channel interface and the webhook base that owns transport, retries and the dedup header."""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from dataops_intelligence.alerting.channels.retry import RetryPolicy, check_http_status, classify_exception
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
