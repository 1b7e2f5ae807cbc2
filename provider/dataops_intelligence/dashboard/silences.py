"""Silences created and expired from the dashboard, kept in ``alert_silences`` and read by every alert cycle.

The alert engine's policy mutes an alert while a :class:`~dataops_intelligence.alerting.policy_config.Silence`
matches its labels (``starts_at <= now < ends_at``). Silences come from two places: the rules file
(``silences:``) and this table. ``AlertCycleOperator`` calls :func:`with_stored_silences` at the start of
every cycle, so a silence created in the UI is honoured by the next cycle; expiring one sets its
``ends_at`` to the expiry time (the row is kept for the audit trail).

- ``local``: :class:`DeltaSilenceStore`, the Delta table at ``<warehouse>/<catalog>/<schema>/alert_silences``
  written and read with ``deltalake`` (a MERGE on ``silence_id``; no JVM in the api-server);
- ``databricks``: :class:`SqlSilenceStore`, the Unity Catalog table through the SQL warehouse
  (``MERGE INTO ... USING (SELECT * FROM VALUES ...)`` with named parameters).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol

from dataops_intelligence.alerting.matchers import parse_matchers
from dataops_intelligence.alerting.policy_config import Silence
from dataops_intelligence.dashboard.tables import Filter, Query, arrow_schema, utc
from dataops_jobs.schemas.alerts import ALERT_SILENCES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dataops_intelligence.alerting.rules_loader import AlertingSettings
    from dataops_intelligence.alerting.sql import SqlRunner
    from dataops_intelligence.dashboard.tables import TableReader
    from dataops_jobs.config import Config
    from dataops_jobs.io import TableLocator

MAX_DURATION = timedelta(days=30)
MAX_COMMENT = 1000
MAX_MATCHERS = 10
#: How far back ended silences are listed.
LIST_WINDOW = timedelta(days=7)


class SilenceError(ValueError):
    """An invalid silence request (bad matcher, duration, comment), or an unknown silence id."""


@dataclass(frozen=True)
class SilenceRecord:
    """One row of ``alert_silences``."""

    silence_id: str
    matchers: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime
    expired_by: str | None = None
    expired_at: datetime | None = None

    def to_silence(self) -> Silence:
        return Silence(self.silence_id, parse_matchers(self.matchers), self.starts_at, self.ends_at,
                       self.created_by, self.comment)

    def state(self, now: datetime) -> str:
        if self.expired_at is not None:
            return "expired"
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "ended"

    def row(self) -> tuple[Any, ...]:
        return (self.silence_id, list(self.matchers), self.starts_at, self.ends_at, self.created_by,
                self.comment, self.created_at, self.expired_by, self.expired_at)

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {"silence_id": self.silence_id, "matchers": list(self.matchers),
                "starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat(),
                "created_by": self.created_by, "comment": self.comment,
                "created_at": self.created_at.isoformat(), "expired_by": self.expired_by,
                "expired_at": self.expired_at.isoformat() if self.expired_at else None,
                "state": self.state(now)}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SilenceRecord:
        return cls(str(row["silence_id"]), tuple(row.get("matchers") or ()), _req(row["starts_at"]),
                   _req(row["ends_at"]), str(row.get("created_by") or ""), str(row.get("comment") or ""),
                   _req(row["created_at"]), row.get("expired_by"), utc(row.get("expired_at")))


def _req(value: Any) -> datetime:
    found = utc(value)
    if found is None:
        raise SilenceError("silence row without a required time")
    return found


def new_silence(matchers: Sequence[str], duration: timedelta, comment: str, user: str,
                now: datetime, starts_at: datetime | None = None) -> SilenceRecord:
    """Validate a request and build the record (errors name the field and what was expected)."""
    items = [m.strip() for m in matchers if m and m.strip()]
    if not items:
        raise SilenceError("matchers: at least one label matcher is required (e.g. job_id=123)")
    if len(items) > MAX_MATCHERS:
        raise SilenceError(f"matchers: at most {MAX_MATCHERS}")
    try:
        parse_matchers(items)
    except ValueError as err:
        raise SilenceError(f"matchers: {err}") from None
    if not timedelta(minutes=1) <= duration <= MAX_DURATION:
        raise SilenceError("duration: expected between 1 minute and 30 days")
    text = (comment or "").strip()
    if not text:
        raise SilenceError("comment: required (say why, for the next person on call)")
    if len(text) > MAX_COMMENT:
        raise SilenceError(f"comment: at most {MAX_COMMENT} characters")
    start = starts_at or now
    return SilenceRecord(secrets.token_hex(8), tuple(items), start, start + duration, user, text, now)


class SilenceStore(Protocol):
    """Where silences live: list, upsert."""

    def list(self, now: datetime, *, window: timedelta = LIST_WINDOW) -> list[SilenceRecord]:
        """Silences that have not ended more than ``window`` ago, newest first."""

    def save(self, record: SilenceRecord) -> None:
        """Insert or replace the record (MERGE on ``silence_id``)."""


class _ReadMixin:
    reader: TableReader

    def list(self, now: datetime, *, window: timedelta = LIST_WINDOW) -> list[SilenceRecord]:
        query = Query("alert_silences", tuple(ALERT_SILENCES.column_names),
                      where=(Filter("ends_at", ">=", now - window),), order_by=(("created_at", True),),
                      limit=1000)
        return [SilenceRecord.from_row(r) for r in self.reader.read(query)]

    def get(self, silence_id: str, now: datetime) -> SilenceRecord:
        for record in self.list(now, window=MAX_DURATION * 12):
            if record.silence_id == silence_id:
                return record
        raise SilenceError(f"no silence {silence_id!r}")

    def expire(self, silence_id: str, user: str, now: datetime) -> SilenceRecord:
        """End a silence now (kept for the audit trail); expiring an ended one changes nothing."""
        record = self.get(silence_id, now)
        if record.expired_at is not None or record.ends_at <= now:
            return record
        done = replace(record, ends_at=max(now, record.starts_at), expired_by=user, expired_at=now)
        self.save(done)  # type: ignore[attr-defined]
        return done


class DeltaSilenceStore(_ReadMixin):
    """``alert_silences`` as a local Delta table, read and MERGEd with ``deltalake``."""

    def __init__(self, locator: TableLocator) -> None:
        from dataops_intelligence.dashboard.tables import DeltaReader

        self.reader = DeltaReader(locator, refresh_seconds=0)
        self.path = self.reader.path("alert_silences")

    def save(self, record: SilenceRecord) -> None:
        import pyarrow as pa
        from deltalake import DeltaTable, write_deltalake
        from deltalake.exceptions import TableNotFoundError

        schema = arrow_schema(ALERT_SILENCES)
        source = pa.Table.from_pylist([dict(zip(ALERT_SILENCES.column_names, record.row(), strict=True))],
                                      schema=schema)
        try:
            table = DeltaTable(self.path)
        except TableNotFoundError:
            write_deltalake(self.path, source, mode="append", name="alert_silences",
                            description=ALERT_SILENCES.comment)
            return
        (
            table.merge(source, "t.silence_id = s.silence_id", source_alias="s", target_alias="t")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )


class SqlSilenceStore(_ReadMixin):
    """``alert_silences`` in Unity Catalog through a :class:`SqlRunner` (the SQL warehouse)."""

    def __init__(self, runner: SqlRunner, locator: TableLocator) -> None:
        from dataops_intelligence.dashboard.tables import SqlReader

        self.runner = runner
        self.locator = locator
        self.sql_reader = SqlReader(runner, locator)
        self.reader = self.sql_reader

    def save(self, record: SilenceRecord) -> None:
        from dataops_intelligence.alerting.sql import col, values_source

        ref = self.locator.output("alert_silences")
        comment = ALERT_SILENCES.comment.replace("'", "")
        self.runner.execute(
            f"CREATE TABLE IF NOT EXISTS {ref.sql} ({ALERT_SILENCES.ddl}) USING DELTA COMMENT '{comment}'"
        )
        self.sql_reader._exists["alert_silences"] = True
        source, params = values_source(ALERT_SILENCES, [record.row()])
        key = col("silence_id")
        self.runner.execute(
            f"MERGE INTO {ref.sql} AS t USING {source} AS s ON t.{key} = s.{key} "
            "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
            params,
        )


def silence_store(config: Config, target: str | None = None, runner: SqlRunner | None = None) -> SilenceStore:
    """The store of ``alert_silences`` for the config's target: deltalake locally, else the SQL
    warehouse (``runner``, or one built from ``compute.databricks.warehouse_id``)."""
    from dataops_jobs.io import TableLocator

    if (target or config.compute.target) == "local":
        return DeltaSilenceStore(TableLocator(config, by_path=True))
    if runner is None:
        from dataops_intelligence.hooks.statements import statements_runner

        runner = statements_runner(config.databricks.conn_id, config.compute.databricks.warehouse_id,
                                   caller="silences")
    return SqlSilenceStore(runner, TableLocator(config, by_path=False))


def active_silences(store: SilenceStore, now: datetime) -> tuple[Silence, ...]:
    """The stored silences not yet ended (the policy checks their windows at decision time)."""
    return tuple(r.to_silence() for r in store.list(now, window=timedelta(0)) if r.ends_at > now)


def with_stored_silences(settings: AlertingSettings, store: SilenceStore,
                         now: datetime | None = None) -> AlertingSettings:
    """``settings`` with the stored silences added to the rules file's."""
    found = active_silences(store, now or datetime.now(timezone.utc))
    if not found:
        return settings
    policy = replace(settings.policy, silences=(*settings.policy.silences, *found))
    return replace(settings, policy=policy)


__all__ = [
    "DeltaSilenceStore",
    "SilenceError",
    "SilenceRecord",
    "SilenceStore",
    "SqlSilenceStore",
    "active_silences",
    "new_silence",
    "silence_store",
    "with_stored_silences",
]
