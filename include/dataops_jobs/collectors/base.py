"""The collector contract: one source set, one watermark, one output table, pure transforms inside."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from dataops_jobs.config import Config
    from dataops_jobs.io import TableLocator


@dataclass(frozen=True)
class Interval:
    """The data interval a task processes: ``(start, end]`` in UTC (Airflow's data_interval)."""

    start: datetime
    end: datetime


@dataclass
class CollectResult:
    """What one collector did in one cycle: rows read per source, rows merged, new watermarks."""

    name: str
    rows_read: dict[str, int] = field(default_factory=dict)
    rows_new: dict[str, int] = field(default_factory=dict)
    rows_written: int = 0
    watermarks: dict[str, tuple[datetime | None, int]] = field(default_factory=dict)
    incremental: bool = False


def incremental_filter(
    time_col: Column, watermark: datetime | None, interval: Interval, lookback: timedelta, overlap: timedelta
) -> Column:
    """Rows of one incremental read: after the watermark minus the overlap, up to the interval end.

    The first cycle (no watermark) reads ``lookback`` before the interval end. The upper bound makes a
    re-run of an old interval read nothing new, so it cannot change the tables.
    """
    lower = (watermark - overlap) if watermark is not None else (interval.end - lookback)
    return (time_col > lower) & (time_col <= interval.end)


class BaseCollector(ABC):
    """A source of monitoring data: reads system tables incrementally and MERGEs one output table.

    Subclass it for a new source (for example ``system.access.audit``), give it a ``name``, the
    ``output`` table registered in :mod:`dataops_jobs.schemas.output`, and implement :meth:`collect`.
    """

    name: ClassVar[str]
    output: ClassVar[str]

    def __init__(self, spark: SparkSession, config: Config, locator: TableLocator) -> None:
        self.spark = spark
        self.config = config
        self.locator = locator

    @property
    def overlap(self) -> timedelta:
        """Re-read window for late rows."""
        return timedelta(minutes=self.config.collection.overlap_minutes)

    @property
    def lookback(self) -> timedelta:
        """First-cycle backfill window."""
        return timedelta(days=self.config.collection.lookback_days)

    @abstractmethod
    def collect(self, interval: Interval, watermarks: dict[str, datetime]) -> CollectResult:
        """Read new source rows for ``interval``, MERGE the output table, report what was done."""

    def read_new(
        self, source: str, time_col: str, interval: Interval, watermarks: dict[str, datetime],
        overlap: timedelta | None = None,
    ) -> DataFrame:
        """New rows of a source since its watermark (minus the overlap), up to the interval end."""
        from pyspark.sql import functions as F

        from dataops_jobs.io import read_table

        df = read_table(self.spark, self.locator.source(source))
        return df.where(
            incremental_filter(F.col(time_col), watermarks.get(source), interval, self.lookback,
                               overlap if overlap is not None else self.overlap)
        )


def read_stats(df: DataFrame, time_col: str, watermark: datetime | None) -> tuple[int, int, datetime | None, datetime | None]:
    """(rows read, rows past the old watermark, newest and oldest time) in one pass."""
    from pyspark.sql import functions as F

    newer = F.col(time_col) > F.lit(watermark) if watermark is not None else F.lit(True)
    row = df.agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.when(newer, 1).otherwise(0)).alias("new"),
        F.max(time_col).alias("hi"),
        F.min(time_col).alias("lo"),
    ).first()
    if row is None:
        return 0, 0, None, None
    return int(row["n"]), int(row["new"] or 0), row["hi"], row["lo"]


def advance(old: datetime | None, new: datetime | None) -> datetime | None:
    """A watermark never moves back (a re-run of an old interval must not rewind it)."""
    if new is None:
        return None
    if old is not None and new <= old:
        return None
    return new
