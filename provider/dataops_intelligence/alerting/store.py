"""Alert state, outbox and ``alert_history`` persistence behind one small protocol.

Rows are plain dicts of primitive types (see ``model.py``), so a Delta-backed store can MERGE them on
their natural keys: alerts on ``fingerprint``, deliveries on ``delivery_id``, history on ``alert_id``.
``commit`` is atomic: the outbox row of a notification and the alert state that produced it are
written together, before anything is sent.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dataops_intelligence.alerting.model import AlertState, Delivery, DeliveryStatus, Row
from dataops_intelligence.alerting.policy import needs_tracking

if TYPE_CHECKING:
    import os
    from collections.abc import Iterator, Mapping, Sequence


class AlertStore(Protocol):
    """Where alert state, the delivery outbox and alert_history live between cycles."""

    def load_open_alerts(self) -> list[AlertState]:
        """Alerts still open, or resolved with a resolved notification still owed."""

    def load_outbox(self) -> list[Delivery]:
        """Deliveries that are pending or failed and still have a next attempt."""

    def commit(
        self,
        alerts: Sequence[AlertState] = (),
        deliveries: Sequence[Delivery] = (),
        history: Sequence[Row] = (),
    ) -> None:
        """Atomically upsert alert state, outbox rows and history rows."""

    def load_history(self) -> list[Row]:
        """Every alert_history row (for tests, the dashboard and audits)."""


def merge_history(old: Mapping[str, Any] | None, new: Row) -> Row:
    """History rows merge on alert_id; delivery descriptors accumulate across cycles."""
    if not old:
        return dict(new)
    deliveries = [d for d in str(old.get("deliveries") or "").split(",") if d]
    deliveries += [d for d in str(new.get("deliveries") or "").split(",") if d and d not in deliveries]
    return {**old, **new, "deliveries": ",".join(deliveries)}


def _open(delivery: Delivery) -> bool:
    return delivery.status is not DeliveryStatus.SENT and delivery.next_attempt_at is not None


class InMemoryAlertStore:
    """A process-local store for tests and single-process use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.alerts: dict[str, Row] = {}
        self.deliveries: dict[str, Row] = {}
        self.history: dict[str, Row] = {}

    def load_open_alerts(self) -> list[AlertState]:
        with self._lock:
            return [AlertState.from_row(r) for r in self.alerts.values() if r["_tracked"]]

    def load_outbox(self) -> list[Delivery]:
        with self._lock:
            rows = [Delivery.from_row(r) for r in self.deliveries.values()]
        return [d for d in rows if _open(d)]

    def commit(
        self,
        alerts: Sequence[AlertState] = (),
        deliveries: Sequence[Delivery] = (),
        history: Sequence[Row] = (),
    ) -> None:
        with self._lock:
            for alert in alerts:
                self.alerts[alert.fingerprint] = {**alert.to_row(), "_tracked": needs_tracking(alert)}
            for delivery in deliveries:
                self.deliveries[delivery.delivery_id] = delivery.to_row()
            for row in history:
                self.history[row["alert_id"]] = merge_history(self.history.get(row["alert_id"]), row)

    def load_history(self) -> list[Row]:
        with self._lock:
            return [dict(r) for r in self.history.values()]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_state (fingerprint TEXT PRIMARY KEY, tracked INTEGER NOT NULL, row TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (delivery_id TEXT PRIMARY KEY, status TEXT NOT NULL, open INTEGER NOT NULL,
                                   row TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alert_history (alert_id TEXT PRIMARY KEY, row TEXT NOT NULL);
"""


class SqliteAlertStore:
    """A durable single-file store (SQLite, WAL, one transaction per commit); survives SIGKILL."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            conn.executescript(_SCHEMA)
        finally:
            conn.close()

    def _query(self, sql: str) -> list[Any]:
        conn = self._connect()
        try:
            return [json.loads(r[0]) for r in conn.execute(sql).fetchall()]
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def load_open_alerts(self) -> list[AlertState]:
        return [AlertState.from_row(r) for r in self._query("SELECT row FROM alert_state WHERE tracked = 1")]

    def load_outbox(self) -> list[Delivery]:
        return [Delivery.from_row(r) for r in self._query("SELECT row FROM outbox WHERE open = 1")]

    def commit(
        self,
        alerts: Sequence[AlertState] = (),
        deliveries: Sequence[Delivery] = (),
        history: Sequence[Row] = (),
    ) -> None:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT OR REPLACE INTO alert_state VALUES (?, ?, ?)",
                [(a.fingerprint, int(needs_tracking(a)), json.dumps(a.to_row())) for a in alerts],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO outbox VALUES (?, ?, ?, ?)",
                [(d.delivery_id, d.status.value, int(_open(d)), json.dumps(d.to_row())) for d in deliveries],
            )
            for row in history:
                found = conn.execute("SELECT row FROM alert_history WHERE alert_id = ?", (row["alert_id"],))
                old = found.fetchone()
                merged = merge_history(json.loads(old[0]) if old else None, row)
                conn.execute(
                    "INSERT OR REPLACE INTO alert_history VALUES (?, ?)",
                    (row["alert_id"], json.dumps(merged)),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def load_history(self) -> list[Row]:
        return [dict(r) for r in self._query("SELECT row FROM alert_history")]

    @contextmanager
    def cycle_lock(self) -> Iterator[None]:
        """An exclusive inter-process lock (``flock`` on ``<db>.lock``) around read-decide-write.

        Two workers deciding on the same state at once would both see a new alert and both notify;
        the engine holds this lock from loading state to committing the outbox.
        """
        with open(f"{self.path}.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def load_deliveries(self) -> list[Delivery]:
        """Every outbox row, sent ones included (audits and tests)."""
        return [Delivery.from_row(r) for r in self._query("SELECT row FROM outbox")]
