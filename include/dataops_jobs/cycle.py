"""DataOpsOrchestrator: one monitoring cycle (collect, then analyse) over one data interval.

The same stages run as separate Airflow tasks (``dataops_jobs.entrypoint``), as one Databricks task,
or from the ``dataops run`` command; this module only sequences them and summarises.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dataops_jobs.collectors import CollectResult, Interval, builtin_collectors
from dataops_jobs.io import TableLocator, load_watermarks, save_watermarks
from dataops_jobs.processors import WATERMARK_PREFIX, AnalysisWindow, ProcessResult, builtin_processors

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dataops_jobs.collectors.base import BaseCollector
    from dataops_jobs.config import Config
    from dataops_jobs.processors import BaseProcessor

log = logging.getLogger(__name__)
Progress = Callable[[str], None]

#: Stage name -> collectors or processors it runs. ``collect_runs`` and ``collect_metrics`` are
#: separate so the two heavy reads can run as separate tasks; ``sla`` evaluates ``sla.jobs`` over
#: ``job_monitoring`` (``dataops_jobs.sla``) and needs only the runs; ``recommendations`` gathers
#: per-run utilisation every cycle and evaluates right-sizing and cost (``dataops_jobs.recommend``).
STAGES = ("collect_runs", "collect_metrics", "health", "anomalies", "sla", "recommendations")


def utc_naive(value: datetime) -> datetime:
    """Spark returns naive UTC timestamps; compare like with like (and drop pendulum's subclass)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return datetime(value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond)


@dataclass
class CycleSummary:
    """What a cycle did, for the log, the CLI and XCom (small, JSON-safe)."""

    interval_start: str
    interval_end: str
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        """Source rows read across collectors (new rows plus the overlap re-read for late rows)."""
        return sum(sum(s.get("rows_read", {}).values()) for s in self.stages.values())

    @property
    def rows_new(self) -> int:
        """Source rows newer than the previous watermarks."""
        return sum(sum(s.get("rows_new", {}).values()) for s in self.stages.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"interval_start": self.interval_start, "interval_end": self.interval_end,
                "stages": self.stages, "rows_read": self.rows_read, "rows_new": self.rows_new, "seconds": round(self.seconds, 2)}


class DataOpsOrchestrator:
    """Runs the monitoring stages (the seed's orchestrator): collectors then processors."""

    def __init__(
        self,
        spark: SparkSession,
        config: Config,
        *,
        collectors: list[type[BaseCollector]] | None = None,
        processors: list[type[BaseProcessor]] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.spark = spark
        self.config = config
        self.locator = TableLocator(config)
        self.collectors = collectors if collectors is not None else builtin_collectors()
        self.processors = processors if processors is not None else builtin_processors()
        self.progress = progress or (lambda msg: log.info("%s", msg))
        self._marks: dict[str, datetime] | None = None  # watermarks read once per cycle (run_cycle)

    def watermarks(self) -> dict[str, datetime]:
        """The ``_watermarks`` rows: read from the table, except inside :meth:`run_cycle`, which reads
        them once and keeps them current as its stages write (every write goes through here)."""
        if self._marks is not None:
            return dict(self._marks)
        return load_watermarks(self.spark, self.locator)

    def _save(self, marks: dict[str, tuple[datetime | None, int]], at: datetime) -> None:
        save_watermarks(self.spark, self.locator, marks, at)
        if self._marks is not None:
            self._marks.update({k: wm for k, (wm, _) in marks.items() if wm is not None})

    def stage_members(self, stage: str) -> list[type[Any]]:
        """The collector or processor classes that make up ``stage``."""
        by_name = {c.name: c for c in self.collectors} | {p.name: p for p in self.processors}
        members = {
            "collect_runs": ["jobs"],
            "collect_metrics": ["metrics", "costs"],
            "health": ["health"],
            "anomalies": ["anomalies"],
        }.get(stage)
        if members is None:
            raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
        return [by_name[m] for m in members if m in by_name]

    def run_stage(self, stage: str, interval: Interval) -> dict[str, Any]:
        """Run one stage over ``interval``; return its JSON-safe result."""
        interval = Interval(utc_naive(interval.start), utc_naive(interval.end))
        if stage == "sla":
            return self._sla(interval)
        if stage == "recommendations":
            return self._recommendations(interval)
        started = time.monotonic()
        result: dict[str, Any] = {"rows_read": {}, "rows_new": {}, "rows_written": {}, "incremental": False,
                                  "details": {}}
        marks = self.watermarks()
        advanced: dict[str, tuple[datetime | None, int]] = {}
        for cls in self.stage_members(stage):
            self.progress(f"{stage}: {cls.name} ...")
            if stage.startswith("collect"):
                advanced.update(self._collect(cls, interval, marks, result))
            else:
                self._process(cls, interval, marks, result)
        # One watermark write per stage, after every output of the stage is written: a stage that
        # fails half-way is redone whole (the MERGEs make that harmless).
        if advanced:
            self._save(advanced, interval.end)
        result["seconds"] = round(time.monotonic() - started, 2)
        self.progress(f"{stage}: done in {result['seconds']} s")
        return result

    def analysis_window(self, name: str, end: datetime, marks: dict[str, datetime] | None = None
                        ) -> AnalysisWindow | None:
        """The window of analysis ``name`` up to ``end``; None when it already covered ``end`` (a re-run
        of an older interval changes nothing: the watermark never moves back)."""
        mark = (self.watermarks() if marks is None else marks).get(WATERMARK_PREFIX + name)
        if mark is not None and mark >= end:
            return None
        return AnalysisWindow.for_stage(self.config, mark, end)

    def _advance(self, name: str, end: datetime, rows: int) -> None:
        """Move analysis ``name``'s watermark to ``end``, once its outputs are written."""
        self._save({WATERMARK_PREFIX + name: (end, rows)}, end)

    def _process(self, cls: type[BaseProcessor], interval: Interval, marks: dict[str, datetime],
                 result: dict[str, Any]) -> None:
        window = self.analysis_window(cls.name, interval.end, marks)
        if window is None:
            self.progress(f"  {cls.name}: already analysed up to {interval.end} (watermark): nothing to do")
            result["details"][cls.name] = {"skipped": "watermark at or after the interval end"}
            return
        done: ProcessResult = cls(self.spark, self.config, self.locator).process(window)
        self._advance(cls.name, window.end, done.rows_written)
        result["rows_written"][done.name] = done.rows_written
        result["details"][done.name] = {**done.details, "since": None if window.since is None else
                                        window.since.isoformat()}
        self.progress(f"  {done.name}: {'backfill' if window.backfill else f'since {window.since}'} "
                      f"-> {done.rows_written} rows merged")

    def _sla(self, interval: Interval) -> dict[str, Any]:
        """The ``sla`` stage: breaches as of the interval end MERGEd into ``sla_breaches`` (JSON-safe counts)."""
        from dataops_jobs.sla import evaluate_slas

        started = time.monotonic()
        window = self.analysis_window("sla", interval.end)
        if window is None:
            self.progress("sla: already evaluated up to the interval end (watermark): nothing to do")
            return {"evaluated_runs": 0, "breaches": 0, "in_flight_breaches": 0, "skipped": True, "seconds": 0.0}
        self.progress("sla: evaluating sla.jobs ...")
        result = evaluate_slas(self.spark, self.config, self.locator, window)
        self._advance("sla", window.end, result.breaches)
        seconds = round(time.monotonic() - started, 2)
        self.progress(f"sla: {result.breaches} breaches ({result.in_flight_breaches} in flight) in {seconds} s")
        return {**result.to_dict(), "seconds": seconds}

    def _recommendations(self, interval: Interval) -> dict[str, Any]:
        """The ``recommendations`` stage: per-run evidence since its watermark; evaluation when due."""
        from dataops_jobs.recommend import EVALUATED_MARK, run_recommendations

        started = time.monotonic()
        marks = self.watermarks()
        window = self.analysis_window("recommendations", interval.end, marks)
        if window is None:
            self.progress("recommendations: already done up to the interval end (watermark): nothing to do")
            return {"skipped": True, "seconds": 0.0}
        self.progress("recommendations: gathering run evidence ...")
        result = run_recommendations(self.spark, self.config, self.locator, window,
                                     marks.get(WATERMARK_PREFIX + EVALUATED_MARK))
        saved: dict[str, tuple[datetime | None, int]] = {WATERMARK_PREFIX + "recommendations": (window.end, result.stats_rows)}
        if result.evaluated:
            saved[WATERMARK_PREFIX + EVALUATED_MARK] = (window.end, result.recommendations)
        self._save(saved, window.end)
        seconds = round(time.monotonic() - started, 2)
        what = f"{result.recommendations} recommendations" if result.evaluated else "evaluation not due"
        self.progress(f"recommendations: {result.stats_rows} run summaries, {what} in {seconds} s")
        return {**result.to_dict(), "seconds": seconds}

    def _collect(self, cls: type[BaseCollector], interval: Interval, marks: dict[str, datetime],
                 result: dict[str, Any]) -> dict[str, tuple[datetime | None, int]]:
        """Run one collector; return the watermarks it advanced (written by the stage)."""
        done: CollectResult = cls(self.spark, self.config, self.locator).collect(interval, marks)
        result["rows_read"].update(done.rows_read)
        result["rows_new"].update(done.rows_new)
        result["rows_written"][done.name] = done.rows_written
        result["incremental"] = result["incremental"] or done.incremental
        self.progress(
            f"  {done.name}: {sum(done.rows_new.values())} new source rows "
            f"({sum(done.rows_read.values())} read with the overlap; "
            f"{'incremental' if done.incremental else 'initial backfill'}), merged {done.rows_written}"
        )
        return done.watermarks

    def run_cycle(self, interval: Interval, stages: tuple[str, ...] = STAGES) -> CycleSummary:
        """All stages in order."""
        started = time.monotonic()
        summary = CycleSummary(interval.start.isoformat(), interval.end.isoformat())
        self._marks = load_watermarks(self.spark, self.locator)
        try:
            for stage in stages:
                summary.stages[stage] = self.run_stage(stage, interval)
        finally:
            self._marks = None
        summary.seconds = time.monotonic() - started
        return summary

    def overview(self, top: int = 5) -> dict[str, Any]:
        """Readable state of the tables: jobs seen, runs, failures, least healthy jobs, locations."""
        from dataops_jobs.reporting import overview

        return overview(self.spark, self.locator, top=top)


__all__ = ["STAGES", "CycleSummary", "DataOpsOrchestrator", "Interval"]
