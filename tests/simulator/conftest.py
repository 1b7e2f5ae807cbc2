"""A small simulated workspace shared by the simulator tests (built once per session)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

    from dataops_jobs.simulator import SimulationSummary

END = datetime(2026, 1, 20, tzinfo=timezone.utc)
JOBS, DAYS, SEED = 12, 2, 7


@dataclass(frozen=True)
class Sims:
    """``full``: DAYS+1 days at once; ``grown``: DAYS days (``before`` kept as a copy) then append_day."""

    full: Path
    grown: Path
    before: Path
    full_summary: SimulationSummary
    appended: SimulationSummary


@pytest.fixture(scope="session")
def sims(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Sims:
    import shutil

    from dataops_jobs.simulator import append_day, simulate_workspace

    root = tmp_path_factory.mktemp("simulator")
    full, grown, before = root / "full", root / "grown", root / "before"
    full_summary = simulate_workspace(spark, str(full), jobs=JOBS, days=DAYS + 1, seed=SEED, end=END)
    simulate_workspace(spark, str(grown), jobs=JOBS, days=DAYS, seed=SEED, end=END.replace(day=END.day - 1))
    shutil.copytree(grown, before)
    appended = append_day(spark, str(grown))
    return Sims(full, grown, before, full_summary, appended)


def load_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))
