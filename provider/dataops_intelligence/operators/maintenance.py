"""Operators of the ``dataops_maintenance`` DAG: retention, OPTIMIZE/VACUUM, housekeeping.

Each is a monitoring-stage operator with its own ``run_local`` (embedded Spark + Delta); the
reference instant is the end of the task's data interval, never ``now()``.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from dataops_intelligence.operators.stages import DataOpsStageOperator

if TYPE_CHECKING:
    from pathlib import Path

    from dataops_jobs.config import Config

#: Sent (or given-up) outbox rows and resolved alert states are kept this long for audits.
OUTBOX_KEEP = timedelta(days=7)


def prune_alert_store(path: Path, now: datetime, keep: timedelta, history_days: int) -> dict[str, int]:
    """Housekeeping of the SQLite alert store: closed outbox rows, untracked states, old history.

    Open deliveries (pending or failed with a retry due) are never touched: the outbox keeps its
    at-least-once promise.
    """
    if not path.exists():
        return {"outbox": 0, "alert_state": 0, "alert_history": 0}
    outbox_cut = (now - keep).isoformat()
    history_cut = (now - timedelta(days=history_days)).isoformat()
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        outbox = _delete_old(conn, "outbox", "delivery_id", "open = 0", ("sent_at", "created_at"), outbox_cut)
        states = _delete_old(conn, "alert_state", "fingerprint", "tracked = 0", ("resolved_at", "last_seen"),
                             outbox_cut)
        history = _delete_old(conn, "alert_history", "alert_id", "1 = 1", ("updated_at", "created_at"),
                              history_cut)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return {"outbox": outbox, "alert_state": states, "alert_history": history}


def _delete_old(conn: sqlite3.Connection, table: str, key: str, where: str, time_keys: tuple[str, ...],
                cutoff: str) -> int:
    """Delete rows matching ``where`` whose first present timestamp field is before ``cutoff``."""
    doomed = []
    for row_key, row in conn.execute(f"SELECT {key}, row FROM {table} WHERE {where}"):
        fields = json.loads(row)
        stamp = next((str(fields[k]) for k in time_keys if fields.get(k)), None)
        if stamp is not None and _utc(stamp) < _utc(cutoff):
            doomed.append((row_key,))
    conn.executemany(f"DELETE FROM {table} WHERE {key} = ?", doomed)
    return len(doomed)


def _utc(stamp: str) -> datetime:
    value = datetime.fromisoformat(stamp)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class RetentionOperator(DataOpsStageOperator):
    """Deletes rows older than ``retention.<table>`` days from every output table."""

    stage = "retention"
    ui_color = "#f3e8fd"

    def run_local(self, config: Config, start: datetime, end: datetime) -> dict[str, Any]:
        from dataops_intelligence.operators._spark import local_spark
        from dataops_jobs.io import TableLocator
        from dataops_jobs.maintenance import run_retention

        return run_retention(local_spark(config), config, TableLocator(config), end).to_dict()


class OptimizeVacuumOperator(DataOpsStageOperator):
    """OPTIMIZE (file compaction) and VACUUM (``retention.vacuum_retain_hours``) of the Delta tables."""

    stage = "optimize_vacuum"
    ui_color = "#f3e8fd"

    def run_local(self, config: Config, start: datetime, end: datetime) -> dict[str, Any]:
        from dataops_intelligence.operators._spark import local_spark
        from dataops_jobs.io import TableLocator
        from dataops_jobs.maintenance import optimize_and_vacuum

        return optimize_and_vacuum(local_spark(config), config, TableLocator(config)).to_dict()


class HousekeepingOperator(DataOpsStageOperator):
    """Watermarks (unknown sources, future values) and the alert outbox/state/history store."""

    stage = "housekeeping"
    ui_color = "#f3e8fd"

    def run_local(self, config: Config, start: datetime, end: datetime) -> dict[str, Any]:
        from dataops_intelligence.notifiers import default_state_path
        from dataops_intelligence.operators._spark import local_spark
        from dataops_jobs.io import TableLocator
        from dataops_jobs.maintenance import housekeep_watermarks

        marks = housekeep_watermarks(local_spark(config), config, TableLocator(config), end)
        now = end if end.tzinfo else end.replace(tzinfo=timezone.utc)
        store = prune_alert_store(default_state_path(), now, OUTBOX_KEEP, config.retention.alert_history)
        self.log.info("housekeeping: watermarks %s, alert store %s", marks, store)
        return {"watermarks": marks, "alert_store": store}
