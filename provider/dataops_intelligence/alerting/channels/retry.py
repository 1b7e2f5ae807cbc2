"""The one retry policy every channel uses: backoff, ``Retry-After`` honoured, explicit transient predicate.

Transient: connection errors and timeouts, HTTP 429 and 5xx, SMTP 4xx replies. Never retried: other
HTTP 4xx, SMTP 5xx, payload or configuration errors. Channels own HTTP retries; hooks are built with
their own retries switched off, so retries are never stacked.

Configuration faults (a missing connection or signing secret, a malformed URL, a TLS mismatch, HTTP
401/403/404/410: wrong credentials or URL) are not retried inside a cycle either, but they are marked
``config``: the engine keeps the delivery pending and tries again next cycle, so fixing the
configuration delivers it.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.error import URLError

from dataops_intelligence.alerting.errors import AlertConfigError, DeliveryError
from dataops_intelligence.alerting.model import DeliveryResult
from dataops_intelligence.alerting.redact import redact

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


#: Statuses that mean "wrong URL or credentials": fixed by configuration, not by the payload.
CONFIG_STATUSES = frozenset({401, 403, 404, 410})


def is_transient_status(status: int) -> bool:
    """429 and 5xx are worth retrying; any other non-2xx status is not."""
    return status == 429 or status >= 500


def parse_retry_after(value: str | None, now_epoch: float | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or unparsable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if now_epoch is None:
        import time

        now_epoch = time.time()
    return max(when.timestamp() - now_epoch, 0.0)


def header(headers: Mapping[str, object], name: str) -> str | None:
    """Case-insensitive header lookup over any mapping (requests, urllib, slack_sdk)."""
    lowered = name.lower()
    for key, value in headers.items():
        if str(key).lower() == lowered:
            return str(value[0] if isinstance(value, list) else value)
    return None


def check_http_status(status: int, headers: Mapping[str, object], body: str) -> None:
    """Raise a classified :class:`DeliveryError` for a non-2xx answer."""
    if 200 <= status < 300:
        return
    raise DeliveryError(
        f"HTTP {status}: {redact(body[:300])}",
        status=status,
        transient=is_transient_status(status),
        retry_after=parse_retry_after(header(headers, "Retry-After")),
        config=status in CONFIG_STATUSES,
    )


def classify_exception(err: BaseException) -> DeliveryError:
    """Map a transport exception to a (redacted) DeliveryError with the transient flag set."""
    if isinstance(err, DeliveryError):
        return err
    name = type(err).__name__
    if is_config_exception(err):
        return DeliveryError(f"{name}: {redact(err)}", transient=False, config=True)
    if isinstance(err, smtplib.SMTPResponseException):
        return DeliveryError(
            f"SMTP {err.smtp_code}: {redact(err)}", status=err.smtp_code, transient=400 <= err.smtp_code < 500
        )
    transient_types: tuple[type[BaseException], ...] = (
        ConnectionError,
        TimeoutError,
        socket.timeout,
        URLError,
        smtplib.SMTPServerDisconnected,
        smtplib.SMTPConnectError,
    )
    transient = isinstance(err, transient_types) or _is_requests_transient(err)
    return DeliveryError(f"{name}: {redact(err)}", transient=transient)


_CONFIG_TYPE_NAMES = frozenset({
    "AirflowNotFoundException",  # the connection id is not defined
    "MissingSchema",  # requests: a URL without http(s)://
    "InvalidSchema",
    "InvalidURL",
    "InvalidHeader",
    "LocationParseError",  # urllib3: an unparsable host
})


def is_config_exception(err: BaseException) -> bool:
    """Faults fixed by configuration: a missing connection or secret, a malformed URL, a TLS mismatch."""
    if isinstance(err, AlertConfigError | ssl.SSLError):
        return True
    names = {cls.__name__ for cls in type(err).__mro__}
    if "SSLError" in names:  # requests.exceptions.SSLError wraps the ssl module's error
        return True
    return bool(names & _CONFIG_TYPE_NAMES)


def _is_requests_transient(err: BaseException) -> bool:
    try:
        import requests
    except ImportError:  # pragma: no cover - requests ships with the http provider
        return False
    return isinstance(err, requests.ConnectionError | requests.Timeout)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with a cap; a server's Retry-After (capped by ``max_delay``) wins."""

    max_attempts: int = 4
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        return min(self.base_delay * self.multiplier ** (attempt - 1), self.max_delay)

    def run(self, attempt_once: Callable[[], None], sleep: Callable[[float], None]) -> DeliveryResult:
        """Call ``attempt_once`` until it succeeds, fails permanently or attempts run out."""
        last: DeliveryError | None = None
        attempt = 0
        for attempt in range(1, self.max_attempts + 1):
            try:
                attempt_once()
            except Exception as err:  # classified below; nothing escapes a channel
                last = classify_exception(err)
                if not last.transient or attempt == self.max_attempts:
                    break
                sleep(self.delay(attempt, last.retry_after))
            else:
                return DeliveryResult(ok=True, attempts=attempt)
        assert last is not None
        return DeliveryResult(
            ok=False,
            attempts=attempt,
            status_code=last.status,
            error=redact(last),
            retryable=last.transient,
            config_error=last.config,
        )
