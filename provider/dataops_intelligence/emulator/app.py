"""Routing, authentication, fault injection and the request log, independent of the HTTP server."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dataops_intelligence.emulator.errors import ApiError, OAuthError, invalid_parameter
from dataops_intelligence.emulator.faults import FaultInjector, FaultPlan

if TYPE_CHECKING:
    from dataops_intelligence.emulator.auth import Principal, TokenAuthority
    from dataops_intelligence.emulator.runs import RunManager
    from dataops_intelligence.emulator.sql import StatementManager

log = logging.getLogger(__name__)

_REQUEST_LOG_SIZE = 10_000


@dataclass(frozen=True)
class HttpRequest:
    """A parsed request: only what routing needs (no other header is kept)."""

    method: str
    path: str
    query: Mapping[str, str]
    authorization: str | None
    body: bytes


@dataclass(frozen=True)
class HttpResponse:
    """A JSON answer; ``fault`` names the injected fault, if any."""

    status: int
    payload: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    fault: str | None = None

    def encode(self) -> bytes:
        """The JSON body as bytes."""
        return json.dumps(self.payload).encode()


@dataclass(frozen=True)
class RequestRecord:
    """One entry of the request log; never holds headers, bodies, parameter values or tokens.

    ``query_keys`` and ``body_bytes`` show how parameters travelled (e.g. a GET with a JSON body).
    """

    method: str
    path: str
    endpoint: str | None
    status: int
    fault: str | None
    duration_ms: float
    at: float
    query_keys: tuple[str, ...] = ()
    body_bytes: int = 0


@dataclass(frozen=True)
class ApiCall:
    """What an endpoint handler receives: merged query/JSON parameters, path groups, caller."""

    params: Mapping[str, Any]
    groups: Mapping[str, str]
    principal: Principal


Handler = Callable[[ApiCall], Mapping[str, Any]]


def _run_id(call: ApiCall) -> int:
    value = call.params.get("run_id")
    if value in (None, ""):
        raise invalid_parameter("Missing required field: run_id")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_parameter(f"Invalid run_id: {value!r}") from None


class EmulatorApp:
    """Maps requests to the Jobs, SQL, OIDC and ``/emulator`` endpoints.

    Order for ``/api`` calls: route (404) -> authenticate (401/403) -> parse JSON (400) -> injected
    fault (delay, error) -> handler. A fault is decided before the handler runs, so an injected error
    has no side effect, except ``submit_commit_then_fail``.
    """

    def __init__(
        self,
        runs: RunManager,
        statements: StatementManager,
        auth: TokenAuthority,
        faults: FaultInjector,
        base_url: Callable[[], str],
        workspace_id: int,
    ) -> None:
        self.runs = runs
        self.statements = statements
        self.auth = auth
        self.faults = faults
        self._base_url = base_url
        self._workspace_id = workspace_id
        self._log: deque[RequestRecord] = deque(maxlen=_REQUEST_LOG_SIZE)
        self._log_lock = threading.Lock()
        self._routes = self._build_routes()

    # ----------------------------------------------------------------------------- request log
    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, oldest first."""
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._log_lock:
            self._log.clear()

    # ----------------------------------------------------------------------------- entry point
    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request and log it."""
        started = time.monotonic()
        endpoint: str | None = None
        try:
            endpoint, response = self._answer(request)
        except ApiError as err:
            response = HttpResponse(err.status, err.body(), err.headers)
        except OAuthError as err:
            response = HttpResponse(err.status, {"error": err.error, "error_description": err.description})
        except Exception as exc:  # never drop a connection without an answer
            log.exception("Emulator bug while answering %s %s", request.method, request.path)
            response = HttpResponse(
                500, {"error_code": "INTERNAL_ERROR", "message": f"Emulator error: {exc!r}"}
            )
        record = RequestRecord(
            request.method,
            request.path,
            endpoint,
            response.status,
            response.fault,
            (time.monotonic() - started) * 1000,
            time.time(),
            tuple(sorted(request.query)),
            len(request.body),
        )
        with self._log_lock:
            self._log.append(record)
        return response

    def _answer(self, request: HttpRequest) -> tuple[str | None, HttpResponse]:
        public = self._public(request)
        if public is not None:
            return None, public
        for method, pattern, name, handler in self._routes:
            match = pattern.match(request.path)
            if match is None or method != request.method:
                continue
            principal = self.auth.authenticate(request.authorization)
            params = {**_json_body(request.body), **request.query}
            call = ApiCall(params, match.groupdict(), principal)
            if name.startswith("emulator/"):
                return name, HttpResponse(200, handler(call))
            return name, self._with_faults(name, handler, call)
        raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{request.method} {request.path}'")

    def _with_faults(self, name: str, handler: Handler, call: ApiCall) -> HttpResponse:
        decision = self.faults.before_call(name)
        if decision is not None:
            if decision.delay_seconds:
                time.sleep(decision.delay_seconds)
            if decision.error is not None:
                err = decision.error
                return HttpResponse(err.status, err.body(), err.headers, fault=decision.kind)
        payload = handler(call)
        if name == "jobs/runs/submit":
            failure = self.faults.commit_then_fail()
            if failure is not None:
                return HttpResponse(
                    failure.status, failure.body(), failure.headers, fault="submit_commit_then_fail"
                )
        return HttpResponse(200, payload, fault=decision.kind if decision else None)

    # ----------------------------------------------------------------------------- unauthenticated
    def _public(self, request: HttpRequest) -> HttpResponse | None:
        base = self._base_url()
        if request.method == "GET" and request.path == "/.well-known/databricks-config":
            return HttpResponse(
                200, {"oidc_endpoint": f"{base}/oidc", "workspace_id": str(self._workspace_id)}
            )
        if request.method == "GET" and request.path == "/oidc/.well-known/oauth-authorization-server":
            return HttpResponse(
                200,
                {
                    "issuer": f"{base}/oidc",
                    "authorization_endpoint": f"{base}/oidc/v1/authorize",
                    "token_endpoint": f"{base}/oidc/v1/token",
                    "grant_types_supported": ["client_credentials"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                    "scopes_supported": ["all-apis"],
                },
            )
        if request.method == "POST" and request.path == "/oidc/v1/token":
            form = dict(urllib.parse.parse_qsl(request.body.decode("utf-8", "replace")))
            form.update(request.query)
            return HttpResponse(200, self.auth.issue_token(request.authorization, form))
        return None

    # ----------------------------------------------------------------------------- routes
    def _build_routes(self) -> list[tuple[str, re.Pattern[str], str, Handler]]:
        jobs = r"^/api/2\.[12]/jobs/runs/"
        sql = r"^/api/2\.0/sql/statements"
        table: list[tuple[str, str, str, Handler]] = [
            ("POST", jobs + r"submit$", "jobs/runs/submit", self._submit),
            ("GET", jobs + r"get$", "jobs/runs/get", lambda c: self.runs.get(_run_id(c))),
            ("GET", jobs + r"get-output$", "jobs/runs/get-output", lambda c: self.runs.output(_run_id(c))),
            ("POST", jobs + r"cancel$", "jobs/runs/cancel", self._cancel),
            ("POST", jobs + r"cancel-all$", "jobs/runs/cancel-all", self._cancel_all),
            ("GET", jobs + r"list$", "jobs/runs/list", lambda c: self.runs.list_runs(c.params)),
            ("POST", sql + r"/?$", "sql/statements", lambda c: self.statements.execute(c.params)),
            ("GET", sql + r"/(?P<sid>[^/]+)$", "sql/statements/{statement_id}", self._statement),
            (
                "POST",
                sql + r"/(?P<sid>[^/]+)/cancel$",
                "sql/statements/{statement_id}/cancel",
                self._cancel_sql,
            ),
            (
                "GET",
                sql + r"/(?P<sid>[^/]+)/result/chunks/(?P<n>\d+)$",
                "sql/statements/{statement_id}/result/chunks/{chunk_index}",
                lambda c: self.statements.chunk(c.groups["sid"], int(c.groups["n"])),
            ),
            ("GET", r"^/emulator/faults$", "emulator/faults", lambda c: self.faults.plan.to_dict()),
            ("POST", r"^/emulator/faults$", "emulator/faults", self._set_faults),
            ("GET", r"^/emulator/requests$", "emulator/requests", self._request_log),
        ]
        return [(m, re.compile(p), name, h) for m, p, name, h in table]

    def _submit(self, call: ApiCall) -> Mapping[str, Any]:
        return {"run_id": self.runs.submit(call.params, call.principal.name)}

    def _cancel(self, call: ApiCall) -> Mapping[str, Any]:
        self.runs.cancel(_run_id(call))
        return {}

    def _cancel_all(self, call: ApiCall) -> Mapping[str, Any]:
        job_id = call.params.get("job_id")
        if job_id is None and not call.params.get("all_queued_runs"):
            raise invalid_parameter("job_id is required unless all_queued_runs is true.")
        self.runs.cancel_all(None if job_id is None else int(job_id))
        return {}

    def _statement(self, call: ApiCall) -> Mapping[str, Any]:
        return self.statements.get(call.groups["sid"])

    def _cancel_sql(self, call: ApiCall) -> Mapping[str, Any]:
        self.statements.cancel(call.groups["sid"])
        return {}

    def _set_faults(self, call: ApiCall) -> Mapping[str, Any]:
        try:
            plan = FaultPlan.from_dict(call.params)
        except (TypeError, ValueError) as exc:
            raise invalid_parameter(f"Invalid fault plan: {exc}") from None
        self.faults.install(plan)
        return plan.to_dict()

    def _request_log(self, call: ApiCall) -> Mapping[str, Any]:
        return {"requests": [dataclasses.asdict(record) for record in self.requests]}


def _json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "MALFORMED_REQUEST", f"Could not parse request body as JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "MALFORMED_REQUEST", "The request body must be a JSON object.")
    return data
