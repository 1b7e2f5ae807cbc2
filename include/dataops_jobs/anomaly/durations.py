"""A causal, robust detector for one value per run (run duration, DBUs per hour of a run).

Each job's runs are fed in order; run *i* is judged only against runs before it.

* **Robust baseline.** The log of the value is compared with the median of the last
  ``baseline_runs`` accepted runs; the spread is ``1.4826 * MAD`` (floored at ``min_sigma`` in log
  units, i.e. a few per cent), so a stray outlier in the baseline barely moves it. Anomalous runs
  never enter the baseline.
* **Seasonality where the job has it.** Runs carry a bucket (hour of day for jobs that run several
  times a day, day of week for the others). When the bucket has ``seasonal_min_bucket`` recent runs
  and its median differs from the job's overall median by ``seasonal_shift`` times the bucket's own
  spread (the slot is distinguishable), the run is judged against its bucket. This structure is
  learnt from all recent runs, flagged ones included (a new bucket's first runs are flagged until
  it has enough history).
* **Two rules.** A run is flagged when ``z >= z_single``, or when it and the run before it both
  have ``z >= z_hold`` and their mean z is at least ``z_pair`` (a regression is found by its second
  run even when one slow run alone is plausible). The spread is shrunk toward a prior
  (``sigma^2 = (n * s^2 + prior_runs * prior_sigma^2) / (n + prior_runs)``, a 25 % spread worth 8
  runs), so a small baseline cannot claim a tiny spread. A run is only flagged when it is
  ``min_ratio`` times the expected value and ``min_abs`` units above it, so jitter of a few
  seconds on tiny jobs never alarms. Once flagged, following runs with ``z >= z_hold`` stay flagged.
* **Level shifts.** A regression stays flagged run after run (the baseline does not drift toward
  it). After ``accept_after`` consecutive flagged runs the baseline is deliberately replaced by
  them and a ``level_shift_accepted`` note is emitted, so a new normal stops alarming on purpose.

Score: ``1 - 0.5 ** (z / z_rule)`` where ``z_rule`` is the threshold of the rule that fired, so a
flagged run scores at least 0.5 and a run at twice the threshold 0.75. Pure Python; the pandas
adapter :func:`score_run_frame` runs it per job inside ``applyInPandas``.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd

LEVEL_SHIFT = "level_shift_accepted"
REGRESSION = "regression"


@dataclass(frozen=True)
class RunDetectorConfig:
    """Settings of :class:`RunSeriesDetector` (defaults suit run durations in minutes)."""

    min_history: int = 8
    baseline_runs: int = 120
    z_single: float = 4.0
    z_pair: float = 2.75
    z_hold: float = 2.0
    min_ratio: float = 1.25
    min_abs: float = 2.0
    accept_after: int = 5
    min_sigma: float = 0.05
    prior_sigma: float = 0.25
    prior_runs: int = 8
    seasonal_min_bucket: int = 5
    seasonal_shift: float = 2.0
    unit: str = "min"
    noun: str = "took"


@dataclass(frozen=True)
class RunPoint:
    """One run's value; ``bucket`` is its seasonal bucket (hour of day or day of week) or None."""

    run_id: str
    ts: datetime
    value: float
    bucket: int | None = None


@dataclass(frozen=True)
class RunVerdict:
    """A flagged run (``kind`` regression) or a level-shift note, with its band and explanation."""

    run_id: str
    ts: datetime
    value: float
    expected: float
    lower: float
    upper: float
    z: float
    score: float
    kind: str
    consecutive: int
    explanation: str


@dataclass(frozen=True)
class _Reference:
    centre: float
    sigma: float
    seasonal: bool


def _mad(values: list[float], centre: float) -> float:
    return statistics.median(abs(v - centre) for v in values)


class RunSeriesDetector:
    """Causal robust detector over one job's runs; see the module docstring."""

    def __init__(self, config: RunDetectorConfig | None = None) -> None:
        self.config = config or RunDetectorConfig()
        self._baseline: deque[tuple[float, int | None]] = deque(maxlen=self.config.baseline_runs)
        self._episode: list[tuple[float, int | None]] = []
        self._held: tuple[float, int | None] | None = None
        self._held_z = 0.0
        self._recent: deque[tuple[float, int | None]] = deque(maxlen=self.config.baseline_runs)
        self._warm = False

    def to_state(self) -> dict[str, Any]:
        """JSON-safe snapshot; :meth:`from_state` resumes with identical verdicts."""
        return {"baseline": [list(e) for e in self._baseline], "episode": [list(e) for e in self._episode],
                "held": None if self._held is None else list(self._held), "held_z": self._held_z,
                "recent": [list(e) for e in self._recent], "warm": self._warm}

    @classmethod
    def from_state(cls, state: dict[str, Any], config: RunDetectorConfig | None = None) -> RunSeriesDetector:
        """Resume a detector saved by :meth:`to_state` (the config is not part of the state)."""
        detector = cls(config)

        def entries(raw: list[list[Any]]) -> list[tuple[float, int | None]]:
            return [(float(v), None if b is None else int(b)) for v, b in raw]

        detector._baseline.extend(entries(state["baseline"]))
        detector._episode = entries(state["episode"])
        held = state["held"]
        detector._held = None if held is None else entries([held])[0]
        detector._held_z = float(state["held_z"])
        detector._recent.extend(entries(state["recent"]))
        detector._warm = bool(state["warm"])
        return detector

    def update(self, point: RunPoint) -> list[RunVerdict]:
        """Judge ``point`` against the past, then learn it; return what it raised (maybe nothing)."""
        cfg = self.config
        entry = (math.log(max(point.value, 1e-9)), point.bucket)
        if not (self._warm or len(self._baseline) >= cfg.min_history):
            self._baseline.append(entry)
            self._recent.append(entry)
            return []
        ref = self._reference(point.bucket)
        z = (entry[0] - ref.centre) / ref.sigma
        expected = math.exp(ref.centre)
        material = point.value >= cfg.min_ratio * expected and point.value - expected >= cfg.min_abs
        candidate = material and z >= cfg.z_hold
        if material and z >= cfg.z_single:
            rule = cfg.z_single
        elif candidate and self._episode:
            rule = cfg.z_hold
        elif candidate and self._held is not None and (z + self._held_z) / 2 >= cfg.z_pair:
            rule = cfg.z_pair
        else:
            self._settle(entry, candidate, z)
            self._recent.append(entry)
            return []
        if self._held is not None:
            self._episode.append(self._held)
            self._held = None
        self._episode.append(entry)
        self._remember(entry)
        out = [self._verdict(point, ref, z, rule)]
        if len(self._episode) >= cfg.accept_after:
            out.append(self._accept(point, ref))
        return out

    def _remember(self, entry: tuple[float, int | None]) -> None:
        """Seasonal structure learns isolated flagged runs (a slot's first heavy runs), not episodes
        of consecutive ones (a regression): those only count once the level shift is accepted."""
        if len(self._episode) == 1:
            self._recent.append(entry)
        elif len(self._episode) == 2 and self._recent and self._recent[-1] == self._episode[0]:
            self._recent.pop()

    def _settle(self, entry: tuple[float, int | None], candidate: bool, z: float) -> None:
        """A run that raised nothing: hold a lone suspicious run back, else learn it."""
        self._episode = []
        if candidate:
            if self._held is not None:
                self._baseline.append(self._held)
            self._held, self._held_z = entry, z
            return
        if self._held is not None:
            self._baseline.append(self._held)
            self._held = None
        self._baseline.append(entry)

    def _accept(self, point: RunPoint, old: _Reference) -> RunVerdict:
        """Deliberately adopt the new level: the episode's runs become the baseline."""
        runs = len(self._episode)
        self._baseline = deque(self._episode, maxlen=self.config.baseline_runs)
        self._recent = deque(self._episode, maxlen=self.config.baseline_runs)
        self._episode, self._warm = [], True
        new = self._reference(point.bucket)
        was, now, unit = math.exp(old.centre), math.exp(new.centre), self.config.unit
        text = (f"level shift accepted after {runs} consecutive anomalous runs: baseline median moves from "
                f"{was:.3g} to {now:.3g} {unit} ({now / was:.2g}x); such runs no longer alarm")
        return RunVerdict(point.run_id, point.ts, point.value, now, *self._band(new), 0.0, 0.0, LEVEL_SHIFT,
                          runs, text)

    def _band(self, ref: _Reference) -> tuple[float, float]:
        width = self.config.z_single * ref.sigma
        return math.exp(ref.centre - width), math.exp(ref.centre + width)

    def _verdict(self, point: RunPoint, ref: _Reference, z: float, rule: float) -> RunVerdict:
        expected = math.exp(ref.centre)
        lower, upper = self._band(ref)
        unit, n = self.config.unit, len(self._episode)
        text = (f"run {self.config.noun} {point.value:.3g} {unit}, {point.value / expected:.2g}x its "
                f"{'same-slot ' if ref.seasonal else ''}median of {expected:.3g} {unit} "
                f"(expected {lower:.3g}-{upper:.3g} {unit}; robust z {z:.1f})")
        if n > 1:
            text += f"; {n} anomalous runs in a row, baseline not adapted"
        score = 1.0 - 0.5 ** (max(z, rule) / rule)
        return RunVerdict(point.run_id, point.ts, point.value, expected, lower, upper, z, score, REGRESSION, n,
                          text)

    def _reference(self, bucket: int | None) -> _Reference:
        values = [v for v, _ in self._baseline]
        centre = statistics.median(values)
        sigma = self._shrunk(1.4826 * _mad(values, centre), len(values))
        seasonal = self._seasonal(bucket)
        return seasonal or _Reference(centre, sigma, False)

    def _shrunk(self, spread: float, n: int) -> float:
        """Spread shrunk toward the prior: a few runs cannot claim a tiny spread."""
        cfg = self.config
        pooled = (n * spread**2 + cfg.prior_runs * cfg.prior_sigma**2) / (n + cfg.prior_runs)
        return max(math.sqrt(pooled), cfg.min_sigma)

    def _seasonal(self, bucket: int | None) -> _Reference | None:
        """The bucket's reference when the job's values clearly depend on the bucket."""
        cfg = self.config
        if bucket is None:
            return None
        groups: dict[int | None, list[float]] = {}
        for value, b in self._recent:
            groups.setdefault(b, []).append(value)
        own = groups.get(bucket, [])
        if len(own) < cfg.seasonal_min_bucket or len(groups) < 2:
            return None
        overall = statistics.median(v for v, _ in self._recent)
        centre = statistics.median(own)
        sigma = self._shrunk(1.4826 * _mad(own, centre), len(own))
        if abs(centre - overall) < cfg.seasonal_shift * sigma:
            return None
        return _Reference(centre, sigma, True)


def seasonal_bucket(ts: datetime, sub_daily: bool) -> int:
    """Hour of day for jobs running several times a day, else day of week (0 = Monday)."""
    return ts.hour if sub_daily else ts.weekday()


VERDICT_COLUMNS = ["workspace_id", "job_id", "run_id", "ts", "observed", "expected", "lower_bound",
                   "upper_bound", "z", "score", "kind", "consecutive", "explanation"]
VERDICT_SCHEMA = ("workspace_id STRING, job_id STRING, run_id STRING, ts TIMESTAMP, observed DOUBLE, "
                  "expected DOUBLE, lower_bound DOUBLE, upper_bound DOUBLE, z DOUBLE, score DOUBLE, "
                  "kind STRING, consecutive INT, explanation STRING")


def score_run_frame(pdf: pd.DataFrame, config: RunDetectorConfig) -> pd.DataFrame:
    """``applyInPandas`` body: one job's runs (workspace_id, job_id, run_id, ts, value) -> verdicts."""
    import pandas as pd

    pdf = pdf.sort_values(["ts", "run_id"], kind="stable")
    times = list(pdf["ts"])
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    sub_daily = bool(gaps) and statistics.median(gaps) < 20 * 3600
    detector = RunSeriesDetector(config)
    rows: list[dict[str, Any]] = []
    ws, job = (pdf["workspace_id"].iloc[0], pdf["job_id"].iloc[0]) if len(pdf) else (None, None)
    for run_id, ts, value in zip(pdf["run_id"], times, pdf["value"], strict=True):
        point = RunPoint(str(run_id), ts.to_pydatetime(), float(value), seasonal_bucket(ts, sub_daily))
        for v in detector.update(point):
            rows.append({"workspace_id": ws, "job_id": job, "run_id": v.run_id, "ts": v.ts,
                         "observed": v.value, "expected": v.expected, "lower_bound": v.lower,
                         "upper_bound": v.upper, "z": v.z, "score": v.score, "kind": v.kind,
                         "consecutive": v.consecutive, "explanation": v.explanation})
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)
