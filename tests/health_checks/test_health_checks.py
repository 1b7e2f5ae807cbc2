"""Each health check fails with a clear message when its precondition is broken."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
import yaml

from dataops_jobs.config.models import Config

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pyspark.sql import SparkSession


def make_config(tmp_path: Path) -> Config:
    return Config.model_validate({"local": {"system_tables_path": str(tmp_path / "system"),
                                            "warehouse_path": str(tmp_path / "wh")}})


@pytest.fixture(scope="module")
def system_tables(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Empty Delta tables with the exact system-table schemas (cheaper than a simulation)."""
    from dataops_jobs.schemas.system import SYSTEM_TABLES

    root = tmp_path_factory.mktemp("system")
    for key, schema in SYSTEM_TABLES.items():
        spark.createDataFrame([], schema).write.format("delta").save(str(root / key.replace(".", "/")))
    return root


@pytest.mark.spark
def test_source_tables_missing_table_and_missing_column(
    spark: SparkSession, system_tables: Path, tmp_path: Path
) -> None:
    from dataops_intelligence.health_checks import HealthCheckFailed, check_source_tables, raise_on_failure
    from dataops_jobs.schemas.system import SYSTEM_TABLES

    system = tmp_path / "system"
    shutil.copytree(system_tables, system)
    config = make_config(tmp_path)
    assert all(r.ok for r in check_source_tables(spark, config))

    shutil.rmtree(system / "lakeflow" / "jobs")
    narrow = SYSTEM_TABLES["billing.usage"]
    shutil.rmtree(system / "billing" / "usage")
    spark.createDataFrame([], narrow).drop("usage_quantity").write.format("delta").save(
        str(system / "billing" / "usage"))

    with pytest.raises(HealthCheckFailed) as err:
        raise_on_failure(check_source_tables(spark, config))
    message = str(err.value)
    assert "2 of 9 health check(s) failed" in message
    assert "[FAIL] source_tables system.lakeflow.jobs: cannot read system.lakeflow.jobs" in message
    assert "table not found" in message
    assert "[FAIL] source_tables system.billing.usage: missing expected column(s): usage_quantity" in message


def _read_only(path: Path) -> None:
    path.chmod(0o555)
    if os.geteuid() == 0:  # root ignores mode bits: the immutable attribute stops it too
        subprocess.run(["chattr", "+i", str(path)], check=True)


def _writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=False)
    path.chmod(0o755)


@pytest.mark.spark
def test_output_location_writable_then_read_only(spark: SparkSession, tmp_path: Path) -> None:
    from dataops_intelligence.health_checks import check_output_writable

    config = make_config(tmp_path)
    ok = check_output_writable(spark, config)
    assert ok.ok, ok.reason

    location = tmp_path / "ro"
    location.mkdir()
    config = Config.model_validate({"local": {"warehouse_path": str(location)}})
    if os.geteuid() == 0 and shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a directory read-only")
    _read_only(location)
    try:
        failed = check_output_writable(spark, config)
    finally:
        _writable(location)
    assert not failed.ok
    assert failed.check == "output_writable"
    assert failed.reason.startswith("output location is not writable (write of a probe row failed)")
    assert str(location) in failed.target


class _Sink(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        type(self).bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def sink() -> Iterator[int]:
    _Sink.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rules_file(tmp_path: Path, test_endpoint: bool) -> Path:
    options: dict[str, Any] = {"endpoint": "/alerts", "secret_env": "HC_SECRET"}
    if test_endpoint:
        options["test_endpoint"] = "/alerts-test"
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"channels": {"hook": {"type": "webhook", "conn_id": "hc_hook",
                                                          "options": options}}, "rules": []}))
    return path


def _conn(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    monkeypatch.setenv("HC_SECRET", "s3cret")
    monkeypatch.setenv("AIRFLOW_CONN_HC_HOOK", json.dumps(
        {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http"}))


def test_channel_test_message_delivered_then_channel_down(
    tmp_path: Path, sink: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataops_intelligence.health_checks import check_channels

    config = make_config(tmp_path)
    rules = str(rules_file(tmp_path, test_endpoint=True))
    _conn(monkeypatch, sink)
    (ok,) = check_channels(config, rules)
    assert ok.ok, ok.reason
    assert _Sink.bodies[0]["alerts"][0]["rule"] == "health_check"

    _conn(monkeypatch, closed_port())
    (down,) = check_channels(config, rules)
    assert not down.ok
    assert down.target == "hook (webhook, test destination)"
    assert down.reason.startswith("test message not delivered:")


def test_channel_dry_run_reaches_or_reports_down(tmp_path: Path, sink: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataops_intelligence.health_checks import check_channels

    config = make_config(tmp_path)
    rules = str(rules_file(tmp_path, test_endpoint=False))
    _conn(monkeypatch, sink)
    (ok,) = check_channels(config, rules)
    assert ok.ok
    assert "nothing sent" in ok.reason
    assert _Sink.bodies == []

    port = closed_port()
    _conn(monkeypatch, port)
    (down,) = check_channels(config, rules)
    assert not down.ok
    assert down.line().startswith(f"[FAIL] alert_channels hook (webhook, dry-run): 127.0.0.1:{port}")
    assert "unreachable" in down.reason
