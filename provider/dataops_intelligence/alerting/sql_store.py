"""``SqlAlertStore``: the alert tables of :mod:`~dataops_intelligence.alerting.delta_store` over a
:class:`~dataops_intelligence.alerting.sql.SqlRunner` (a Databricks SQL warehouse, or local Spark).

Same tables, same schemas, same commit order and row encoders as ``DeltaAlertStore`` (it shares its
base class, ``AlertTablesStore``); only how a read or a MERGE reaches the tables differs: SQL text
with named parameters, ``MERGE INTO ... USING (SELECT * FROM VALUES ...)``. The alert task uses it on
the ``databricks`` target, where the worker has no Spark session but holds the channel secrets.

Costs on a warehouse: a cycle runs four ``CREATE TABLE IF NOT EXISTS`` (once per task), three reads
(state, outbox, last cycle), and the same MERGEs as the Delta store (none in a quiet cycle, five when
it notifies) plus one MERGE into ``alert_cycles`` (a MERGE, not an append, so a POST the hook retries
cannot record the cycle twice).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dataops_intelligence.alerting.delta_store import AlertTablesStore, _dt, _table
from dataops_intelligence.alerting.model import AlertState, Delivery, Row
from dataops_intelligence.alerting.sql import chunks, col, iso, values_source

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from dataops_intelligence.alerting.sql import SqlRunner
    from dataops_jobs.config import Config
    from dataops_jobs.io import TableLocator, TableRef
    from dataops_jobs.schemas.output import OutputTable

_OUTBOX_TIMES = ("next_attempt_at", "created_at", "sent_at")
_HISTORY_TIMES = ("created_at", "resolved_at", "updated_at")


def _select(table: OutputTable, times: tuple[str, ...]) -> str:
    return ", ".join(iso(col(c), c) if c in times else col(c) for c in table.column_names)


class SqlAlertStore(AlertTablesStore):
    """Alert state, outbox, history and cycle records through SQL statements.

    :param runner: where statements run (``StatementsSqlRunner`` on Databricks).
    :param locator: resolves the logical table names (catalog names on Databricks).
    """

    def __init__(self, runner: SqlRunner, locator: TableLocator) -> None:
        super().__init__(locator)
        self.runner = runner

    @classmethod
    def from_config(cls, runner: SqlRunner, config: Config) -> SqlAlertStore:
        """A store over the tables named in ``config.storage``."""
        from dataops_jobs.io import TableLocator

        return cls(runner, TableLocator(config))

    # -- reads ---------------------------------------------------------------------------------
    def load_open_alerts(self) -> list[AlertState]:
        ref = self._ensure(_table("alert_state"))
        rows = self.runner.query(f"SELECT `fingerprint`, `state_json` FROM {ref.sql} WHERE `tracked`")
        self._loaded = {r["fingerprint"]: r["state_json"] for r in rows}
        return [AlertState.from_row(json.loads(r["state_json"])) for r in rows]

    def _deliveries(self, *, open_only: bool) -> list[Delivery]:
        table = _table("alert_outbox")
        ref = self._ensure(table)
        where = " WHERE `is_open`" if open_only else ""
        rows = self.runner.query(f"SELECT {_select(table, _OUTBOX_TIMES)} FROM {ref.sql}{where}")
        return [self._delivery(dict(r)) for r in rows]

    def load_history(self) -> list[Row]:
        """Every ``alert_history`` row, in the engine's row shape (ISO times, comma-joined lists)."""
        table = _table("alert_history")
        ref = self._ensure(table)
        rows = self.runner.query(f"SELECT {_select(table, _HISTORY_TIMES)} FROM {ref.sql}")
        return [self._history(dict(r)) for r in rows]

    def last_evaluated_end(self) -> datetime | None:
        """The latest data interval an alert cycle evaluated (``alert_cycles``), if any."""
        ref = self._ensure(_table("alert_cycles"))
        found = self.runner.query(f"SELECT {iso('max(`interval_end`)', 'end')} FROM {ref.sql}")
        return _dt(found[0].get("end")) if found else None

    # -- writes --------------------------------------------------------------------------------
    def record_cycle(
        self, start: datetime, end: datetime, evaluated_at: datetime, counts: Mapping[str, int]
    ) -> None:
        """Record one evaluated interval in ``alert_cycles`` (a MERGE on its keys: replay-safe)."""
        table = _table("alert_cycles")
        row = (end, start, evaluated_at, *(int(counts.get(c, 0)) for c in table.column_names[3:]))
        self._merge(table, [row], insert_only=True)

    def _merge(
        self,
        table: OutputTable,
        rows: list[tuple[Any, ...]],
        *,
        matched: str | None = None,
        sets: Mapping[str, str] | None = None,
        insert_only: bool = False,
    ) -> None:
        """MERGE ``rows`` on the table's keys, at most ``MAX_ROWS_PER_STATEMENT`` rows per statement."""
        ref = self._ensure(table)
        on = " AND ".join(f"t.{col(k)} = s.{col(k)}" for k in table.keys)
        clauses = []
        if not insert_only:
            condition = f" AND ({matched})" if matched else ""
            update = (
                "UPDATE SET *" if sets is None
                else "UPDATE SET " + ", ".join(f"t.{col(c)} = {expr}" for c, expr in sets.items())
            )
            clauses.append(f"WHEN MATCHED{condition} THEN {update}")
        clauses.append("WHEN NOT MATCHED THEN INSERT *")
        for part in chunks(rows):
            source, params = values_source(table, part)
            self.runner.execute(
                f"MERGE INTO {ref.sql} AS t USING {source} AS s ON {on} {' '.join(clauses)}", params
            )

    def _ensure(self, table: OutputTable) -> TableRef:
        ref = self.locator.output(table.name)
        if table.name not in self._ready:
            comment = table.comment.replace("'", "")
            self.runner.execute(
                f"CREATE TABLE IF NOT EXISTS {ref.sql} ({table.ddl}) USING DELTA COMMENT '{comment}'"
            )
            self._ready.add(table.name)
        return ref


__all__ = ["SqlAlertStore"]
