"""``DataOpsSparkSubmitHook``: run an application with the ``spark-submit`` binary (the on-prem case).

``apache-airflow-providers-apache-spark`` is not part of our pinned stack, so this small hook takes
the master from an Airflow connection (``spark://host:7077``, ``yarn``, ``k8s://...``, ``local[2]``;
``host`` plus optional ``port``, extras ``deploy-mode``/``spark-home``), or from an explicit ``master``,
and runs ``spark-submit`` from ``$SPARK_HOME/bin`` or from the installed pyspark. The subprocess gets
its own process group so ``kill`` stops the driver and everything it started.
"""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk.bases.hook import BaseHook

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

TAIL_LINES = 60


@dataclass(frozen=True)
class SubmitOutcome:
    """How a spark-submit ended: exit code and the last lines it printed (stdout and stderr)."""

    returncode: int
    lines: tuple[str, ...]


def spark_submit_binary(spark_home: str | None = None) -> str:
    """``<spark_home>/bin/spark-submit``; default ``$SPARK_HOME`` or the installed pyspark's bin dir."""
    home = spark_home or os.environ.get("SPARK_HOME")
    if not home:
        spec = importlib.util.find_spec("pyspark")
        if spec is None or spec.origin is None:
            raise FileNotFoundError("spark-submit not found: set SPARK_HOME or install pyspark")
        home = str(Path(spec.origin).parent)
    return str(Path(home) / "bin" / "spark-submit")


class DataOpsSparkSubmitHook(BaseHook):
    """Runs ``spark-submit`` against the master of a Spark connection (or an explicit one)."""

    conn_name_attr = "spark_conn_id"
    default_conn_name = "spark_default"
    hook_name = "DataOps spark-submit"

    def __init__(
        self,
        spark_conn_id: str = default_conn_name,
        *,
        master: str | None = None,
        conf: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.spark_conn_id = spark_conn_id
        self._master = master
        self.conf = dict(conf or {})
        self.env = dict(env or {})
        self._proc: subprocess.Popen[str] | None = None

    @cached_property
    def _extra(self) -> dict[str, Any]:
        if self._master:
            return {}
        return dict(self.get_connection(self.spark_conn_id).extra_dejson)

    @cached_property
    def master(self) -> str:
        """The master URL: explicit, else the connection's host (and port)."""
        if self._master:
            return self._master
        conn = self.get_connection(self.spark_conn_id)
        if not conn.host:
            raise ValueError(f"connection {self.spark_conn_id!r} has no host (the Spark master)")
        return f"{conn.host}:{conn.port}" if conn.port else str(conn.host)

    def build_command(self, app: str, args: Sequence[str], name: str) -> list[str]:
        """The spark-submit argv (no secrets: conf comes from config, not from the connection)."""
        cmd = [spark_submit_binary(self._extra.get("spark-home")), "--master", self.master, "--name", name]
        if self._extra.get("deploy-mode"):
            cmd += ["--deploy-mode", str(self._extra["deploy-mode"])]
        for key, value in sorted(self.conf.items()):
            cmd += ["--conf", f"{key}={value}"]
        return [*cmd, app, *args]

    def submit(
        self, app: str, args: Sequence[str], name: str, on_line: Callable[[str], None]
    ) -> SubmitOutcome:
        """Run to the end, handing every output line to ``on_line``; return the exit code and tail."""
        env = {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
               **os.environ, **self.env}
        tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._proc = subprocess.Popen(
            self.build_command(app, args, name), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", env=env, start_new_session=True,
        )
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.rstrip("\n")
            tail.append(line)
            on_line(line)
        return SubmitOutcome(self._proc.wait(), tuple(tail))

    def kill(self) -> None:
        """SIGTERM the spark-submit process group (driver included)."""
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGTERM)
