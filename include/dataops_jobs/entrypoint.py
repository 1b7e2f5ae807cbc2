"""Thin job entrypoint: ``dataops-job <stage> --config FILE --interval-end ISO``.

The same command runs on Databricks (``spark_python_task`` / ``python_wheel_task``), under
spark-submit and locally. It parses arguments, loads the config, gets the session and runs one stage
(or the whole cycle); the last stdout line is ``DATAOPS_RESULT <json>`` for the caller to parse.

Exit codes: 0 done, 2 configuration error, 3 a source table cannot be read, 4 a Delta write failed,
1 anything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataops_jobs.errors import ConfigError

if TYPE_CHECKING:
    from dataops_jobs.config import Config

log = logging.getLogger("dataops_jobs")
RESULT_PREFIX = "DATAOPS_RESULT "
EXIT_CONFIG, EXIT_SOURCE, EXIT_WRITE, EXIT_OTHER = 2, 3, 4, 1


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def build_parser() -> argparse.ArgumentParser:
    """Arguments shared by every stage."""
    from dataops_jobs.cycle import STAGES

    parser = argparse.ArgumentParser(prog="dataops-job", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=[*STAGES, "cycle"], help="stage to run, or the whole cycle")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", type=Path, help="base YAML config file")
    src.add_argument("--config-json", help="validated config as JSON (what operators send to Databricks)")
    parser.add_argument("--env", default=None, help="environment overlay (dev, staging, prod)")
    parser.add_argument("--interval-end", type=_parse_time, default=None,
                        help="end of the data interval, ISO 8601 UTC (default: now)")
    parser.add_argument("--interval-start", type=_parse_time, default=None,
                        help="start of the data interval (default: end minus 30 minutes)")
    parser.add_argument("--result-file", type=Path, default=None, help="also write the JSON result here")
    return parser


def load(args: argparse.Namespace) -> Config:
    """The validated config from a file or from JSON."""
    from dataops_jobs.config import load_config, load_config_from_dict

    if args.config_json:
        return load_config_from_dict(json.loads(args.config_json), source="--config-json")
    return load_config(args.config, env=args.env)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the requested stage(s) and return the JSON-safe result."""
    from dataops_jobs.collectors import Interval
    from dataops_jobs.cycle import DataOpsOrchestrator
    from dataops_jobs.session import spark_for

    config = load(args)
    end = args.interval_end or datetime.now(timezone.utc)
    start = args.interval_start or end - timedelta(minutes=30)
    spark = spark_for(config)
    orchestrator = DataOpsOrchestrator(spark, config)
    interval = Interval(start, end)
    if args.stage == "cycle":
        return orchestrator.run_cycle(interval).to_dict()
    return {"stage": args.stage, **orchestrator.run_stage(args.stage, interval)}


def main(argv: list[str] | None = None) -> int:
    """Console entry point (``dataops-job``) and ``python -m dataops_jobs``."""
    from dataops_jobs.io import DeltaWriteError, SourceTableError
    from dataops_jobs.logs import configure_logging

    configure_logging()
    args = build_parser().parse_args(argv)
    try:
        result = run(args)
    except ConfigError as exc:
        from dataops_jobs.config import format_config_error

        print(format_config_error(exc), file=sys.stderr)
        return EXIT_CONFIG
    except SourceTableError as exc:
        log.error("source table error: %s", exc)
        return EXIT_SOURCE
    except DeltaWriteError as exc:
        log.error("delta write failed: %s", exc)
        return EXIT_WRITE
    text = json.dumps(result, default=str)
    if args.result_file:
        args.result_file.write_text(text)
    print(RESULT_PREFIX + text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
