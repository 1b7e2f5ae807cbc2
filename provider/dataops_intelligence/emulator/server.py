"""``DatabricksEmulator``: the threaded HTTP server that fronts ``EmulatorApp``."""

from __future__ import annotations

import json
import logging
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from dataops_intelligence.emulator.app import EmulatorApp, HttpRequest, HttpResponse, RequestRecord
from dataops_intelligence.emulator.auth import TokenAuthority, new_pat
from dataops_intelligence.emulator.faults import FaultInjector, FaultPlan
from dataops_intelligence.emulator.runs import RunManager, RunnerConfig
from dataops_intelligence.emulator.sql import SqlExecutor, StatementManager, default_sql_executor

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

log = logging.getLogger(__name__)

_MAX_BODY = 64 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer carrying the app; handler threads never block interpreter exit."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: EmulatorApp, workspace_id: int) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.workspace_id = workspace_id


class _Handler(BaseHTTPRequestHandler):
    """Wire layer: reads the request (Content-Length or chunked), writes a JSON answer."""

    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 60

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise ValueError(f"request body too large: {length} bytes")
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        try:
            body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            self._send(HttpResponse(413, {"error_code": "MALFORMED_REQUEST", "message": str(exc)}))
            return
        request = HttpRequest(self.command, split.path, query, self.headers.get("Authorization"), body)
        self._send(self.server.app.handle(request))

    def _send(self, response: HttpResponse) -> None:
        data = response.encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-databricks-org-id", str(self.server.workspace_id))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class DatabricksEmulator:
    """A local Databricks workspace REST API for tests and demos (never production).

    Serves Jobs ``runs/*`` under ``/api/2.1`` and ``/api/2.2``, SQL statements under ``/api/2.0``,
    host-metadata and OIDC discovery, an OAuth client-credentials token endpoint, and
    ``/emulator/faults`` + ``/emulator/requests``. Submitted ``spark_python_task`` and
    ``python_wheel_task`` tasks really run, as ``python`` subprocesses.

    Use as a context manager, or call ``start()``/``stop()``.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        oauth_clients: Mapping[str, str] | None = None,
        oauth_token_ttl_seconds: int = 3600,
        env: Mapping[str, str] | None = None,
        faults: FaultPlan | None = None,
        sql_executor: SqlExecutor | None = None,
        python: str | None = None,
        path_mapping: Mapping[str, str] | None = None,
        cluster_startup_seconds: float = 0.0,
        workspace_id: int = 1234567890123456,
        user_name: str = "emulator@example.com",
    ) -> None:
        self._host = host
        self._requested_port = port
        self._token = token or new_pat()
        self._workspace_id = workspace_id
        self._faults = FaultInjector(faults)
        config = RunnerConfig(
            python=python or sys.executable,
            env=dict(env or {}),
            path_mapping=dict(path_mapping or {}),
            cluster_startup_seconds=cluster_startup_seconds,
        )
        self._runs = RunManager(config, self._faults, lambda: self.url)
        auth = TokenAuthority(self._token, user_name, oauth_clients or {}, oauth_token_ttl_seconds)
        statements = StatementManager(sql_executor or default_sql_executor)
        self._app = EmulatorApp(self._runs, statements, auth, self._faults, lambda: self.url, workspace_id)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------------------- life cycle
    def start(self) -> DatabricksEmulator:
        """Bind the port and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        self._server = _Server((self._host, self._requested_port), self._app, self._workspace_id)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="databricks-emulator",
            daemon=True,
        )
        self._thread.start()
        log.info("Databricks emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Cancel active runs (killing their processes), then stop serving. Idempotent."""
        if self._server is None:
            return
        self._runs.shutdown()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = None
        self._thread = None

    def __enter__(self) -> DatabricksEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------------------- addresses
    @property
    def host(self) -> str:
        """The address the server binds (``127.0.0.1`` by default)."""
        return self._host

    @property
    def port(self) -> int:
        """The bound port (the ephemeral one when constructed with ``port=0``)."""
        if self._server is None:
            if self._requested_port:
                return self._requested_port
            raise RuntimeError("DatabricksEmulator.port is only known after start()")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://<host>:<port>``, the workspace URL to give clients."""
        return f"http://{self._host}:{self.port}"

    @property
    def token(self) -> str:
        """The personal access token every API call may use."""
        return self._token

    def airflow_connection_json(self) -> str:
        """JSON for ``AIRFLOW_CONN_<ID>`` that points the Databricks provider at this emulator."""
        return json.dumps(
            {
                "conn_type": "databricks",
                "host": self._host,
                "port": self.port,
                "schema": "http",
                "password": self._token,
            }
        )

    # ----------------------------------------------------------------------------- test helpers
    @property
    def requests(self) -> list[RequestRecord]:
        """The request log (method, path, endpoint, status, fault): never headers nor tokens."""
        return self._app.requests

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._app.clear_requests()

    @property
    def faults(self) -> FaultPlan:
        """The fault plan in force."""
        return self._faults.plan

    def set_faults(self, plan: FaultPlan | None) -> None:
        """Install a fault plan at runtime (None: no faults); resets RNG and counters."""
        self._faults.install(plan or FaultPlan())

    @property
    def run_ids(self) -> list[int]:
        """Ids of every run submitted so far, in order."""
        return self._runs.run_ids
