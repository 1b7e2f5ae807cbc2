"""NAB benchmark of the streaming detector: run ``detect_series`` on every CSV, score, print.

Usage (from the repository root)::

    .venv/bin/python benchmarks/nab_benchmark.py [--data ../shared/data/nab] [--out DIR]

The detector's own alarm column is the detection (threshold 1 on 0/1): nothing is fitted on the
labels, unlike NAB's scoreboard, where each detector's threshold is optimised on the corpus.
Prints figures only; it does not assert.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

REPO_ROOT = Path(__file__).resolve().parents[1]
# Lets `python benchmarks/nab_benchmark.py` run from a checkout where the packages are not installed.
for _source_dir in ("provider", "include"):
    if str(REPO_ROOT / _source_dir) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / _source_dir))

from dataops_intelligence.quality import nab  # noqa: E402
from dataops_intelligence.quality.detect_series import detect_series  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "nab"
PROFILE_NAMES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")

# Published detectors on the realAWSCloudwatch folder alone (NAB per-file results, NAB's
# corpus-wide optimised thresholds), from reference/nab.md: standard / low FP / low FN.
REFERENCE_AWS: tuple[tuple[str, float, float, float], ...] = (
    ("Numenta HTM", 73.4, 65.8, 76.7),
    ("CAD OSE", 71.5, 67.7, 75.8),
    ("ARTime", 69.5, 59.0, 75.2),
    ("KNN CAD", 60.7, 53.1, 64.9),
    ("earthgecko Skyline", 58.1, 45.2, 64.3),
    ("Random Cut Forest", 57.6, 44.9, 64.7),
    ("Relative Entropy", 50.0, 44.0, 53.3),
    ("Windowed Gaussian", 31.2, 4.9, 41.9),
    ("Null", 0.0, 0.0, 0.0),
)


def _read_alarms(path: Path) -> tuple[list[datetime], list[bool]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [nab.parse_timestamp(r["timestamp"]) for r in rows], [r["alarm"] == "1" for r in rows]


def _score_files(
    data: Path, out_dir: Path, profiles: dict[str, nab.CostProfile]
) -> tuple[dict[str, dict[str, nab.FileScore]], int]:
    windows = nab.load_windows(data / "labels" / "combined_windows.json")
    results: dict[str, dict[str, nab.FileScore]] = {name: {} for name in PROFILE_NAMES}
    for csv_path in sorted((data / "data").rglob("*.csv")):
        key = csv_path.relative_to(data / "data").as_posix()
        out_path = out_dir / key
        out_path.parent.mkdir(parents=True, exist_ok=True)
        detect_series(csv_path, out_path)
        timestamps, alarms = _read_alarms(out_path)
        for name in PROFILE_NAMES:
            results[name][key] = nab.score_file(timestamps, alarms, windows.get(key, []), profiles[name])
    n_windows = sum(len(windows.get(key, [])) for key in results["standard"])
    return results, n_windows


def _print_files(results: dict[str, dict[str, nab.FileScore]]) -> None:
    print(f"{'file':<52} {'win':>3} {'TP':>3} {'FN':>3} {'FP':>4} {'std raw':>8} {'lowFP':>7} {'lowFN':>7}")
    for key, std in results["standard"].items():
        low_fp = results["reward_low_FP_rate"][key].raw
        low_fn = results["reward_low_FN_rate"][key].raw
        print(
            f"{key:<52} {std.windows:>3} {std.tp:>3} {std.fn:>3} {std.fp:>4} "
            f"{std.raw:>8.3f} {low_fp:>7.3f} {low_fn:>7.3f}"
        )


def _print_totals(
    results: dict[str, dict[str, nab.FileScore]], profiles: dict[str, nab.CostProfile], n_windows: int
) -> None:
    std = results["standard"].values()
    print(
        f"\nwindows {n_windows}: TP {sum(s.tp for s in std)}, FN {sum(s.fn for s in std)}, "
        f"FP rows {sum(s.fp for s in std)}"
    )
    totals = [nab.corpus_score(results[name], n_windows, profiles[name]) for name in PROFILE_NAMES]
    print(f"{'StreamingDetector (this repo)':<34} {totals[0]:>8.2f} {totals[1]:>8.2f} {totals[2]:>8.2f}")


def _print_reference() -> None:
    print(f"\n{'published, realAWSCloudwatch':<34} {'standard':>8} {'low FP':>8} {'low FN':>8}")
    for name, standard, low_fp, low_fn in REFERENCE_AWS:
        print(f"{name:<34} {standard:>8.1f} {low_fp:>8.1f} {low_fn:>8.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print per-file and total scores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="NAB root (data/, labels/, config/)")
    parser.add_argument("--out", type=Path, default=None, help="keep the detector outputs here")
    args = parser.parse_args(argv)
    profiles_path = args.data / "config" / "profiles.json"
    profiles = nab.load_profiles(profiles_path) if profiles_path.exists() else nab.PROFILES
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        results, n_windows = _score_files(args.data, args.out or Path(tmp), profiles)
    _print_files(results)
    print(f"\n{'':<34} {'standard':>8} {'low FP':>8} {'low FN':>8}")
    _print_totals(results, profiles, n_windows)
    _print_reference()
    print(f"\n{len(results['standard'])} files in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
