"""Generic JSON webhook signed with HMAC-SHA256.

Headers: ``X-DataOps-Timestamp: <unix seconds>`` and ``X-DataOps-Signature: sha256=<hex>`` where
the HMAC is computed over ``f"{timestamp}.".encode() + body`` with the signing secret. Receivers
check both with :func:`verify`, which rejects a timestamp more than ``tolerance_seconds`` (300 by
default) away from their clock (a captured request cannot be replayed later), and drop repeats by
``dedup_key`` (an at-least-once sender may deliver twice).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from typing import TYPE_CHECKING, Any

from dataops_intelligence.alerting.channels.base import Transport, WebhookChannel
from dataops_intelligence.alerting.channels.transports import HttpHookTransport
from dataops_intelligence.alerting.errors import AlertConfigError
from dataops_intelligence.alerting.redact import register_secret

if TYPE_CHECKING:
    from dataops_intelligence.alerting.model import Notification

SIGNATURE_HEADER = "X-DataOps-Signature"
TIMESTAMP_HEADER = "X-DataOps-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` over ``timestamp.body``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


DEFAULT_TOLERANCE_SECONDS = 300.0


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a receiver does: the timestamp is an integer within ``tolerance_seconds`` of ``now``
    (Unix seconds, default the receiver's clock) and the signature matches, compared in constant time.

    A replayed request (a valid signature over an old timestamp) is rejected once the window has
    passed; ``tolerance_seconds`` must be positive.
    """
    if tolerance_seconds <= 0:
        raise ValueError("tolerance_seconds must be positive")
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def build_webhook_payload(notification: Notification) -> dict[str, Any]:
    """The notification as a plain JSON document (schema ``dataops.alert/v1``)."""
    return {"schema": "dataops.alert/v1", "dedup_key": notification.dedup_key, **notification.to_dict()}


class GenericWebhookChannel(WebhookChannel):
    """JSON webhook; URL from an HTTP connection; signing secret from option ``secret_env`` (an env var),
    ``secret_conn_id`` (another connection's password) or this connection's password."""

    type = "webhook"
    options_allowed = frozenset({"endpoint", "test_endpoint", "timeout", "secret_env", "secret_conn_id"})
    default_conn_id = "http_default"

    def build_payload(self, notification: Notification) -> dict[str, Any]:
        return build_webhook_payload(notification)

    def make_transport(self) -> Transport:
        endpoint = str(self.settings.options.get("endpoint", ""))
        return HttpHookTransport(self.conn_id, endpoint, self.timeout)

    def _secret(self) -> str:
        env_name = self.settings.options.get("secret_env")
        if env_name:
            secret = os.environ.get(str(env_name), "")
            if not secret:
                raise AlertConfigError(
                    f"{self.settings.where}.options.secret_env: environment variable {env_name} is not set "
                    "(the webhook's signing secret)"
                )
        else:
            from airflow.sdk import BaseHook

            conn_id = str(self.settings.options.get("secret_conn_id") or self.conn_id)
            secret = BaseHook.get_connection(conn_id).password or ""
            secret = "" if "://" in secret else secret
            if not secret:
                raise AlertConfigError(
                    f"{self.settings.where}: no signing secret: set options.secret_env to an environment "
                    f"variable holding it, or put it in the password of connection {conn_id!r}"
                )
        register_secret(secret)
        return secret

    def register_secrets(self) -> None:
        super().register_secrets()
        self._secret()

    def check_config(self) -> list[str]:
        problems = super().check_config()
        try:
            self._secret()
        except AlertConfigError as err:
            problems.append(str(err))
        except Exception as err:  # the secret connection itself is missing
            problems.append(f"{self.settings.where}: signing secret unavailable: {type(err).__name__}: {err}")
        return problems

    def extra_headers(self, body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time()))
        return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(self._secret(), timestamp, body)}
