"""Behaviour of the causal streaming detector: causality, episodes, quiet series, state round-trip."""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict
from datetime import datetime, timedelta

import pytest

from dataops_jobs.anomaly.streaming import STATE_VERSION, DetectorConfig, DetectorOutput, StreamingDetector

START = datetime(2024, 1, 1)
STEP = timedelta(minutes=5)
WARMUP = DetectorConfig().warmup
DAY = 288


def _timestamps(n: int) -> list[datetime]:
    return [START + i * STEP for i in range(n)]


def _noise(n: int, level: float = 10.0, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [level + rng.uniform(-1.0, 1.0) for _ in range(n)]


def _run(values: list[float]) -> list[DetectorOutput]:
    return StreamingDetector().score_series(_timestamps(len(values)), values)


def _alarm_rows(outputs: list[DetectorOutput]) -> list[int]:
    return [i for i, out in enumerate(outputs) if out.alarm]


def test_changing_the_future_does_not_change_past_scores() -> None:
    values = _noise(600)
    changed = values[:400] + [v * 50.0 for v in values[400:]]
    assert _run(values)[:400] == _run(changed)[:400]


def test_spike_is_alarmed_at_its_row() -> None:
    values = _noise(800)
    values[500] = 25.0
    outputs = _run(values)
    assert _alarm_rows(outputs) == [500]
    assert outputs[500].score >= 0.5
    assert outputs[500].value > outputs[500].upper
    assert outputs[500].explanation.startswith("ALARM")


def test_step_change_is_alarmed_once_not_on_every_row() -> None:
    values = _noise(600) + _noise(600, level=20.0, seed=8)
    outputs = _run(values)
    assert _alarm_rows(outputs) == [600]
    assert sum(out.score >= 0.5 for out in outputs) > 1, "later rows are still anomalous, only silenced"


def test_dip_is_alarmed() -> None:
    values = _noise(800)
    values[450:455] = [2.0] * 5
    assert _alarm_rows(_run(values)) == [450]


@pytest.mark.parametrize(
    "values",
    [
        pytest.param([5.0] * 3000, id="flat"),
        pytest.param(_noise(3000, seed=11), id="uniform-noise"),
        pytest.param(
            [50.0 + 20.0 * math.sin(2 * math.pi * i / 288) + v for i, v in enumerate(_noise(3000, 0.0, 3))],
            id="daily-cycle",
        ),
    ],
)
def test_quiet_series_has_no_alarms_after_warmup(values: list[float]) -> None:
    outputs = _run(values)
    assert _alarm_rows(outputs[WARMUP:]) == []
    assert all(0.0 <= out.score < 1.0 for out in outputs)


def test_no_alarm_during_warmup() -> None:
    values = _noise(WARMUP)
    values[WARMUP // 2] = 1e6
    assert _alarm_rows(_run(values)) == []


def test_state_round_trip_gives_identical_outputs() -> None:
    values = _noise(700) + _noise(300, level=18.0, seed=9)
    stamps = _timestamps(len(values))
    reference = StreamingDetector().score_series(stamps, values)

    first = StreamingDetector()
    head = first.score_series(stamps[:620], values[:620])
    state = json.loads(json.dumps(first.to_state()))
    resumed = StreamingDetector.from_state(state)
    tail = resumed.score_series(stamps[620:], values[620:])

    assert head + tail == reference
    assert resumed.last_timestamp == reference[-1].timestamp


def test_irregular_timestamps_are_accepted() -> None:
    values = _noise(400)
    stamps = _timestamps(400)
    stamps[200] = stamps[199]  # duplicate (DST change)
    stamps[300] = stamps[290]  # backwards step
    stamps[350:] = [ts + timedelta(days=3) for ts in stamps[350:]]  # gap
    outputs = StreamingDetector().score_series(stamps, values)
    assert _alarm_rows(outputs) == []


def test_epoch_seconds_and_datetimes_are_equivalent() -> None:
    values = _noise(300)
    stamps = _timestamps(300)
    epochs = [(ts - datetime(1970, 1, 1)).total_seconds() for ts in stamps]
    assert StreamingDetector().score_series(stamps, values) == StreamingDetector().score_series(
        epochs, values
    )


def test_non_finite_value_is_rejected() -> None:
    with pytest.raises(ValueError, match="finite"):
        StreamingDetector().update(0.0, math.nan)


def test_invalid_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="level_quantile"):
        DetectorConfig(level_quantile=0.7)


def test_likelihood_flags_a_burst_inside_the_usual_range() -> None:
    # Regular tall spikes set a wide range; two smaller points in a quiet stretch are inside that
    # range (no new extreme, no level shift) but are a burst of unusual movement for this series.
    # A single such point is not enough (its five-point surprise average stays below the tail).
    values = [0.1 + 0.01 * ((i * 7) % 5) for i in range(2000)]
    for i in range(100, 2000, 280):
        values[i] = 1.5
    values[1750] = 0.6
    assert 1750 not in _alarm_rows(_run(values))
    values[1751] = 0.6
    outputs = _run(values)
    assert 1751 in _alarm_rows(outputs)
    assert "likelihood" in outputs[1751].explanation


def test_version_1_state_is_upgraded() -> None:
    values = _noise(700)
    stamps = _timestamps(len(values))
    first = StreamingDetector()
    first.score_series(stamps[:600], values[:600])
    state = json.loads(json.dumps(first.to_state()))
    state["version"] = 1
    del state["likelihood"]
    del state["config"]["likelihood"]
    resumed = StreamingDetector.from_state(state)
    assert _alarm_rows(resumed.score_series(stamps[600:], values[600:])) == []
    assert resumed.to_state()["likelihood"] is not None


def test_sustained_small_shift_is_alarmed() -> None:
    # Two hours at a level that single points never leave the usual band for (no new extreme, no
    # five-point level shift, no unusual jumps), but that no two-hour median has reached before.
    rng = random.Random(3)
    values = _noise(1500)
    shift_start = len(values)
    values += [10.85 + rng.uniform(-0.15, 0.15) for _ in range(60)]
    outputs = _run(values)
    alarms = _alarm_rows(outputs)
    assert alarms, "the sustained shift was not alarmed"
    assert shift_start <= alarms[0] < shift_start + DetectorConfig().shift_points
    assert "sustained-shift" in outputs[alarms[0]].explanation
    assert max(values[shift_start:]) <= 11.0  # inside the band of single points


def test_daily_cycle_is_not_a_sustained_shift() -> None:
    rng = random.Random(5)
    values = [50.0 + 30.0 * math.sin(2 * math.pi * i / 288) + rng.uniform(-2.0, 2.0) for i in range(3000)]
    assert _alarm_rows(_run(values)) == []


def test_new_extreme_margin_is_wider_while_the_window_fills() -> None:
    # The same 10 %-of-range excess is not alarm-worthy after 400 points (the band's edges are still
    # uncertain) but is once the two-week window is full.
    def excess_alarmed(history: int) -> bool:
        values = _noise(history, seed=history)
        top, bottom = sorted(values)[-2], sorted(values)[1]
        values.append(top + 0.10 * (top - bottom))
        return _run(values)[-1].alarm

    assert not excess_alarmed(400)
    assert excess_alarmed(DetectorConfig().long_window + 10)


def test_older_state_is_upgraded_to_the_current_configuration() -> None:
    values = _noise(2000)
    stamps = _timestamps(len(values))
    first = StreamingDetector()
    first.score_series(stamps[:1200], values[:1200])
    state = json.loads(json.dumps(first.to_state()))
    state["version"] = 3  # before the daily-pattern test, with the defaults of that release
    del state["seasonal"], state["config"]["seasonal"]
    state["config"]["holdoff"] = 150
    resumed = StreamingDetector.from_state(state)
    upgraded = resumed.to_state()
    assert upgraded["version"] == STATE_VERSION
    assert upgraded["config"] == asdict(DetectorConfig())
    # The trailing window was replayed into the other tests, not thrown away.
    assert upgraded["shift_medians"] == state["shift_medians"]
    assert upgraded["likelihood"]["averages"]
    assert upgraded["count"] == 1200
    assert _alarm_rows(resumed.score_series(stamps[1200:], values[1200:])) == []
    assert resumed.to_state()["seasonal"]["medians"]["values"], "the daily-pattern test learns again"


def _square_days(days: int, seed: int) -> list[float]:
    """A daily cycle: 20 at night, 80 for six hours, noise of +-2 (5-minute points)."""
    rng = random.Random(seed)
    return [(80.0 if 108 <= i % DAY < 180 else 20.0) + rng.uniform(-2.0, 2.0) for i in range(days * DAY)]


def test_missing_daily_peak_is_alarmed_as_a_broken_daily_pattern() -> None:
    values = _square_days(7, seed=4)
    assert _alarm_rows(_run(values)) == []
    peak = 5 * DAY + 108
    values[peak : peak + 72] = [20.0 + v for v in _noise(72, level=0.0, seed=6)]  # the peak does not come
    outputs = _run(values)
    alarms = _alarm_rows(outputs)
    assert alarms, "the missing peak was not alarmed"
    assert peak <= alarms[0] < peak + DetectorConfig().shift_points
    assert "daily pattern" in outputs[alarms[0]].explanation
