"""``DeltaAlertStore``: the :class:`~dataops_intelligence.alerting.store.AlertStore` over Delta tables.

Tables (``dataops_jobs.schemas.alerts``; located through ``dataops_jobs.io.TableLocator``): ``alert_state``
(MERGE on ``fingerprint``), ``alert_outbox`` (on ``delivery_id``) and ``alert_history`` (on
``alert_id``), plus ``alert_cycles`` (appended once per cycle) for the operator's replay guard.

Atomicity, and why nothing is lost without it
---------------------------------------------
Delta commits are atomic per table; there is no transaction across tables. ``commit`` therefore
writes in a fixed order, one MERGE per table at most:

1. ``alert_outbox`` first. A notification is durable (``pending``, with its whole payload) before the
   alert state says it was notified and before anything is sent. A crash right after this MERGE
   leaves a pending row that the next cycle sends: delayed, not lost.
2. ``alert_history`` next: an audit derived from the state.
3. ``alert_state`` last: it is the commit point. A crash before it leaves the previous state, so the
   next cycle re-decides from it: it may queue a second notification for the same alerts (a
   duplicate, carrying the same fingerprints so receivers can drop it) and rewrites the history
   row; it never skips one. Writing the state first would be the lossy order: "notified" without a
   durable outbox row.

Every MERGE is idempotent by its key, so replaying a commit changes nothing. An outbox row that is
``sent`` is final: a slow worker whose claim expired cannot turn it back into ``failed``. Alert states
equal to what was read at the start of the cycle are not rewritten, so a quiet cycle writes nothing.
A cycle that notifies costs five MERGEs (outbox, history, state; then outbox and history after the
sends) and one append to ``alert_cycles``.

After the sends, :meth:`batched_commits` (used by the engine around its dispatch loop) folds the
per-delivery "sent/failed" updates into one outbox MERGE and one history MERGE. If the worker dies
before that flush, those deliveries still hold their claim lease in the outbox and are re-sent once
it expires: at-least-once, with the same dedup key.

pyspark and delta are imported inside functions only (the provider's top-level modules stay cheap).
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dataops_intelligence.alerting.model import AlertState, Delivery, DeliveryStatus, Row
from dataops_intelligence.alerting.policy import needs_tracking
from dataops_intelligence.alerting.redact import redact
from dataops_intelligence.alerting.store import merge_history

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from pyspark.sql import Column, DataFrame, SparkSession

    from dataops_jobs.config import Config
    from dataops_jobs.io import TableLocator, TableRef
    from dataops_jobs.schemas.output import OutputTable

log = logging.getLogger(__name__)

_ISO = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSxxx"  # Spark pattern for an ISO-8601 instant with "+00:00"
_EMPTY = "CAST(array() AS ARRAY<STRING>)"
# History rows accumulate their deliveries and channels across cycles (like ``merge_history``).
_ACCUMULATE = "array_distinct(concat(coalesce(t.`{c}`, " + _EMPTY + "), coalesce(s.`{c}`, " + _EMPTY + ")))"


def _dt(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _split(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v]
    return [v for v in str(value or "").split(",") if v]


def _scrub(text: str | None) -> str | None:
    """Defence in depth: the engine redacts alert text; a secret that still got here is removed."""
    if text is None:
        return None
    clean = redact(text)
    if clean != text:
        log.error("a registered secret reached the alert store; it was redacted before writing")
    return clean


def _iso(column: str) -> Column:
    """A timestamp column as an ISO-8601 UTC string: collected values never depend on the worker's TZ."""
    from pyspark.sql import functions as F

    return F.date_format(F.col(column), _ISO).alias(column)


def _table(name: str) -> OutputTable:
    """A registered alert table. Imported lazily: ``dataops_jobs.schemas`` loads pyspark on import."""
    from dataops_jobs.schemas.alerts import ALERT_TABLES

    return next(t for t in ALERT_TABLES if t.name == name)


def _write_error(message: str) -> Exception:
    from dataops_jobs.io import DeltaWriteError

    return DeltaWriteError(message)


def _schema(table: OutputTable) -> str:
    return ", ".join(f"`{c.name}` {c.type}" for c in table.columns)


class AlertTablesStore:
    """What every store over the four alert tables shares: the commit order, the change tracking
    of ``alert_state``, batched commits and the row encoders. Subclasses say how a MERGE runs
    (``_merge``): Delta's Python API (:class:`DeltaAlertStore`) or SQL text
    (``sql_store.SqlAlertStore``).
    """

    def __init__(self, locator: TableLocator) -> None:
        self.locator = locator
        self._ready: set[str] = set()
        self._batch: tuple[list[AlertState], list[Delivery], list[Row]] | None = None
        self._loaded: dict[str, str] = {}  # fingerprint -> state_json as last read or written

    # -- writes --------------------------------------------------------------------------------
    def commit(
        self,
        alerts: Sequence[AlertState] = (),
        deliveries: Sequence[Delivery] = (),
        history: Sequence[Row] = (),
    ) -> None:
        """Upsert outbox, then history, then state (see the module docstring for why this order)."""
        if self._batch is not None:
            self._batch[0].extend(alerts)
            self._batch[1].extend(deliveries)
            self._batch[2].extend(history)
            return
        self._write(alerts, deliveries, history)

    @contextmanager
    def batched_commits(self) -> Iterator[None]:
        """Fold every commit made inside the block into one MERGE per table, flushed on exit.

        The engine uses it around the send loop only: the pre-send outbox commit is never batched.
        """
        if self._batch is not None:  # nested: the outer block flushes
            yield
            return
        self._batch = ([], [], [])
        try:
            yield
        finally:
            alerts, deliveries, history = self._batch
            self._batch = None
            self._write(alerts, deliveries, history)

    def _write(
        self, alerts: Sequence[AlertState], deliveries: Sequence[Delivery], history: Sequence[Row]
    ) -> None:
        if deliveries:
            latest = {d.delivery_id: d for d in deliveries}  # one source row per key: MERGE demands it
            outbox = [self._outbox_row(d) for d in latest.values()]
            self._merge(_table("alert_outbox"), outbox, matched="t.status <> 'sent'")
        if history:
            merged: dict[str, Row] = {}
            for row in history:
                merged[row["alert_id"]] = merge_history(merged.get(row["alert_id"]), row)
            history_table = _table("alert_history")
            sets = {c: f"s.`{c}`" for c in history_table.column_names}
            sets |= {c: _ACCUMULATE.format(c=c) for c in ("deliveries", "channels_sent")}
            sets["created_at"] = "coalesce(t.`created_at`, s.`created_at`)"
            self._merge(history_table, [self._history_row(r) for r in merged.values()], sets=sets)
        # The engine hands back every open alert each cycle; only the ones that changed are written.
        rows = {a.fingerprint: self._state_row(a) for a in alerts}
        changed = [row for fp, row in rows.items() if self._loaded.get(fp) != row[-1]]
        if changed:
            self._merge(_table("alert_state"), changed)
            self._loaded |= {row[0]: row[-1] for row in changed}

    @staticmethod
    def _outbox_row(delivery: Delivery) -> tuple[Any, ...]:
        is_open = delivery.status is not DeliveryStatus.SENT and delivery.next_attempt_at is not None
        return (
            delivery.delivery_id,
            delivery.channel,
            delivery.status.value,
            delivery.attempts,
            _scrub(delivery.last_error),
            delivery.next_attempt_at,
            delivery.created_at,
            delivery.sent_at,
            is_open,
            list(delivery.fingerprints),
            _scrub(json.dumps(delivery.notification, sort_keys=True)),
        )

    @staticmethod
    def _history_row(row: Row) -> tuple[Any, ...]:
        return (
            row["alert_id"],
            row.get("job_id"),
            row.get("alert_type"),
            row.get("severity"),
            _scrub(row.get("message")),
            _dt(row.get("created_at")),
            _dt(row.get("resolved_at")),
            _split(row.get("channels_sent")),
            row.get("fingerprint"),
            row.get("status"),
            row.get("group_key"),
            _split(row.get("deliveries")),
            row.get("rule"),
            int(row.get("escalation_level") or 0),
            _dt(row.get("updated_at")),
        )

    @staticmethod
    def _state_row(state: AlertState) -> tuple[Any, ...]:
        return (
            state.fingerprint,
            state.alert_id,
            state.rule,
            state.alert_type,
            state.status.value,
            state.severity.value,
            state.job_id,
            state.group_key,
            dict(state.labels),
            state.first_seen,
            state.last_seen,
            state.last_sent,
            state.resolved_at,
            needs_tracking(state),
            _scrub(json.dumps(state.to_row(), sort_keys=True)),
        )

    @staticmethod
    def _delivery(data: dict[str, Any]) -> Delivery:
        """An ``alert_outbox`` row (times as ISO strings) back into a :class:`Delivery`."""
        data["notification"] = json.loads(data["notification"])
        data["fingerprints"] = list(data["fingerprints"] or ())
        return Delivery.from_row(data)

    @staticmethod
    def _history(data: dict[str, Any]) -> Row:
        """An ``alert_history`` row (times as ISO strings) in the engine's row shape."""
        data["channels_sent"] = ",".join(data["channels_sent"] or ())
        data["deliveries"] = ",".join(data["deliveries"] or ())
        return data

    def save_watermark(self, source: str, end: datetime, rows: int) -> None:
        """Move a ``_watermarks`` row (the alert cycle's ``analysis.alerts``) forward to ``end``; never back."""
        from dataops_jobs.schemas.output import OUTPUT_TABLES

        table = OUTPUT_TABLES["watermarks"]
        self._merge(table, [(source, end.astimezone(timezone.utc).replace(tzinfo=None), int(rows),
                             end.astimezone(timezone.utc).replace(tzinfo=None))], matched="s.`watermark` > t.`watermark`")

    def load_outbox(self) -> list[Delivery]:
        return self._deliveries(open_only=True)

    def load_deliveries(self) -> list[Delivery]:
        """Every outbox row, sent ones included (audits and tests)."""
        return self._deliveries(open_only=False)

    def _deliveries(self, *, open_only: bool) -> list[Delivery]:
        """The ``alert_outbox`` rows (only the open ones with ``open_only``) as deliveries."""
        raise NotImplementedError

    def _merge(
        self,
        table: OutputTable,
        rows: list[tuple[Any, ...]],
        *,
        matched: str | None = None,
        sets: Mapping[str, str] | None = None,
    ) -> None:
        """MERGE ``rows`` into ``table`` on its keys: update when matched (and ``matched``), else insert."""
        raise NotImplementedError


class DeltaAlertStore(AlertTablesStore):
    """Alert state, outbox, history and cycle records in Delta tables (the local and Spark targets).

    :param spark: the session (local embedded Delta, or the cluster's).
    :param locator: resolves the logical table names to paths or catalog names.
    """

    def __init__(self, spark: SparkSession, locator: TableLocator) -> None:
        super().__init__(locator)
        self.spark = spark

    @classmethod
    def from_config(cls, spark: SparkSession, config: Config) -> DeltaAlertStore:
        """A store over the tables named in ``config.storage`` (paths on the local target)."""
        from dataops_jobs.io import TableLocator

        return cls(spark, TableLocator(config))

    # -- reads ---------------------------------------------------------------------------------
    def _read(self, name: str) -> DataFrame | None:
        from dataops_jobs.io import read_output

        return read_output(self.spark, self.locator, name)

    def load_open_alerts(self) -> list[AlertState]:
        df = self._read("alert_state")
        if df is None:
            return []
        rows = df.where("tracked").select("fingerprint", "state_json").collect()
        self._loaded = {r["fingerprint"]: r["state_json"] for r in rows}
        return [AlertState.from_row(json.loads(r["state_json"])) for r in rows]

    def _deliveries(self, *, open_only: bool) -> list[Delivery]:
        df = self._read("alert_outbox")
        if df is None:
            return []
        if open_only:
            df = df.where("is_open")
        times = ("next_attempt_at", "created_at", "sent_at")
        cols = [_iso(c) if c in times else c for c in _table("alert_outbox").column_names]
        return [self._delivery(row.asDict()) for row in df.select(*cols).collect()]

    def load_history(self) -> list[Row]:
        """Every ``alert_history`` row, in the engine's row shape (ISO times, comma-joined lists)."""
        df = self._read("alert_history")
        if df is None:
            return []
        times = ("created_at", "resolved_at", "updated_at")
        cols = [_iso(c) if c in times else c for c in _table("alert_history").column_names]
        return [self._history(row.asDict()) for row in df.select(*cols).collect()]

    def last_evaluated_end(self) -> datetime | None:
        """The latest data interval an alert cycle evaluated (``alert_cycles``), if any."""
        from pyspark.sql import functions as F

        df = self._read("alert_cycles")
        if df is None:
            return None
        found = df.agg(F.date_format(F.max("interval_end"), _ISO).alias("end")).first()
        return _dt(found["end"]) if found is not None else None

    # -- writes ----------------------------------------------------------------------------------
    def record_cycle(
        self, start: datetime, end: datetime, evaluated_at: datetime, counts: Mapping[str, int]
    ) -> None:
        """Append one evaluated interval to ``alert_cycles`` (an audit log: a re-run adds a row).

        An append, not a MERGE: it is a tenth of the cost, and ``last_evaluated_end`` takes the max.
        """
        table = _table("alert_cycles")
        row = (end, start, evaluated_at, *(int(counts.get(c, 0)) for c in table.column_names[3:]))
        ref = self._ensure(table)
        df = self.spark.createDataFrame([row], _schema(table))
        try:
            if ref.path is not None:
                df.write.format("delta").mode("append").save(ref.path)
            else:
                df.write.format("delta").mode("append").saveAsTable(ref.sql)
        except Exception as exc:
            raise _write_error(f"append to {ref.name} at {ref.path or ref.sql} failed: {exc}") from exc

    def _merge(
        self,
        table: OutputTable,
        rows: list[tuple[Any, ...]],
        *,
        matched: str | None = None,
        sets: Mapping[str, str] | None = None,
    ) -> None:
        """MERGE ``rows`` into ``table`` on its keys: update when matched (and ``matched``), else insert."""
        from delta.tables import DeltaTable

        ref = self._ensure(table)
        source = self.spark.createDataFrame(rows, _schema(table))
        target = (
            DeltaTable.forPath(self.spark, ref.path) if ref.path else DeltaTable.forName(self.spark, ref.name)
        )
        on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in table.keys)
        builder = target.alias("t").merge(source.alias("s"), on)
        if sets is not None:
            builder = builder.whenMatchedUpdate(condition=matched, set=dict(sets))
        else:
            builder = builder.whenMatchedUpdateAll(condition=matched)
        try:
            with self._local_source():
                builder.whenNotMatchedInsertAll().execute()
        except Exception as exc:
            raise _write_error(f"MERGE into {ref.name} at {ref.path or ref.sql} failed: {exc}") from exc

    def _ensure(self, table: OutputTable) -> TableRef:
        from dataops_jobs.io import ensure_table

        ref = self.locator.output(table.name)
        if table.name not in self._ready:
            ensure_table(self.spark, ref, table)
            self._ready.add(table.name)
        return ref

    @contextmanager
    def _local_source(self) -> Iterator[None]:
        """Skip Delta's source materialisation: our MERGE sources are small driver-side lists, which are
        deterministic, so re-reading them is safe (saves a quarter of each MERGE)."""
        key = "spark.databricks.delta.merge.materializeSource"
        before = self.spark.conf.get(key, None)
        self.spark.conf.set(key, "none")
        try:
            yield
        finally:
            if before is None:
                self.spark.conf.unset(key)
            else:
                self.spark.conf.set(key, before)


__all__ = ["AlertTablesStore", "DeltaAlertStore"]
