"""``python -m dataops_intelligence.emulator``: serve the Databricks emulator for a demo."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import TYPE_CHECKING

from dataops_intelligence.emulator.faults import FaultPlan
from dataops_intelligence.emulator.server import DatabricksEmulator

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

    from dataops_intelligence.emulator.sql import SqlExecutor


def _pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep:
            raise SystemExit(f"{flag} expects KEY=VALUE, got {value!r}")
        pairs[key] = rest
    return pairs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dataops_intelligence.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", help="PAT accepted by the API (random if omitted, then printed)")
    parser.add_argument("--oauth-client", action="append", default=[], metavar="ID=SECRET")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="task env var")
    parser.add_argument("--path-map", action="append", default=[], metavar="PREFIX=DIR")
    parser.add_argument("--faults", help="FaultPlan as JSON, e.g. '{\"error_rate\": 0.2}'")
    parser.add_argument(
        "--spark-sql", action="store_true",
        help="answer /api/2.0/sql/statements on a local SparkSession (configured by SPARK_CONF_DIR, e.g. "
             "Delta plus a metastore where the output tables resolve by name) instead of literal SELECTs only",
    )
    return parser


def _sql_executor(enabled: bool) -> SqlExecutor | None:
    if not enabled:
        return None
    from pyspark.sql import SparkSession

    from dataops_intelligence.emulator.spark_sql import SparkSqlExecutor

    return SparkSqlExecutor(SparkSession.builder.appName("dataops-emulator-sql").getOrCreate())


def main(argv: Sequence[str] | None = None) -> int:
    """Start the emulator, print its URL (first line of stdout) and serve until SIGINT/SIGTERM."""
    args = _parser().parse_args(argv)
    plan = FaultPlan.from_dict(json.loads(args.faults)) if args.faults else None
    emulator = DatabricksEmulator(
        host=args.host,
        port=args.port,
        token=args.token,
        oauth_clients=_pairs(args.oauth_client, "--oauth-client"),
        env=_pairs(args.env, "--env"),
        path_mapping=_pairs(args.path_map, "--path-map"),
        faults=plan,
        sql_executor=_sql_executor(args.spark_sql),
    )
    stopped = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with emulator:
        print(emulator.url, flush=True)
        if not args.token:
            print(f"token: {emulator.token}", flush=True)
        stopped.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
