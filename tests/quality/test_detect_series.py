"""The detect-series CSV command: happy path and malformed input (exit code 2, file and line)."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from dataops_intelligence.quality.detect_series import SeriesFormatError, detect_series, main

if TYPE_CHECKING:
    from pathlib import Path


def _write_series(path: Path, values: list[float]) -> None:
    start = datetime(2014, 2, 14, 14, 30)
    lines = ["timestamp,value"]
    lines += [f"{start + timedelta(minutes=5 * i):%Y-%m-%d %H:%M:%S},{v}" for i, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")


def test_detect_series_writes_scores_and_alarms(tmp_path: Path) -> None:
    values = [10.0 + (i % 7) * 0.1 for i in range(600)]
    values[450] = 100.0
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_series(src, values)

    assert detect_series(src, dst) == 1
    with dst.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score", "alarm"]
    assert len(rows) == 600
    assert [i for i, row in enumerate(rows) if row["alarm"] == "1"] == [450]
    assert rows[0]["timestamp"] == "2014-02-14 14:30:00"
    assert all(0.0 <= float(row["anomaly_score"]) <= 1.0 for row in rows)


def test_main_returns_0_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_series(src, [1.0] * 50)
    assert main([str(src), str(dst)]) == 0
    assert "0 alarm(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "line", "expected"),
    [
        ("", 1, "empty file"),
        ("time,val\n2014-02-14 14:30:00,1\n", 1, "expected header 'timestamp,value'"),
        ("timestamp,value\n", 2, "no data rows"),
        ("timestamp,value\n2014-02-14 14:30:00,1\n2014-02-14 14:35:00,abc\n", 3, "expected a number"),
        ("timestamp,value\nyesterday,1\n", 2, "expected an ISO timestamp"),
        ("timestamp,value\n2014-02-14 14:30:00,1,2\n", 2, "expected 2 fields"),
        ("timestamp,value\n2014-02-14 14:30:00,nan\n", 2, "finite"),
    ],
)
def test_malformed_csv_exits_2_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, line: int, expected: str
) -> None:
    src = tmp_path / "bad.csv"
    src.write_text(content)
    assert main([str(src), str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert f"{src}:{line}:" in err
    assert expected in err
    with pytest.raises(SeriesFormatError) as info:
        detect_series(src, tmp_path / "out2.csv")
    assert info.value.line == line


def test_missing_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.csv"
    assert main([str(missing), str(tmp_path / "out.csv")]) == 2
    assert str(missing) in capsys.readouterr().err
