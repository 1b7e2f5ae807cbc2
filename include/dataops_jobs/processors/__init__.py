"""Processors: analyses over the collected tables (health scores, anomalies, custom scores).

Subclass :class:`BaseProcessor` for a new analysis writing its own table; list it in
``builtin_processors`` or pass it to :class:`dataops_jobs.cycle.DataOpsOrchestrator`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dataops_jobs.collectors.base import Interval
    from dataops_jobs.config import Config
    from dataops_jobs.io import TableLocator


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
    def process(self, interval: Interval) -> ProcessResult:
        """Analyse the data up to ``interval.end`` and MERGE the output table."""


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
