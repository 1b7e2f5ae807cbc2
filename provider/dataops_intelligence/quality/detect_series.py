"""Run the streaming detector over a NAB-style CSV (``timestamp,value``) and write its verdicts.

Output columns: ``timestamp,value,anomaly_score,alarm`` (alarm is 0/1, decided by the detector's
own threshold). Used by ``dataops detect-series IN.csv OUT.csv`` and by the NAB benchmark.
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dataops_jobs.anomaly.streaming import StreamingDetector

if TYPE_CHECKING:
    from collections.abc import Sequence

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_BAD_INPUT = 2
INPUT_HEADER = ("timestamp", "value")
OUTPUT_HEADER = ("timestamp", "value", "anomaly_score", "alarm")


class SeriesFormatError(ValueError):
    """Raised when an input CSV is not ``timestamp,value`` with parseable rows; names file and line."""

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path = str(path)
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class SeriesRow:
    """One input row, keeping the timestamp text so the output repeats it verbatim."""

    text: str
    timestamp: datetime
    value: float


def _parse_row(path: str | Path, line: int, row: list[str]) -> SeriesRow:
    if len(row) != len(INPUT_HEADER):
        raise SeriesFormatError(path, line, f"expected 2 fields (timestamp,value), got {len(row)}: {row!r}")
    text, raw_value = row[0].strip(), row[1].strip()
    try:
        timestamp = datetime.fromisoformat(text)
    except ValueError:
        raise SeriesFormatError(
            path, line, f"expected an ISO timestamp like 2014-02-14 14:30:00, got {text!r}"
        ) from None
    try:
        value = float(raw_value)
    except ValueError:
        raise SeriesFormatError(path, line, f"expected a number for value, got {raw_value!r}") from None
    if not math.isfinite(value):
        raise SeriesFormatError(path, line, f"expected a finite number for value, got {raw_value!r}")
    return SeriesRow(text, timestamp, value)


def read_series(path: str | Path) -> list[SeriesRow]:
    """Read and validate a ``timestamp,value`` CSV (header required)."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise SeriesFormatError(path, 1, "empty file, expected header 'timestamp,value'")
        if tuple(cell.strip().lower() for cell in header) != INPUT_HEADER:
            raise SeriesFormatError(path, 1, f"expected header 'timestamp,value', got {','.join(header)!r}")
        rows = [_parse_row(path, reader.line_num, row) for row in reader if row]
    if not rows:
        raise SeriesFormatError(path, 2, "no data rows after the header")
    return rows


def detect_series(in_csv: str | Path, out_csv: str | Path) -> int:
    """Score every row of ``in_csv`` causally and write ``out_csv``; returns the number of alarms."""
    rows = read_series(in_csv)
    detector = StreamingDetector()
    alarms = 0
    with Path(out_csv).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUTPUT_HEADER)
        for row in rows:
            result = detector.update(row.timestamp, row.value)
            alarms += int(result.alarm)
            writer.writerow([row.text, repr(row.value), f"{result.score:.6f}", int(result.alarm)])
    log.info("%s: %d rows, %d alarms -> %s", in_csv, len(rows), alarms, out_csv)
    return alarms


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dataops detect-series",
        description="Run the streaming anomaly detector over a timestamp,value CSV.",
    )
    parser.add_argument("input", type=Path, help="input CSV with header timestamp,value")
    parser.add_argument("output", type=Path, help="output CSV: timestamp,value,anomaly_score,alarm")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; exit code 2 on unreadable or malformed input."""
    args = _parser().parse_args(argv)
    try:
        alarms = detect_series(args.input, args.output)
    except SeriesFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: {exc.filename or args.input}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{args.output}: {alarms} alarm(s)")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
