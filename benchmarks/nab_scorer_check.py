"""Check our NAB scorer against NAB's own stored per-file scores of published detectors.

Usage (from the repository root, with a NAB checkout, e.g. ``git clone https://github.com/numenta/NAB``)::

    .venv/bin/python benchmarks/nab_scorer_check.py --nab PATH/TO/NAB [--data ../shared/data/nab]
        [--detectors numenta contextOSE ARTime knncad windowedGaussian]

For each detector and profile it reads NAB's ``results/<det>/<det>_<profile>_scores.csv`` (threshold
and per-file score written by NAB's own sweeper), thresholds the stored ``anomaly_score`` column of
every result file that lies in our corpus with that threshold, scores it with
:mod:`dataops_intelligence.quality.nab` and prints the largest per-file difference and both totals.
Prints figures only; it does not assert.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING

REPO_ROOT = Path(__file__).resolve().parents[1]
for _source_dir in ("provider", "include"):
    if str(REPO_ROOT / _source_dir) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / _source_dir))

from dataops_intelligence.quality import nab  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "nab"
DEFAULT_DETECTORS = ("numenta", "contextOSE", "ARTime", "knncad", "windowedGaussian")


def _stored_scores(path: Path) -> tuple[float, dict[str, float]]:
    """NAB's per-file scores and the threshold it used (same for every file)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["File"] and r["File"] != "Totals"]
    return float(rows[0]["Threshold"]), {r["File"]: float(r["Score"]) for r in rows}


def _result_file(nab_root: Path, detector: str, key: str) -> Path:
    folder, name = key.split("/", 1)
    return nab_root / "results" / detector / folder / f"{detector}_{name}"


def check_detector(
    nab_root: Path,
    detector: str,
    keys: Sequence[str],
    windows: dict[str, list[nab.Window]],
    profile: nab.CostProfile,
) -> tuple[float, float, float, int]:
    """(max per-file |ours - NAB|, our total, NAB's total, files compared) for one detector and profile."""
    threshold, stored = _stored_scores(
        nab_root / "results" / detector / f"{detector}_{profile.name}_scores.csv"
    )
    worst, ours_total, theirs_total, compared = 0.0, 0.0, 0.0, 0
    for key in keys:
        path = _result_file(nab_root, detector, key)
        if key not in stored or not path.exists():
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        stamps = [nab.parse_timestamp(r["timestamp"]) for r in rows]
        detections = nab.detections_at([float(r["anomaly_score"]) for r in rows], threshold)
        ours = nab.score_file(stamps, detections, windows.get(key, []), profile).raw
        worst = max(worst, abs(ours - stored[key]))
        ours_total += ours
        theirs_total += stored[key]
        compared += 1
    return worst, ours_total, theirs_total, compared


def main(argv: Sequence[str] | None = None) -> int:
    """Print, per detector and profile, how far our scorer is from NAB's stored scores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nab", type=Path, required=True, help="a checkout of numenta/NAB (results/ folder)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="our NAB corpus (data/, labels/)")
    parser.add_argument("--detectors", nargs="+", default=list(DEFAULT_DETECTORS))
    args = parser.parse_args(argv)
    windows = nab.load_windows(args.data / "labels" / "combined_windows.json")
    keys = sorted(p.relative_to(args.data / "data").as_posix() for p in (args.data / "data").rglob("*.csv"))
    print(f"{'detector':<18} {'profile':<20} {'files':>5} {'max |diff|':>11} {'ours':>10} {'NAB':>10}")
    for detector in args.detectors:
        for profile in nab.PROFILES.values():
            worst, ours, theirs, count = check_detector(args.nab, detector, keys, windows, profile)
            print(
                f"{detector:<18} {profile.name:<20} {count:>5} {worst:>11.2e} {ours:>10.4f} {theirs:>10.4f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
