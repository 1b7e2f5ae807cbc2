"""Secret redaction: every secret the channels resolve is registered here and scrubbed from text.

Connections hold webhook URLs, tokens and passwords. They must never reach logs, exceptions, alert
text or store records, so every string that leaves a channel goes through :func:`redact`, and a
logging filter scrubs third-party loggers that print request URLs at DEBUG level (urllib3).
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

REDACTED = "***"
_MIN_SECRET_LEN = 4
# Third-party loggers that write request lines (with URL paths and query strings) at DEBUG level.
_SCRUBBED_LOGGERS = ("urllib3.connectionpool", "slack_sdk", "airflow.task.hooks")


class SecretRegistry:
    """Thread-safe set of secret strings, longest first so that URLs are replaced before their parts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()

    def add(self, secret: str | None) -> None:
        """Register a secret (and, for a URL, its path and query, which carry the token)."""
        if not secret or len(secret) < _MIN_SECRET_LEN:
            return
        parts = {secret}
        if "://" in secret:
            split = urlsplit(secret)
            parts.update(p for p in (split.path, split.query) if len(p) > 1 and p != "/")
        with self._lock:
            merged = set(self._secrets) | {p for p in parts if len(p) >= _MIN_SECRET_LEN}
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """Return ``text`` with every registered secret replaced by ``***``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


SECRETS = SecretRegistry()


def register_secret(secret: str | None) -> None:
    """Register a secret with the process-wide registry (like Airflow's ``mask_secret``)."""
    SECRETS.add(secret)
    _install_log_filters()


def redact(text: object) -> str:
    """Return ``str(text)`` with every registered secret removed."""
    return SECRETS.redact(str(text))


class RedactingFilter(logging.Filter):
    """A logging filter that renders the record and scrubs registered secrets from it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = SECRETS.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = RedactingFilter()
_installed = False


def _install_log_filters() -> None:
    global _installed
    if _installed:
        return
    for name in (*_SCRUBBED_LOGGERS, "dataops_intelligence"):
        logging.getLogger(name).addFilter(_FILTER)
    _installed = True
