"""The deferred flush of the Airflow-event outbox: ``python -m dataops_intelligence.alerting.flusher``.

Started detached by :class:`~dataops_intelligence.notifiers.DataOpsNotifier` when a callback leaves
something behind (a delivery that failed or ran out of send budget, a group inside its group_wait or
group_interval). It sleeps until the next item is due, flushes with the channels' full retry policy
(the configuration is read again every round, so a fixed connection is picked up), and exits when
nothing is left or after ``--max-seconds``. One flusher per state file (``<state>.flusher.lock``);
before exiting it looks once more, so an event that arrived while it was finishing is not stranded.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

log = logging.getLogger(__name__)
MAX_SLEEP = 30.0


def _lock_path(state_path: Path) -> Path:
    return Path(f"{state_path}.flusher.lock")


@contextmanager
def _exclusive(state_path: Path, *, record_pid: bool = False) -> Iterator[bool]:
    """Try the flusher lock without waiting: yields whether this process holds it."""
    with open(_lock_path(state_path), "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            if record_pid:  # who holds it (tests stop the flusher they caused by this id)
                handle.truncate(0)
                handle.write(str(os.getpid()))
                handle.flush()
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def flusher_pid(state_path: Path) -> int | None:
    """The process id of the running flusher of this state file, None when none runs."""
    if not flusher_running(state_path):
        return None
    text = _lock_path(state_path).read_text().strip()
    return int(text) if text.isdigit() else None


def flusher_running(state_path: Path) -> bool:
    """Whether a flusher currently holds the lock of this state file."""
    with _exclusive(state_path) as mine:
        return not mine


def _round(args: argparse.Namespace) -> float | None:
    """One flush; seconds until the next item is due, None when nothing is left."""
    from dataops_intelligence.notifiers import notifier_manager, seconds_until_work

    manager = notifier_manager(args.rules, args.state, args.group_by.split(","), args.group_wait)
    report = manager.flush_outbox()
    if report.sent or report.failed:
        log.info("deferred flush: %d sent, %d failed", len(report.sent), len(report.failed))
    return seconds_until_work(manager)


def run(args: argparse.Namespace) -> int:
    """Flush until idle (checking once more after releasing the lock) or ``max_seconds``."""
    deadline = time.monotonic() + args.max_seconds
    while time.monotonic() < deadline:
        with _exclusive(args.state, record_pid=True) as mine:
            if not mine:
                return 0  # another flusher owns this outbox
            wait = _round(args)
            while wait is not None and time.monotonic() < deadline:
                time.sleep(min(max(wait, 0.2), MAX_SLEEP))
                wait = _round(args)
        from dataops_intelligence.notifiers import notifier_manager, seconds_until_work

        manager = notifier_manager(args.rules, args.state, args.group_by.split(","), args.group_wait)
        if seconds_until_work(manager) is None:
            return 0
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dataops_intelligence.alerting.flusher", description=__doc__
    )
    parser.add_argument("--rules", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--group-by", default="rule,dag_id")
    parser.add_argument("--group-wait", type=float, default=0.0)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except Exception as err:  # a log line, not a traceback with connection details
        from dataops_intelligence.alerting.redact import redact

        log.error("deferred flush failed: %s", redact(err))
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
