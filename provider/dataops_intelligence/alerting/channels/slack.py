"""Slack channels: Block Kit payloads within Slack's limits, sent through the Slack provider's hooks.

Limits (api.slack.com/reference/block-kit/blocks): 50 blocks per message, 3,000 characters per
section text, 150 per header; the fallback ``text`` is kept short. Every cut is marked.

Escaping (api.slack.com/reference/surfaces/formatting#escaping): ``&``, ``<`` and ``>`` in every
user-derived string (job and task names, messages, labels) become ``&amp;``, ``&lt;`` and ``&gt;``,
so a job named ``<!channel>`` cannot ping a channel and ``<http://x|y>`` cannot forge a link. Only
the markup this module writes itself stays unescaped. Cuts never split an entity.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dataops_intelligence.alerting.channels.base import Transport, WebhookChannel
from dataops_intelligence.alerting.channels.render import (
    SEVERITY_EMOJI,
    TRUNCATION_MARK,
    alert_line,
    title,
)
from dataops_intelligence.alerting.channels.transports import SlackApiTransport, SlackWebhookTransport
from dataops_intelligence.alerting.errors import AlertConfigError
from dataops_intelligence.alerting.model import AlertStatus, Notification

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_FALLBACK = 3000
_RESERVED = 3  # header + dedup context + possible truncation notice


_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def escape(text: str) -> str:
    """Slack's three control characters as HTML entities (``&`` first, so nothing is escaped twice)."""
    for raw, entity in _ESCAPES:
        text = text.replace(raw, entity)
    return text


def escaped(text: str, limit: int) -> str:
    """``text`` escaped and cut to ``limit`` characters without splitting an entity (cut marked)."""
    safe = escape(text)
    if len(safe) <= limit:
        return safe
    head = safe[: max(limit - len(TRUNCATION_MARK), 0)]
    return _PARTIAL_ENTITY.sub("", head) + TRUNCATION_MARK[:limit]


def _section(text: str) -> dict[str, Any]:
    # ``text`` is already escaped (and within MAX_SECTION) by ``_alert_chunks``.
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _alert_chunks(notification: Notification, max_sections: int) -> tuple[list[str], int]:
    """Pack alert lines into at most ``max_sections`` section texts; return them and the hidden count."""
    chunks: list[str] = []
    current = ""
    for shown, alert in enumerate(notification.alerts):
        icon = (
            ":white_check_mark:"
            if alert.status is AlertStatus.RESOLVED
            else SEVERITY_EMOJI[alert.severity.value]
        )
        line = f"{icon} {escaped(alert_line(alert), MAX_SECTION - len(icon) - 1)}"
        if current and len(current) + 1 + len(line) > MAX_SECTION:
            if len(chunks) + 1 >= max_sections:
                chunks.append(current)
                return chunks, len(notification.alerts) - shown
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks, 0


def build_slack_message(notification: Notification) -> dict[str, Any]:
    """Block Kit message: header, one section per chunk of alerts, a context block with the dedup key."""
    head = escaped(title(notification), MAX_HEADER)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": head}}]
    chunks, hidden = _alert_chunks(notification, MAX_BLOCKS - _RESERVED)
    blocks.extend(_section(chunk) for chunk in chunks)
    if hidden:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"… and {hidden} more alerts {TRUNCATION_MARK}"}],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": escaped(
                        f"dedup_key: `{notification.dedup_key}` · group: {notification.group_key}", MAX_SECTION
                    ),
                }
            ],
        }
    )
    fallback = escaped(
        "\n".join([title(notification), *(alert_line(a) for a in notification.alerts[:20])]), MAX_FALLBACK
    )
    return {
        "text": fallback,
        "blocks": blocks[:MAX_BLOCKS],
        "metadata": {
            "event_type": "dataops_alert",
            "event_payload": {
                "dedup_key": notification.dedup_key,
                "fingerprints": ",".join(notification.fingerprints[:20]),
            },
        },
    }


class SlackWebhookChannel(WebhookChannel):
    """Slack incoming webhook (connection type ``slackwebhook``; the URL is a secret)."""

    type = "slack_webhook"
    options_allowed = frozenset({"timeout"})
    default_conn_id = "slack_default"

    def build_payload(self, notification: Notification) -> dict[str, Any]:
        return build_slack_message(notification)

    def make_transport(self) -> Transport:
        return SlackWebhookTransport(self.conn_id, self.timeout)

    def target_url(self, conn: Any) -> str | None:
        # SlackWebhookHook: a full URL in the password, or the token path under the host.
        password = conn.password or ""
        if "://" in password:
            return str(password)
        if not password:
            return None
        host = conn.host or "https://hooks.slack.com/services"
        host = host if "://" in host else f"https://{host}"
        return f"{host.rstrip('/')}/{password.lstrip('/')}"


class SlackApiChannel(WebhookChannel):
    """Slack Web API ``chat.postMessage`` (connection type ``slack``; option ``channel`` required)."""

    type = "slack_api"
    options_allowed = frozenset({"channel", "test_channel", "timeout"})
    default_conn_id = "slack_api_default"

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = super().check_options(options)
        if not options.get("channel"):
            problems.append(("options.channel", "required for type slack_api (for example \"#dataops-alerts\")"))
        return problems

    def build_payload(self, notification: Notification) -> dict[str, Any]:
        return build_slack_message(notification)

    def make_transport(self) -> Transport:
        channel = self.settings.options.get("channel")
        if not channel:
            raise AlertConfigError(f"{self.settings.where}.options.channel: required for type slack_api")
        return SlackApiTransport(self.conn_id, str(channel), self.timeout)

    def check_config(self) -> list[str]:
        try:
            conn = self.connection()
        except AlertConfigError as err:
            return [str(err)]
        if not conn.password:
            return [f"{self.settings.where}: connection {self.conn_id!r} has no token (its password)"]
        return []
