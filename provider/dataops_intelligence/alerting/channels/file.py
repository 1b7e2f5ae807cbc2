"""A local channel: every notification appended as one JSON line to a file the user can read.

For a laptop, the demo and ``make airflow`` (``tail -f .dataops/alerts/notifications.jsonl``), or a
deployment that ships the file elsewhere. Each line holds the title and one text line per alert (as
the other channels render them) plus the whole notification (``dataops.alert/v1``, as the webhook
sends it). Appends are serialised with ``flock``, so concurrent workers never interleave lines.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataops_intelligence.alerting.channels.base import AlertChannel
from dataops_intelligence.alerting.channels.render import alert_line, title
from dataops_intelligence.alerting.channels.retry import classify_exception
from dataops_intelligence.alerting.channels.webhook import build_webhook_payload
from dataops_intelligence.alerting.model import DeliveryResult, Notification

if TYPE_CHECKING:
    from collections.abc import Mapping


def file_line(notification: Notification) -> str:
    """The JSON line written for one notification."""
    doc = {
        "title": title(notification),
        "lines": [alert_line(a) for a in notification.alerts],
        **build_webhook_payload(notification),
    }
    return json.dumps(doc, default=str, separators=(",", ":"))


class FileChannel(AlertChannel):
    """Appends JSON lines to ``options.path`` (created with its directory); no connection."""

    type = "file"
    options_allowed = frozenset({"path"})

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = super().check_options(options)
        if not str(options.get("path") or "").strip():
            problems.append(
                ("options.path", "required for type file (for example .dataops/alerts/notifications.jsonl)")
            )
        return problems

    @property
    def path(self) -> Path:
        return Path(str(self.settings.options.get("path", ""))).expanduser()

    def check_config(self) -> list[str]:
        problems = [
            f"{self.settings.where}.{key}: {msg}" for key, msg in self.check_options(self.settings.options)
        ]
        if problems:
            return problems
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8"):
                pass
        except OSError as err:
            return [f"{self.settings.where}.options.path: cannot write {self.path}: {err.strerror}"]
        return []

    def send(self, notification: Notification) -> DeliveryResult:
        problems = self.check_config()
        if problems:
            return DeliveryResult(
                ok=False, attempts=0, error="; ".join(problems), retryable=False, config_error=True
            )
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                handle.write(file_line(notification) + "\n")
                handle.flush()
        except OSError as err:
            error = classify_exception(err)
            return DeliveryResult(ok=False, attempts=1, error=str(error), retryable=True)
        return DeliveryResult(ok=True, attempts=1)
