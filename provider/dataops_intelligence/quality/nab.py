"""A faithful re-implementation of the Numenta Anomaly Benchmark (NAB) scoring rules.

Pure Python, no pandas. It mirrors ``nab/sweeper.py`` and ``nab/runner.py`` (normalisation):

* windows come from ``labels/combined_windows.json`` as (start, end) timestamps; a window is
  entered on the row whose timestamp equals its start and left after the row equal to its end;
* the first ``min(floor(0.15 * N), 750)`` rows are probationary (neither reward nor penalty);
* a detection inside a window earns ``A_TP * sigma(y) / sigma(-1)`` with
  ``y = -(right - i + 1) / width``; only the best (earliest) detection of a window counts;
* a window without detection costs ``A_FN``;
* every detection outside a window costs ``A_FP * sigma(|i - right_prev| / (width_prev - 1))``
  (``-A_FP`` before the first window);
* the corpus score is normalised as ``100 * (S - S_null) / (S_perfect - S_null)``.

Here a row is a detection iff the detector's own alarm column is set (or its score is at least a
given threshold); no threshold is fitted on the labels.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

PROBATION_PERCENT = 0.15
PROBATION_CAP_ROWS = 5000


@dataclass(frozen=True)
class CostProfile:
    """Weights of one NAB application profile (``config/profiles.json``)."""

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


PROFILES: dict[str, CostProfile] = {
    "standard": CostProfile("standard", 1.0, 0.11, 1.0),
    "reward_low_FP_rate": CostProfile("reward_low_FP_rate", 1.0, 0.22, 1.0),
    "reward_low_FN_rate": CostProfile("reward_low_FN_rate", 1.0, 0.11, 2.0),
}

Window = tuple[datetime, datetime]


@dataclass(frozen=True)
class FileScore:
    """Raw NAB score of one file under one profile, with its confusion counts.

    ``tp`` counts windows with at least one detection, ``fn`` windows without, ``fp`` detection
    rows outside every window (after the probationary period).
    """

    raw: float
    tp: int
    fp: int
    fn: int
    windows: int


@dataclass(frozen=True)
class _WindowRows:
    """A window as row indices (inclusive) in one file."""

    left: int
    right: int

    @property
    def width(self) -> int:
        return self.right - self.left + 1


def scaled_sigmoid(position: float) -> float:
    """NAB's scaled sigmoid: 2 / (1 + e^(5y)) - 1, and -1 from y = 3 on."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probationary_length(n_rows: int) -> int:
    """Rows at the start of a file that are neither rewarded nor penalised."""
    return int(min(math.floor(PROBATION_PERCENT * n_rows), PROBATION_PERCENT * PROBATION_CAP_ROWS))


def parse_timestamp(text: str) -> datetime:
    """Parse NAB timestamps (``2014-02-14 14:30:00`` with optional fractional seconds)."""
    return datetime.fromisoformat(text.strip())


def load_profiles(path: str | Path) -> dict[str, CostProfile]:
    """Read ``config/profiles.json`` into :class:`CostProfile` objects."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    profiles: dict[str, CostProfile] = {}
    for name, body in raw.items():
        matrix = body["CostMatrix"]
        profiles[name] = CostProfile(
            name, float(matrix["tpWeight"]), float(matrix["fpWeight"]), float(matrix["fnWeight"])
        )
    return profiles


def load_windows(path: str | Path) -> dict[str, list[Window]]:
    """Read ``labels/combined_windows.json``: relative file path -> list of (start, end)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return {
        name: [(parse_timestamp(start), parse_timestamp(end)) for start, end in windows]
        for name, windows in raw.items()
    }


def _window_rows(timestamps: Sequence[datetime], windows: Sequence[Window]) -> list[_WindowRows]:
    """Map windows to rows as NAB does: exact timestamp matches, first occurrence."""
    first_index: dict[datetime, int] = {}
    for i, ts in enumerate(timestamps):
        first_index.setdefault(ts, i)
    rows: list[_WindowRows] = []
    for start, end in sorted(windows):
        if start not in first_index or end not in first_index:
            raise ValueError(f"window {start} .. {end} does not match timestamps of the file")
        rows.append(_WindowRows(first_index[start], first_index[end]))
    return rows


def _row_values(n_rows: int, windows: Sequence[_WindowRows], profile: CostProfile) -> list[tuple[int, float]]:
    """Per row: (window id or -1, the sweep value a detection on that row would get)."""
    max_tp = scaled_sigmoid(-1.0)
    out: list[tuple[int, float]] = []
    current = 0
    previous: _WindowRows | None = None
    for i in range(n_rows):
        window = windows[current] if current < len(windows) else None
        if window is not None and window.left <= i <= window.right:
            position = -(window.right - i + 1) / window.width
            out.append((current, scaled_sigmoid(position) * profile.tp_weight / max_tp))
            if i == window.right:
                previous, current = window, current + 1
            continue
        if previous is None:
            out.append((-1, -1.0 * profile.fp_weight))
        else:
            position = abs(previous.right - i) / float(previous.width - 1)
            out.append((-1, scaled_sigmoid(position) * profile.fp_weight))
    return out


def score_file(
    timestamps: Sequence[datetime],
    detections: Sequence[bool],
    windows: Sequence[Window],
    profile: CostProfile,
) -> FileScore:
    """Raw NAB score of one file given a detection flag per row."""
    if len(timestamps) != len(detections):
        raise ValueError(f"{len(timestamps)} timestamps but {len(detections)} detections")
    rows = _window_rows(timestamps, windows)
    probation = probationary_length(len(timestamps))
    values = _row_values(len(timestamps), rows, profile)
    scorable = {wid for i, (wid, _) in enumerate(values) if wid >= 0 and i >= probation}
    best: dict[int, float] = {wid: -profile.fn_weight for wid in scorable}
    fp_total, fp_rows = 0.0, 0
    for i, (detected, (wid, value)) in enumerate(zip(detections, values, strict=True)):
        if i < probation or not detected:
            continue
        if wid >= 0:
            best[wid] = max(best[wid], value)
        else:
            fp_total += value
            fp_rows += 1
    tp = sum(1 for wid in scorable if best[wid] > -profile.fn_weight)
    return FileScore(sum(best.values()) + fp_total, tp, fp_rows, len(scorable) - tp, len(scorable))


def null_score(n_windows: int, profile: CostProfile) -> float:
    """Raw score of a detector that never fires."""
    return -profile.fn_weight * n_windows


def perfect_score(n_windows: int, profile: CostProfile) -> float:
    """Raw score NAB's runner uses for a perfect detector (one point per labelled window)."""
    return profile.tp_weight * n_windows


def normalise(raw: float, n_windows: int, profile: CostProfile) -> float:
    """Map a corpus raw score to NAB's 0 (null detector) .. 100 (perfect detector) scale."""
    low, high = null_score(n_windows, profile), perfect_score(n_windows, profile)
    if high == low:
        return 0.0
    return 100.0 * (raw - low) / (high - low)


def detections_at(scores: Sequence[float], threshold: float) -> list[bool]:
    """Rows whose anomaly score reaches ``threshold`` (NAB: score >= threshold)."""
    return [score >= threshold for score in scores]


def corpus_score(files: Mapping[str, FileScore], n_windows: int, profile: CostProfile) -> float:
    """Normalised score of a corpus from its per-file raw scores.

    ``n_windows`` is the number of windows in the labels file (NAB's runner counts windows, not
    the files' scorable windows, for the perfect score).
    """
    return normalise(sum(score.raw for score in files.values()), n_windows, profile)
