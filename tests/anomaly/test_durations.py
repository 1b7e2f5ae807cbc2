"""The run-series detector: causal, robust, seasonal, and deliberate about level shifts."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from dataops_jobs.anomaly.durations import (
    LEVEL_SHIFT,
    REGRESSION,
    RunDetectorConfig,
    RunPoint,
    RunSeriesDetector,
    RunVerdict,
)

T0 = datetime(2025, 1, 1, 2)


def _feed(values: list[float], *, step: timedelta = timedelta(days=1), hours: list[int] | None = None,
          config: RunDetectorConfig | None = None) -> dict[int, list[RunVerdict]]:
    detector = RunSeriesDetector(config)
    out: dict[int, list[RunVerdict]] = {}
    for i, v in enumerate(values):
        bucket = hours[i] if hours is not None else None
        found = detector.update(RunPoint(f"r{i}", T0 + i * step, v, bucket))
        if found:
            out[i] = found
    return out


def _lognormal(n: int, median: float, sigma: float, seed: int) -> list[float]:
    r = random.Random(seed)
    return [median * r.lognormvariate(0.0, sigma) for _ in range(n)]


def test_stable_noisy_series_rarely_alarms() -> None:
    flagged = sum(len(_feed(_lognormal(200, 30.0, 0.2, seed))) for seed in range(20))
    assert flagged <= 2  # <= 2 of 4000 runs with 20 % lognormal noise


def test_3x_regression_is_flagged_by_its_second_run_and_stays_flagged() -> None:
    for seed in range(20):
        values = _lognormal(40, 30.0, 0.2, seed) + [3 * v for v in _lognormal(4, 30.0, 0.2, 1000 + seed)]
        found = _feed(values)
        first = min(found)
        assert 40 <= first <= 41, (seed, found)
        assert all(found[i][0].kind == REGRESSION for i in range(41, 44)), seed
        verdict = found[41][0]
        assert verdict.score >= 0.5
        assert "x its median of" in verdict.explanation


def test_level_shift_is_accepted_deliberately_then_quiet() -> None:
    values = _lognormal(30, 30.0, 0.1, 3) + _lognormal(30, 90.0, 0.1, 4)
    found = _feed(values)
    flagged = sorted(found)
    assert flagged[:5] == [30, 31, 32, 33, 34]
    note = found[34][-1]
    assert note.kind == LEVEL_SHIFT
    assert "level shift accepted after 5" in note.explanation
    assert all(i <= 34 for i in flagged)


def test_outliers_in_the_baseline_do_not_move_it() -> None:
    values = [30.0] * 20 + [300.0] + [30.0] * 10 + [45.0, 46.0]
    found = _feed(values)
    assert 20 in found
    assert 31 in found or 32 in found  # +50 % after the spike is still judged against 30 min


def test_causal_a_run_is_judged_only_by_its_past() -> None:
    values = [*_lognormal(30, 30.0, 0.2, 5), 95.0]
    before = _feed(values)
    after = _feed([*values, 5.0, 500.0])
    assert {i: v for i, v in after.items() if i <= 30} == before


def test_seasonal_buckets_where_the_job_has_them() -> None:
    hours = [(2 + 4 * i) % 24 for i in range(120)]  # every 4 h: 02, 06, ..., 22
    values = [(80.0 if h == 2 else 20.0) * f for h, f in zip(hours, _lognormal(120, 1.0, 0.05, 6), strict=True)]
    quiet = _feed(values, step=timedelta(hours=4), hours=hours)
    assert all(i < 36 for i in quiet)  # once the slot has history, its 80-minute run is normal
    odd = [*values, 80.0]  # 80 minutes at 06:00, where runs take 20
    found = _feed(odd, step=timedelta(hours=4), hours=[*hours, 6])
    assert [i for i in found if i >= 36] == [120]


def test_small_absolute_changes_are_ignored() -> None:
    values = [1.0] * 30 + [2.5, 2.5, 2.5]  # 2.5x but only 1.5 minutes longer
    assert _feed(values) == {}
