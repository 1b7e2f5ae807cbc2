"""Email through the SMTP provider's connection, with an explicit transport security option.

Option ``tls`` says how the connection is secured: ``starttls`` (the default; submission on port
587: plain connect, then STARTTLS before login), ``ssl`` (implicit TLS, port 465) or ``none`` (a
plain relay, port 25, for example inside a cluster). ``SmtpHook`` reads the connection (host, port,
login, password, ``from_email``, ``ssl_context``) and logs in; the hook's own TLS switches
(``disable_ssl`` / ``disable_tls`` extras, whose defaults make it try implicit TLS on 587 and fail
with ``WRONG_VERSION_NUMBER``) are overridden by ``tls``. Without ``tls``, a connection that sets
those extras keeps its old meaning. This channel builds a ``multipart/alternative`` message and
sends it once per attempt (the hook's send loop is bypassed: retries are the channel's policy).
"""

from __future__ import annotations

import html
import smtplib
import ssl
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any

from dataops_intelligence.alerting.channels.base import AlertChannel
from dataops_intelligence.alerting.channels.render import alert_line, text_body, title, truncate
from dataops_intelligence.alerting.errors import AlertConfigError
from dataops_intelligence.alerting.model import DeliveryResult, Notification
from dataops_intelligence.alerting.redact import register_secret

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

MAX_SUBJECT = 200
TLS_MODES = ("starttls", "ssl", "none")
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


def recipients_of(options: Mapping[str, Any]) -> list[str]:
    """``options.to`` as a list (a YAML list or one comma-separated string)."""
    raw = options.get("to") or []
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return [str(r).strip() for r in items if str(r).strip()]


def legacy_tls_mode(extra: Mapping[str, Any]) -> str | None:
    """The mode a connection's ``disable_ssl`` / ``disable_tls`` extras meant, None when it sets neither."""
    if "disable_ssl" not in extra and "disable_tls" not in extra:
        return None
    if not extra.get("disable_ssl", False):
        return "ssl"
    return "none" if extra.get("disable_tls", False) else "starttls"


def _smtp_hook_class() -> type[Any]:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    class _AlertSmtpHook(SmtpHook):
        """SmtpHook with the channel's ``tls`` mode and timeout, one connection attempt (the channel
        owns retries), sending a prebuilt message exactly once."""

        tls_mode: str | None = None
        connect_timeout: float = 10.0

        def _mode(self) -> str:
            return self.tls_mode or legacy_tls_mode(self.conn.extra_dejson) or "starttls"

        @property
        def use_ssl(self) -> bool:
            return self._mode() == "ssl"

        @property
        def smtp_starttls(self) -> bool:
            return self._mode() == "starttls"

        @property
        def smtp_retry_limit(self) -> int:
            return 0

        @property
        def timeout(self) -> int:
            return max(int(self.connect_timeout), 1)

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
    options_allowed = frozenset({"to", "from_email", "subject_prefix", "tls", "timeout"})
    default_conn_id = "smtp_default"

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = super().check_options(options)
        if not recipients_of(options):
            problems.append(("options.to", "at least one recipient is required for type email"))
        tls = options.get("tls")
        if tls is not None and tls not in TLS_MODES:
            problems.append(("options.tls", f"expected one of {', '.join(TLS_MODES)}, not {tls!r}"))
        return problems

    def _recipients(self) -> list[str]:
        recipients = recipients_of(self.settings.options)
        if not recipients:
            raise AlertConfigError(f"{self.settings.where}.options.to: at least one recipient is required")
        return recipients

    def check_config(self) -> list[str]:
        problems = [f"{self.settings.where}.{key}: {msg}" for key, msg in self.check_options(self.settings.options)]
        try:
            conn = self.connection()
        except AlertConfigError as err:
            return [*problems, str(err)]
        if not conn.host:
            problems.append(f"{self.settings.where}: connection {self.conn_id!r} has no host")
        return problems

    @property
    def tls_mode(self) -> str | None:
        mode = self.settings.options.get("tls")
        if mode is not None and mode not in TLS_MODES:
            raise AlertConfigError(
                f"{self.settings.where}.options.tls: expected one of {', '.join(TLS_MODES)}, not {mode!r}"
            )
        return None if mode is None else str(mode)

    def _hook(self) -> Any:
        hook_cls = _smtp_hook_class()
        hook = hook_cls(smtp_conn_id=self.conn_id)
        hook.tls_mode, hook.connect_timeout = self.tls_mode, self.timeout
        return hook

    def _send_once(self, notification: Notification, recipients: list[str]) -> None:
        with self._connected() as hook:
            register_secret(hook.smtp_password)
            sender = str(self.settings.options.get("from_email") or hook.from_email or "dataops@localhost")
            prefix = str(self.settings.options.get("subject_prefix", "[DataOps]"))
            hook.send_message_once(build_email(notification, sender, recipients, prefix), recipients)

    @contextmanager
    def _login(self) -> Iterator[Any]:
        """The connected, logged-in hook, closed on exit (also when STARTTLS or login fails)."""
        hook = self._hook()
        try:
            hook.get_conn()
        except BaseException:
            if hook._smtp_client is not None:  # connected, then STARTTLS or login failed
                hook._smtp_client.close()
            raise
        try:
            yield hook
        finally:
            hook.__exit__(None, None, None)

    @contextmanager
    def _connected(self) -> Iterator[Any]:
        """The logged-in hook; configuration faults raise :class:`AlertConfigError` naming what to fix."""
        try:
            with self._login() as hook:
                yield hook
        except smtplib.SMTPNotSupportedError as err:
            if "STARTTLS" not in str(err):  # AUTH not offered (some servers only offer it after TLS)
                raise AlertConfigError(
                    f"channel {self.name!r}: the server of connection {self.conn_id!r} refused login: {err} "
                    f"(options.tls: {self.tls_mode or 'starttls'})"
                ) from None
            raise AlertConfigError(
                f"channel {self.name!r}: the server of connection {self.conn_id!r} does not offer STARTTLS "
                "(options.tls: starttls); set options.tls to ssl (implicit TLS, port 465) or none"
            ) from None
        except ssl.SSLError as err:
            raise AlertConfigError(
                f"channel {self.name!r}: TLS with the server of connection {self.conn_id!r} failed "
                f"({err.reason or err}) with options.tls: {self.tls_mode or 'starttls'}; port 587 usually "
                "wants starttls, 465 ssl, 25 none"
            ) from None
        except Exception as err:
            if type(err).__name__ in ("AirflowNotFoundException", "AirflowException") and "not found" in str(
                err
            ):
                raise AlertConfigError(
                    f"{self.settings.where}.conn_id: Airflow connection {self.conn_id!r} is not defined "
                    f"(define it in Airflow, or as the environment variable AIRFLOW_CONN_{self.conn_id.upper()})"
                ) from None
            raise

    def register_secrets(self) -> None:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(self.conn_id)
        register_secret(conn.password)

    def send(self, notification: Notification) -> DeliveryResult:
        try:
            recipients = self._recipients()
        except AlertConfigError as err:
            return DeliveryResult(ok=False, attempts=0, error=str(err), retryable=False, config_error=True)
        return self.retry.run(lambda: self._send_once(notification, recipients), self.sleep)
