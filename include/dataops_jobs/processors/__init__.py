"""Processors: analyses over the collected tables (health scores, anomalies, custom scores).

Subclass :class:`BaseProcessor` for a new analysis writing its own table; list it in
``builtin_processors`` or pass it to :class:`dataops_jobs.cycle.DataOpsOrchestrator`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from dataops_jobs.collectors.base import Interval

if TYPE_CHECKING:
    from pyspark.sql import Column, SparkSession

    from dataops_jobs.config import Config
    from dataops_jobs.io import TableLocator

WATERMARK_PREFIX = "analysis."
"""``_watermarks`` rows of the analyses are named ``analysis.<stage>`` (collectors use source names)."""


@dataclass(frozen=True)
class AnalysisWindow(Interval):
    """What one analysis cycle processes: everything collected in ``(since, end]``.

    ``since`` is the stage's watermark, the end of its last successful cycle (None on the first
    cycle, which backfills from ``start`` = ``end - analysis.backfill_days``). Findings whose time is
    before ``notify_from`` are recorded as backfilled and never notified. For processors written
    against a plain :class:`Interval`, ``start`` is the watermark (or the backfill start).
    """

    since: datetime | None = None
    notify_from: datetime | None = None

    @classmethod
    def for_stage(cls, config: Config, watermark: datetime | None, end: datetime) -> AnalysisWindow:
        """The window of a stage whose last successful cycle ended at ``watermark``."""
        days = config.analysis.backfill_days or config.collection.lookback_days
        notify_from = end - timedelta(hours=config.analysis.notify_max_age_hours)
        start = watermark if watermark is not None else end - timedelta(days=days)
        return cls(start, end, since=watermark, notify_from=notify_from)

    @classmethod
    def of(cls, interval: Interval) -> AnalysisWindow:
        """``interval`` itself, or a plain interval read as "everything collected in (start, end]"."""
        if isinstance(interval, AnalysisWindow):
            return interval
        return cls(interval.start, interval.end, since=interval.start)

    @property
    def backfill(self) -> bool:
        """True on the stage's first cycle (no watermark yet)."""
        return self.since is None

    def collected(self, column: str = "collected_at") -> Column:
        """Rows collected (or last changed) since the watermark, up to the end."""
        from pyspark.sql import functions as F

        upper = F.col(column) <= F.lit(self.end)
        return upper if self.since is None else (F.col(column) > F.lit(self.since)) & upper

    def backfilled(self, time_column: str) -> Column:
        """True for findings too old to notify (``time_column`` before ``notify_from``)."""
        from pyspark.sql import functions as F

        return self.backfilled_at(F.col(time_column))

    def backfilled_at(self, when: Column) -> Column:
        """True when ``when`` is before ``notify_from``."""
        from pyspark.sql import functions as F

        if self.notify_from is None:
            return F.lit(False)
        return F.coalesce(when < F.lit(self.notify_from), F.lit(False))


@dataclass
class ProcessResult:
    """What one processor did: rows written and a few figures for the cycle summary."""

    name: str
    rows_written: int = 0
    details: dict[str, Any] = field(default_factory=dict)


class BaseProcessor(ABC):
    """An analysis over the collected tables that MERGEs its own output table."""

    name: ClassVar[str]
    output: ClassVar[str]

    def __init__(self, spark: SparkSession, config: Config, locator: TableLocator) -> None:
        self.spark = spark
        self.config = config
        self.locator = locator

    @abstractmethod
    def process(self, interval: AnalysisWindow) -> ProcessResult:
        """Analyse what was collected in ``(interval.since, interval.end]`` and MERGE the output table.

        The orchestrator keeps the watermark (``_watermarks`` row ``analysis.<name>``): it is moved
        to ``interval.end`` only after this returns, so a failed or killed cycle is redone whole.
        """


def builtin_processors() -> list[type[BaseProcessor]]:
    """The analyses every cycle runs after collection (empty until they are installed)."""
    found: list[type[BaseProcessor]] = []
    for module, cls in (("dataops_jobs.health", "HealthAnalyzer"), ("dataops_jobs.anomaly.job", "AnomalyDetector")):
        try:
            mod = __import__(module, fromlist=[cls])
        except ModuleNotFoundError:
            continue
        found.append(getattr(mod, cls))
    return found
