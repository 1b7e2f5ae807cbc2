"""The NAB development corpus for the benchmarks: load it, run a detector configuration, score it.

A run of one :class:`DetectorConfig` over every series is kept as its alarm rows in a JSON cache
(keyed by the configuration, the detector's source code and the data files), so a parameter search,
the leave-one-folder-out selection and the sensitivity table re-use each other's runs.
Imported by ``nab_benchmark.py``; not a test.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

REPO_ROOT = Path(__file__).resolve().parents[1]
# Lets `python benchmarks/...` run from a checkout where the packages are not installed.
for _source_dir in ("provider", "include"):
    if str(REPO_ROOT / _source_dir) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / _source_dir))

from dataops_intelligence.quality import nab  # noqa: E402
from dataops_jobs.anomaly import likelihood, streaming, windows  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    from dataops_jobs.anomaly.streaming import DetectorConfig

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "nab"
DEFAULT_CACHE = REPO_ROOT / ".dataops" / "nab_cache"
PROFILE_NAMES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")

Alarms = dict[str, list[int]]
"""Alarm row indices per series key (``folder/file.csv``)."""


@dataclass(frozen=True)
class Series:
    """One NAB file: its key, folder, rows and label windows."""

    key: str
    timestamps: list[datetime]
    values: list[float]
    windows: list[nab.Window]

    @property
    def folder(self) -> str:
        return self.key.split("/", 1)[0]


@dataclass(frozen=True)
class Corpus:
    """The series of the development corpus, the cost profiles and a fingerprint of the data."""

    series: list[Series]
    profiles: dict[str, nab.CostProfile]
    fingerprint: str

    @property
    def folders(self) -> list[str]:
        return sorted({s.folder for s in self.series})

    def n_windows(self, folders: Iterable[str] | None = None) -> int:
        chosen = set(self.folders if folders is None else folders)
        return sum(len(s.windows) for s in self.series if s.folder in chosen)


def load_corpus(data: Path) -> Corpus:
    """Read every ``data/<folder>/*.csv`` with its windows from ``labels/combined_windows.json``."""
    all_windows = nab.load_windows(data / "labels" / "combined_windows.json")
    profiles_path = data / "config" / "profiles.json"
    profiles = nab.load_profiles(profiles_path) if profiles_path.exists() else dict(nab.PROFILES)
    digest = hashlib.sha256()
    series: list[Series] = []
    for path in sorted((data / "data").rglob("*.csv")):
        key = path.relative_to(data / "data").as_posix()
        text = path.read_text(encoding="utf-8")
        digest.update(key.encode() + text.encode())
        rows = list(csv.DictReader(text.splitlines()))
        series.append(
            Series(
                key,
                [nab.parse_timestamp(r["timestamp"]) for r in rows],
                [float(r["value"]) for r in rows],
                all_windows.get(key, []),
            )
        )
    if not series:
        raise FileNotFoundError(f"no CSV files under {data / 'data'}")
    return Corpus(series, profiles, digest.hexdigest()[:16])


def run_series(config: DetectorConfig, series: Series) -> list[int]:
    """Rows where the detector (fed the series in order, row by row) raises its own alarm."""
    detector = streaming.StreamingDetector(config)
    return [
        i
        for i, (ts, value) in enumerate(zip(series.timestamps, series.values, strict=True))
        if detector.update(ts, value).alarm
    ]


def _code_fingerprint() -> str:
    digest = hashlib.sha256()
    for module in (streaming, likelihood, windows):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


class AlarmCache:
    """Alarm rows per configuration, in memory and as one JSON file per configuration on disk."""

    def __init__(self, corpus: Corpus, directory: Path | None) -> None:
        self.corpus = corpus
        self.directory = directory
        self._code = _code_fingerprint()
        self._memory: dict[str, Alarms] = {}
        self.runs = 0

    def _key(self, config: DetectorConfig) -> str:
        text = f"{config!r}|{self._code}|{self.corpus.fingerprint}"
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def alarms(self, config: DetectorConfig) -> Alarms:
        """The alarm rows of ``config`` on every series (run once, then cached)."""
        key = self._key(config)
        if key in self._memory:
            return self._memory[key]
        path = None if self.directory is None else self.directory / f"{key}.json"
        if path is not None and path.exists():
            found: Alarms = json.loads(path.read_text(encoding="utf-8"))
        else:
            found = {s.key: run_series(config, s) for s in self.corpus.series}
            self.runs += 1
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(found), encoding="utf-8")
        self._memory[key] = found
        return found


@dataclass(frozen=True)
class Scores:
    """Per-file NAB scores of one set of alarms under one profile."""

    files: dict[str, nab.FileScore]
    profile: nab.CostProfile
    corpus: Corpus

    def normalised(self, folders: Iterable[str] | None = None) -> float | None:
        """0..100 score of the chosen folders (all by default); None when they hold no window."""
        chosen = set(self.corpus.folders if folders is None else folders)
        n_windows = self.corpus.n_windows(chosen)
        if n_windows == 0:
            return None
        raw = sum(score.raw for key, score in self.files.items() if key.split("/", 1)[0] in chosen)
        return nab.normalise(raw, n_windows, self.profile)

    def totals(self, folders: Iterable[str] | None = None) -> tuple[int, int, int, float]:
        """(TP windows, FN windows, FP rows, raw score) of the chosen folders."""
        chosen = set(self.corpus.folders if folders is None else folders)
        picked = [score for key, score in self.files.items() if key.split("/", 1)[0] in chosen]
        return (
            sum(s.tp for s in picked),
            sum(s.fn for s in picked),
            sum(s.fp for s in picked),
            sum(s.raw for s in picked),
        )


def score(corpus: Corpus, alarms: Mapping[str, list[int]], profile_name: str = "standard") -> Scores:
    """Score alarm rows with NAB's rules (every alarm row is a detection; no threshold fitted)."""
    profile = corpus.profiles[profile_name]
    files: dict[str, nab.FileScore] = {}
    for series in corpus.series:
        rows = set(alarms[series.key])
        detections = [i in rows for i in range(len(series.values))]
        files[series.key] = nab.score_file(series.timestamps, detections, series.windows, profile)
    return Scores(files, profile, corpus)


def folder_table(corpus: Corpus, alarms: Mapping[str, list[int]]) -> dict[str, dict[str, float | None]]:
    """Normalised score per folder (and ``corpus``) per profile."""
    table: dict[str, dict[str, float | None]] = defaultdict(dict)
    for name in PROFILE_NAMES:
        scores = score(corpus, alarms, name)
        for folder in corpus.folders:
            table[folder][name] = scores.normalised([folder])
        table["corpus"][name] = scores.normalised()
    return dict(table)
