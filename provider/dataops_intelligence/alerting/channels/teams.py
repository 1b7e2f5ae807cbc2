"""Microsoft Teams through a Workflows webhook, with an Adaptive Card (O365 connectors are retired).

Payload shape follows Alertmanager's ``msteamsv2``. Teams rejects messages above ~28 KB, so the card
is capped well below that, with the cut marked.
"""

from __future__ import annotations

from typing import Any

from dataops_intelligence.alerting.channels.base import Transport, WebhookChannel
from dataops_intelligence.alerting.channels.render import TRUNCATION_MARK, alert_line, title, truncate
from dataops_intelligence.alerting.channels.transports import HttpHookTransport
from dataops_intelligence.alerting.model import Notification, NotificationKind, Severity

MAX_CARD_TEXT = 18_000
MAX_TITLE = 300
_COLORS = {
    Severity.CRITICAL: "Attention",
    Severity.ERROR: "Attention",
    Severity.WARNING: "Warning",
    Severity.INFO: "Default",
}


def _card_text(notification: Notification) -> str:
    lines: list[str] = []
    used, hidden = 0, 0
    for i, alert in enumerate(notification.alerts):
        line = alert_line(alert)
        if used + len(line) > MAX_CARD_TEXT:
            hidden = len(notification.alerts) - i
            break
        lines.append(line)
        used += len(line) + 2
    return "\n\n".join(lines) + (f"\n\n… and {hidden} more alerts {TRUNCATION_MARK}" if hidden else "")


def build_adaptive_card(notification: Notification) -> dict[str, Any]:
    """The Workflows message: one Adaptive Card with a heading, the alert lines and facts."""
    color = "Good" if notification.kind is NotificationKind.RESOLVED else _COLORS[notification.severity]
    facts = [
        {"title": "dedup_key", "value": notification.dedup_key},
        {"title": "group", "value": truncate(notification.group_key, 300)},
    ]
    body = [
        {
            "type": "TextBlock",
            "text": truncate(title(notification), MAX_TITLE),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "style": "heading",
            "color": color,
        },
        {"type": "TextBlock", "text": _card_text(notification), "wrap": True},
        {"type": "FactSet", "facts": facts},
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.2",
        "body": body,
        "msteams": {"width": "full"},
    }
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "dedup_key": notification.dedup_key, "attachments": [attachment]}


class TeamsChannel(WebhookChannel):
    """Teams Workflows webhook via an HTTP connection (full URL in the password, or host + endpoint)."""

    type = "teams"
    options_allowed = frozenset({"endpoint", "test_endpoint", "timeout"})
    default_conn_id = "teams_default"

    def build_payload(self, notification: Notification) -> dict[str, Any]:
        return build_adaptive_card(notification)

    def make_transport(self) -> Transport:
        endpoint = str(self.settings.options.get("endpoint", ""))
        return HttpHookTransport(self.conn_id, endpoint, self.timeout)
