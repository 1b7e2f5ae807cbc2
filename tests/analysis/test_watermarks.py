"""Analysis watermarks on a simulated workspace: the same tables however the cycles are cut.

Four warehouses over the same system tables (6 jobs, 4 days, incidents included), each ending at the
simulation's end E:

* ``backfill``: one cycle at E (a first deployment over the whole history);
* ``every``: a first cycle at E-3h, then one every interval of a 90-minute schedule (E-1.5h, E);
* ``gap``: the same first cycle, then nothing for six 30-minute intervals (a paused DAG, a failed
  cycle whose retries ran out), then one cycle at E;
* ``killed``: the same first cycle, then a cycle at E whose anomalies task dies between the anomalies
  MERGE and the detector state MERGE, its retry dying between the state MERGE and the watermark, and
  a last retry of the failed tasks (as Airflow retries a task, not the DAG run).

All four must leave identical ``job_anomalies`` (but for ``interval_end`` and ``backfilled``, which
record when and how a finding was first made), ``job_health_scores`` and ``sla_breaches`` (but for
``evaluated_at``, the instant of the evaluation). A re-run of the last interval changes nothing.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from dataops_jobs import simulator
from dataops_jobs.collectors import Interval
from dataops_jobs.config import load_config_from_dict
from dataops_jobs.cycle import STAGES, DataOpsOrchestrator, utc_naive
from dataops_jobs.io import read_output

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from pyspark.sql import DataFrame, SparkSession

pytestmark = pytest.mark.spark
HOUR = timedelta(hours=1)
IGNORED = {"job_anomalies": {"interval_end", "backfilled"}, "job_health_scores": set(),
           "sla_breaches": {"evaluated_at", "backfilled"}}


class Crash(Exception):
    """Stands for the process dying at a commit point (between two writes of a cycle)."""


def snapshot(df: DataFrame | None, ignored: set[str]) -> list[tuple[str, ...]]:
    assert df is not None
    cols = sorted(c for c in df.columns if c not in ignored)
    return sorted(tuple(str(r[c]) for c in cols) for r in df.select(*cols).collect())


def tables(orchestrator: DataOpsOrchestrator) -> dict[str, list[tuple[str, ...]]]:
    return {t: snapshot(read_output(orchestrator.spark, orchestrator.locator, t), ignored)
            for t, ignored in IGNORED.items()}


def make(spark: SparkSession, root: Path, name: str) -> DataOpsOrchestrator:
    jobs = spark.read.format("delta").load(str(root / "system" / "lakeflow" / "jobs"))
    names = sorted({r["name"] for r in jobs.select("name").collect()})
    config = load_config_from_dict({
        "local": {"system_tables_path": str(root / "system"), "warehouse_path": str(root / name)},
        "sla": {"jobs": [{"job_name": n, "max_duration_minutes": 10} for n in names]},
    })
    return DataOpsOrchestrator(spark, config, progress=lambda _: None)


#: The cycle's stages but ``recommendations`` (tested in tests/recommend; it would add a minute here).
CUT_STAGES = tuple(s for s in STAGES if s != "recommendations")


def cycle(orchestrator: DataOpsOrchestrator, end: datetime, stages: tuple[str, ...] | None = None) -> dict[str, Any]:
    interval = Interval(end - timedelta(minutes=30), end)
    summary = orchestrator.run_cycle(interval, CUT_STAGES if stages is None else stages)
    return summary.to_dict()


@pytest.fixture(scope="module")
def cuts(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: Any) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("cuts")
    sim = simulator.simulate_workspace(spark, str(root / "system"), jobs=6, days=4, seed=5, workspaces=1)
    end = utc_naive(sim.end)
    out: dict[str, Any] = {}

    backfill = make(spark, root, "backfill")
    out["backfill_summary"] = cycle(backfill, end)
    out["backfill"] = tables(backfill)
    found = read_output(spark, backfill.locator, "job_anomalies")
    assert found is not None
    out["backfill_flags"] = [(r["detected_at"], r["backfilled"]) for r in found.collect()]
    out["end"] = end

    every = make(spark, root, "every")
    cycle(every, end - 3 * HOUR)
    for name in ("gap", "killed"):
        shutil.copytree(root / "every", root / name)
    for k in (1.5, 0):
        cycle(every, end - k * HOUR)
    out["every"] = tables(every)

    gap = make(spark, root, "gap")
    out["gap_summary"] = cycle(gap, end)
    out["gap"] = tables(gap)
    out["rerun_summary"] = cycle(gap, end)
    out["gap_after_rerun"] = tables(gap)

    killed = make(spark, root, "killed")
    import dataops_jobs.anomaly.job as job_module

    real = job_module.merge_into

    def dies_before_the_state(spark_: Any, locator: Any, name: str, df: Any) -> int:
        if name == "analysis_state":
            raise Crash(name)
        return real(spark_, locator, name, df)

    def dies_before_the_watermark(self: DataOpsOrchestrator, name: str, end_: datetime, rows: int) -> None:
        if name == "anomalies":
            raise Crash(name)
        real_advance(self, name, end_, rows)

    real_advance = DataOpsOrchestrator._advance
    monkeypatch_module.setattr(job_module, "merge_into", dies_before_the_state)
    with pytest.raises(Crash):
        cycle(killed, end)
    monkeypatch_module.setattr(job_module, "merge_into", real)
    monkeypatch_module.setattr(DataOpsOrchestrator, "_advance", dies_before_the_watermark)
    with pytest.raises(Crash):
        cycle(killed, end, ("anomalies",))
    monkeypatch_module.setattr(DataOpsOrchestrator, "_advance", real_advance)
    out["killed_summary"] = cycle(killed, end, ("anomalies", "sla"))
    out["killed"] = tables(killed)
    return out


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def test_the_backfill_finds_anomalies_and_scores(cuts: dict[str, Any]) -> None:
    for table in IGNORED:
        assert cuts["backfill"][table], table
    details = cuts["backfill_summary"]["stages"]["anomalies"]["details"]["anomalies"]
    assert details["backfill"] is True


def test_the_first_deployment_marks_old_findings_backfilled(cuts: dict[str, Any]) -> None:
    """Anomalies older than analysis.notify_max_age_hours (24) when the first cycle finds them are
    history: recorded, never notified; the recent ones are not."""
    recent = cuts["end"] - timedelta(hours=24)
    flags = cuts["backfill_flags"]
    assert any(old for _, old in flags)
    assert all(old == (when < recent) for when, old in flags)


@pytest.mark.parametrize("cut", ["every", "gap", "killed"])
@pytest.mark.parametrize("table", list(IGNORED))
def test_same_tables_however_the_cycles_are_cut(cuts: dict[str, Any], cut: str, table: str) -> None:
    assert cuts[cut][table] == cuts["backfill"][table]


def test_the_cycle_after_a_gap_reads_everything_since_the_watermark(cuts: dict[str, Any]) -> None:
    details = cuts["gap_summary"]["stages"]["anomalies"]["details"]["anomalies"]
    assert details["backfill"] is False
    assert details["since"] is not None


def test_a_cycle_killed_after_the_state_write_replays(cuts: dict[str, Any]) -> None:
    """The state had moved past the new runs when the watermark had not: those series are replayed."""
    details = cuts["killed_summary"]["stages"]["anomalies"]["details"]["anomalies"]
    assert details["series_replayed"] > 0


def test_rerunning_the_last_interval_changes_nothing(cuts: dict[str, Any]) -> None:
    assert cuts["gap_after_rerun"] == cuts["gap"]
    skipped = cuts["rerun_summary"]["stages"]["anomalies"]["details"]["anomalies"]
    assert "skipped" in skipped
