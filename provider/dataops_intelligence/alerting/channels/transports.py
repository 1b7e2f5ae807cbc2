"""Hook-backed transports: the only network I/O of the alerting package.

Each transport resolves its Airflow connection lazily, registers every secret it sees (webhook URL,
token, password) with the redactor, and builds the provider hook with its own retries switched off:
the channel's :class:`RetryPolicy` is the single retry layer.
"""

from __future__ import annotations

import json
import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any

from dataops_intelligence.alerting.channels.base import TransportResponse
from dataops_intelligence.alerting.errors import DeliveryError
from dataops_intelligence.alerting.redact import redact, register_secret

if TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

# slack_sdk prints the webhook URL at DEBUG when its logger's own level is <= DEBUG: give it a
# dedicated logger that never emits DEBUG.
_SLACK_SDK_LOG = logging.getLogger("dataops_intelligence.alerting.slack_sdk")
_SLACK_SDK_LOG.setLevel(logging.WARNING)


class HttpHookTransport:
    """POST through an HTTP connection (``HttpHook`` builds the session: auth, extra headers, base URL).

    The URL is ``<base_url><endpoint>``; a connection password that is itself a URL (``https://...``)
    is used as the full URL and treated as a secret, as Teams Workflows URLs carry a signature.
    """

    def __init__(self, conn_id: str, endpoint: str = "", timeout: float = 10.0) -> None:
        self.conn_id = conn_id
        self.endpoint = endpoint
        self.timeout = timeout

    @cached_property
    def _session_and_url(self) -> tuple[requests.Session, str]:
        from airflow.providers.http.hooks.http import HttpHook

        hook = HttpHook(method="POST", http_conn_id=self.conn_id)
        conn = hook.get_connection(self.conn_id)
        register_secret(conn.password)
        session = hook.get_conn()
        if conn.password and "://" in conn.password:
            return session, conn.password.strip()
        return session, hook.url_from_endpoint(self.endpoint)

    def register_secrets(self) -> None:
        self._session_and_url  # noqa: B018 - resolving the connection registers its secrets

    def post(self, body: bytes, headers: Mapping[str, str]) -> TransportResponse:
        session, url = self._session_and_url
        # HttpHook.run logs the URL; posting on its session keeps the secret-bearing URL out of logs.
        answer = session.post(url, data=body, headers=dict(headers), timeout=self.timeout)
        return TransportResponse(answer.status_code, dict(answer.headers), answer.text[:500])


class SlackWebhookTransport:
    """POST through ``SlackWebhookHook`` (Slack incoming webhook connection, URL kept secret)."""

    def __init__(self, conn_id: str, timeout: float = 10.0) -> None:
        self.conn_id = conn_id
        self.timeout = timeout

    @cached_property
    def _client(self) -> Any:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        hook = SlackWebhookHook(
            slack_webhook_conn_id=self.conn_id,
            timeout=int(self.timeout),
            retry_handlers=[],
            logger=_SLACK_SDK_LOG,
        )
        client = hook.get_conn()
        register_secret(client.url)
        return client

    def register_secrets(self) -> None:
        self._client  # noqa: B018 - resolving the connection registers its secrets

    def post(self, body: bytes, headers: Mapping[str, str]) -> TransportResponse:
        answer = self._client.send_dict(json.loads(body), headers=dict(headers))
        return TransportResponse(int(answer.status_code), dict(answer.headers or {}), str(answer.body)[:500])


class SlackApiTransport:
    """``chat.postMessage`` through ``SlackHook`` (Web API token connection; ``base_url`` extra honoured)."""

    def __init__(self, conn_id: str, channel: str, timeout: float = 10.0) -> None:
        self.conn_id = conn_id
        self.channel = channel
        self.timeout = timeout

    @cached_property
    def _client(self) -> Any:
        from airflow.providers.slack.hooks.slack import SlackHook

        hook = SlackHook(
            slack_conn_id=self.conn_id, timeout=int(self.timeout), retry_handlers=[], logger=_SLACK_SDK_LOG
        )
        register_secret(hook.get_connection(self.conn_id).password)
        return hook.get_conn()

    def register_secrets(self) -> None:
        self._client  # noqa: B018 - resolving the connection registers its secrets

    def post(self, body: bytes, headers: Mapping[str, str]) -> TransportResponse:
        from slack_sdk.errors import SlackApiError

        payload = json.loads(body)
        try:
            answer = self._client.chat_postMessage(channel=self.channel, **payload)
        except SlackApiError as err:
            resp = err.response
            return TransportResponse(
                int(resp.status_code),
                dict(resp.headers or {}),
                redact(json.dumps(resp.data)[:300]) if isinstance(resp.data, dict) else "",
            )
        if not answer.get("ok", False):
            raise DeliveryError(
                f"Slack API error: {answer.get('error')}", status=answer.status_code, transient=False
            )
        return TransportResponse(int(answer.status_code), dict(answer.headers or {}), "")
