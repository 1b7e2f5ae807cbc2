"""The NAB scorer against NAB's documented constants and tiny hand-made files."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from dataops_intelligence.quality import nab

if TYPE_CHECKING:
    from pathlib import Path

STD = nab.PROFILES["standard"]
LOW_FP = nab.PROFILES["reward_low_FP_rate"]
LOW_FN = nab.PROFILES["reward_low_FN_rate"]
START = datetime(2014, 2, 14, 14, 30)
N = 1000  # probation = 150 rows


def _stamps(n: int = N) -> list[datetime]:
    return [START + timedelta(minutes=5 * i) for i in range(n)]


def _window(stamps: list[datetime], left: int, right: int) -> nab.Window:
    return (stamps[left], stamps[right])


def _detect(rows: set[int], n: int = N) -> list[bool]:
    return [i in rows for i in range(n)]


STAMPS = _stamps()
WINDOWS = [_window(STAMPS, 300, 349), _window(STAMPS, 700, 749)]


@pytest.mark.parametrize(
    ("position", "expected"),
    [(-1.0, 0.98661), (-0.5, 0.84828), (0.0, 0.0), (1.0, -0.98661), (3.0, -1.0), (10.0, -1.0)],
)
def test_scaled_sigmoid_matches_nab_constants(position: float, expected: float) -> None:
    assert nab.scaled_sigmoid(position) == pytest.approx(expected, abs=5e-6)


@pytest.mark.parametrize(("rows", "expected"), [(4032, 604), (1243, 186), (4730, 709), (10000, 750)])
def test_probationary_length(rows: int, expected: int) -> None:
    assert nab.probationary_length(rows) == expected


@pytest.mark.parametrize("profile", list(nab.PROFILES.values()), ids=list(nab.PROFILES))
def test_perfect_detector_scores_100(profile: nab.CostProfile) -> None:
    score = nab.score_file(STAMPS, _detect({300, 700}), WINDOWS, profile)
    assert (score.tp, score.fn, score.fp) == (2, 0, 0)
    assert score.raw == pytest.approx(2.0)
    assert nab.normalise(score.raw, 2, profile) == pytest.approx(100.0)


@pytest.mark.parametrize("profile", list(nab.PROFILES.values()), ids=list(nab.PROFILES))
def test_null_detector_scores_0(profile: nab.CostProfile) -> None:
    score = nab.score_file(STAMPS, _detect(set()), WINDOWS, profile)
    assert score.raw == pytest.approx(-2.0 * profile.fn_weight)
    assert nab.normalise(score.raw, 2, profile) == pytest.approx(0.0)


def test_nab_reference_null_and_perfect_totals() -> None:
    # nab.md: 116 windows give S_null = -116 (standard) / -232 (low FN) and S_perfect = 116.
    assert nab.null_score(116, STD) == -116.0
    assert nab.null_score(116, LOW_FN) == -232.0
    assert nab.perfect_score(116, STD) == 116.0


def test_false_positives_only_score_negative() -> None:
    score = nab.score_file(STAMPS, _detect({200, 250}), WINDOWS, STD)
    assert (score.tp, score.fn, score.fp) == (0, 2, 2)
    assert score.raw == pytest.approx(-2.0 - 2 * 0.11)
    assert nab.normalise(score.raw, 2, STD) < 0.0
    low_fp = nab.score_file(STAMPS, _detect({200, 250}), WINDOWS, LOW_FP)
    assert low_fp.raw == pytest.approx(-2.0 - 2 * 0.22)


def test_only_the_earliest_detection_in_a_window_counts() -> None:
    early = nab.score_file(STAMPS, _detect({300}), WINDOWS, STD).raw
    both = nab.score_file(STAMPS, _detect({300, 310, 340}), WINDOWS, STD).raw
    late = nab.score_file(STAMPS, _detect({340}), WINDOWS, STD).raw
    assert both == pytest.approx(early)
    assert late < early


def test_detection_value_follows_the_sigmoid_inside_the_window() -> None:
    mid = nab.score_file(STAMPS, _detect({324}), WINDOWS, STD).raw
    expected_tp = nab.scaled_sigmoid(-(349 - 324 + 1) / 50) / nab.scaled_sigmoid(-1.0)
    assert mid == pytest.approx(expected_tp - 1.0)  # the second window is missed


def test_false_positive_just_after_a_window_is_nearly_free() -> None:
    base = nab.score_file(STAMPS, _detect({300}), WINDOWS, STD).raw
    right_after = nab.score_file(STAMPS, _detect({300, 351}), WINDOWS, STD).raw
    far_after = nab.score_file(STAMPS, _detect({300, 600}), WINDOWS, STD).raw
    position = abs(349 - 351) / (50 - 1)
    assert right_after - base == pytest.approx(0.11 * nab.scaled_sigmoid(position))
    assert far_after - base == pytest.approx(-0.11)


def test_detections_in_probation_are_ignored() -> None:
    score = nab.score_file(STAMPS, _detect({0, 10, 149}), WINDOWS, STD)
    assert score.fp == 0
    assert score.raw == pytest.approx(-2.0)


def test_detections_at_threshold() -> None:
    assert nab.detections_at([0.2, 0.5, 0.9], 0.5) == [False, True, True]


def test_unknown_window_timestamp_is_an_error() -> None:
    bad = [(START - timedelta(days=1), STAMPS[10])]
    with pytest.raises(ValueError, match="does not match"):
        nab.score_file(STAMPS, _detect(set()), bad, STD)


def test_load_windows_and_profiles(tmp_path: Path) -> None:
    windows_path = tmp_path / "combined_windows.json"
    windows_path.write_text(
        json.dumps({"a/b.csv": [["2014-02-14 14:30:00.000000", "2014-02-14 15:00:00.000000"]]})
    )
    profiles_path = tmp_path / "profiles.json"
    profiles_path.write_text(
        json.dumps(
            {"standard": {"CostMatrix": {"tpWeight": 1, "fpWeight": 0.11, "fnWeight": 1, "tnWeight": 1}}}
        )
    )
    assert nab.load_windows(windows_path) == {"a/b.csv": [(START, START + timedelta(minutes=30))]}
    assert nab.load_profiles(profiles_path) == {"standard": STD}
