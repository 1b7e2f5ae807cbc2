"""Dashboard API speed over local Delta tables (deltalake, no JVM): prints figures, asserts nothing.

Writes 1,000 jobs x 90 days of output tables (``tests/dashboard/synthetic.py``: every table the
dashboard reads, runs every 1-24 h, per-5-minute cluster metrics) with deltalake + pyarrow, then times
the fleet API and a job page API through the real FastAPI app (in-process HTTP client; the auth
dependency replaced by a fixed user, Airflow's token check is not what is measured):

* cold: the first request (opens every Delta log, reads every file);
* warm: the median and worst of ``--repeat`` further requests (Delta snapshots cached for
  ``refresh_seconds``, 5 s; data files read every time, from the OS page cache);
* warm, snapshot re-opened: the same with ``refresh_seconds=0`` (every request re-reads the Delta logs);
* a second job's page: its first request already finds the per-file cache the first job's filled.

Goals (issue 14): fleet <= 1 s, job page <= 0.5 s, warm.

    .venv/bin/python benchmarks/dashboard_benchmark.py [--jobs 1000 --days 90 --repeat 7] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "provider", ROOT / "include", ROOT / "tests" / "dashboard"):
    sys.path.insert(0, str(extra))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="dataops-bench-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


def _client(warehouse: Path, refresh_seconds: float):  # type: ignore[no-untyped-def]
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    from dataops_intelligence.dashboard.app import Backend, create_app
    from dataops_intelligence.dashboard.auth import require_read
    from dataops_intelligence.dashboard.silences import DeltaSilenceStore
    from dataops_intelligence.dashboard.tables import DeltaReader
    from dataops_jobs.config.models import Config
    from dataops_jobs.io import TableLocator

    locator = TableLocator(Config.model_validate({"local": {"warehouse_path": str(warehouse)}}), by_path=True)
    app = create_app(Backend(DeltaReader(locator, refresh_seconds=refresh_seconds), DeltaSilenceStore(locator),
                             "local"))
    app.dependency_overrides[require_read] = lambda: SimpleAuthManagerUser(username="bench", role="viewer")
    return TestClient(app)


def _time(client, path: str, repeat: int) -> tuple[float, list[float], int]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response = client.get(path)
    cold = time.perf_counter() - started
    response.raise_for_status()
    warm = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        warm.append(time.perf_counter() - started)
    return cold, warm, len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write (or reuse) the tables here instead of a temp dir")
    args = parser.parse_args()

    from synthetic import JOB_WITH_INCIDENT, write_tables

    warehouse = args.keep or Path(tempfile.mkdtemp(prefix="dataops-dashboard-bench-"))
    marker = warehouse / f".written-{args.jobs}x{args.days}"
    if not marker.exists():
        started = time.perf_counter()
        written = write_tables(warehouse, jobs=args.jobs, days=args.days, now=datetime.now(timezone.utc))
        marker.touch()
        print(f"tables written in {time.perf_counter() - started:.1f} s (deltalake, no JVM): "
              + ", ".join(f"{k} {v:,}" for k, v in written.rows.items()))
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")
    ws, job = JOB_WITH_INCIDENT
    other = f"/api/jobs/1002/{100 + args.jobs // 2 + (args.jobs // 2 + 1) % 2}"  # a job of the other workspace
    goals = {"/api/fleet": 1.0, f"/api/jobs/{ws}/{job}": 0.5, other: 0.5}
    for refresh, label in ((5.0, "snapshot cached 5 s"), (0.0, "snapshot re-opened")):
        client = _client(warehouse, refresh)
        for path, goal in goals.items():
            cold, warm, size = _time(client, path, args.repeat)
            median, worst = statistics.median(warm), max(warm)
            verdict = "meets" if median <= goal else "MISSES"
            print(f"{path:<22} {label:<20} cold {cold:6.3f} s   warm median {median:6.3f} s  worst {worst:6.3f} s"
                  f"   ({size / 1e6:.2f} MB JSON)   goal <= {goal} s warm: {verdict}")


if __name__ == "__main__":
    main()
