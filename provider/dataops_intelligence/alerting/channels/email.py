"""Email through the SMTP provider's connection: STARTTLS when the connection asks, text + HTML parts.

``SmtpHook`` owns connecting, STARTTLS (unless the ``disable_tls`` extra is set), implicit SSL and
login; this channel builds a ``multipart/alternative`` message and sends it once per attempt (the
hook's own send loop is bypassed so that retries are not stacked on top of the channel's policy).
"""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any

from dataops_intelligence.alerting.channels.base import AlertChannel
from dataops_intelligence.alerting.channels.render import alert_line, text_body, title, truncate
from dataops_intelligence.alerting.errors import AlertConfigError
from dataops_intelligence.alerting.model import DeliveryResult, Notification
from dataops_intelligence.alerting.redact import register_secret

if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_SUBJECT = 200
MAX_HTML_ROWS = 500
_COLORS = {"info": "#2b6cb0", "warning": "#b7791f", "error": "#c53030", "critical": "#822727"}


def _html(notification: Notification) -> str:
    rows = []
    for alert in notification.alerts[:MAX_HTML_ROWS]:
        color = "#2f855a" if alert.status.value == "resolved" else _COLORS[alert.severity.value]
        rows.append(
            f'<tr><td style="color:{color}">{html.escape(alert.status.value.upper())}</td>'
            f"<td>{html.escape(alert.severity.value)}</td><td>{html.escape(alert_line(alert))}</td></tr>"
        )
    hidden = len(notification.alerts) - len(rows)
    more = f"<p>… and {hidden} more alerts (truncated)</p>" if hidden else ""
    return (
        f'<html><body><h2>{html.escape(title(notification))}</h2><table border="1" cellpadding="4">'
        f"<tr><th>Status</th><th>Severity</th><th>Alert</th></tr>{''.join(rows)}</table>{more}"
        f'<p style="color:#718096">dedup_key: {notification.dedup_key}</p></body></html>'
    )


def build_email(
    notification: Notification, sender: str, recipients: Sequence[str], subject_prefix: str = "[DataOps]"
) -> EmailMessage:
    """A ``multipart/alternative`` mail with a text and an HTML part; the dedup key is a header too."""
    msg = EmailMessage()
    msg["Subject"] = truncate(f"{subject_prefix} {title(notification)}".strip(), MAX_SUBJECT)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring=notification.dedup_key[:16], domain="dataops.local")
    msg["X-DataOps-Dedup-Key"] = notification.dedup_key
    msg.set_content(text_body(notification))
    msg.add_alternative(_html(notification), subtype="html")
    return msg


def _smtp_hook_class() -> type[Any]:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    class _AlertSmtpHook(SmtpHook):
        """SmtpHook that sends a prebuilt message exactly once (the channel owns retries)."""

        def send_message_once(self, msg: EmailMessage, recipients: Sequence[str]) -> None:
            register_secret(self.smtp_password)
            client = self._smtp_client
            if client is None:
                raise AlertConfigError("SMTP client not initialised")
            client.sendmail(msg["From"], list(recipients), msg.as_string())

    return _AlertSmtpHook


class EmailChannel(AlertChannel):
    """SMTP email (options: ``to`` list or comma string, ``from_email`` overriding the connection's)."""

    type = "email"

    def _recipients(self) -> list[str]:
        raw = self.settings.options.get("to") or []
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        recipients = [str(r).strip() for r in items if str(r).strip()]
        if not recipients:
            raise AlertConfigError(f"channel {self.name!r}: option 'to' is required for email")
        return recipients

    def _send_once(self, notification: Notification, recipients: list[str]) -> None:
        hook_cls = _smtp_hook_class()
        with hook_cls(smtp_conn_id=self.settings.conn_id or "smtp_default") as hook:
            register_secret(hook.smtp_password)
            sender = str(self.settings.options.get("from_email") or hook.from_email or "dataops@localhost")
            prefix = str(self.settings.options.get("subject_prefix", "[DataOps]"))
            hook.send_message_once(build_email(notification, sender, recipients, prefix), recipients)

    def register_secrets(self) -> None:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(self.settings.conn_id or "smtp_default")
        register_secret(conn.password)

    def send(self, notification: Notification) -> DeliveryResult:
        try:
            recipients = self._recipients()
        except AlertConfigError as err:
            return DeliveryResult(ok=False, attempts=0, error=str(err), retryable=False)
        return self.retry.run(lambda: self._send_once(notification, recipients), self.sleep)
