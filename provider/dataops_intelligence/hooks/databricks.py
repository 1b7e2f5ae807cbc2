"""``DataOpsDatabricksHook``: the official ``DatabricksHook`` plus two small things it lacks.

1. **Retry-After.** Upstream retries transient errors (connection errors, 429, 5xx; its own predicate,
   kept) with an exponential wait whose ``retry_delay`` is only a floor and which ignores
   ``Retry-After``. Here the wait is ``max(Retry-After, retry_delay * 2**(attempt-1))`` capped at
   ``max_retry_delay``: the one HTTP retry policy of the provider. Task retries stay Airflow's.
2. **OIDC token URL.** Upstream builds the service-principal token URL as ``https://<host>/oidc/v1/token``,
   dropping the connection's ``schema`` and ``port`` that every API call honours. With https and no
   port the URL is unchanged; with a port (a proxy, the local emulator) the token request now reaches
   the same server as the API calls.

Auth schemes, endpoints and the retry predicate stay upstream's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.databricks.hooks.databricks import DatabricksHook
from airflow.providers.databricks.hooks.databricks_base import OIDC_TOKEN_SERVICE_URL

if TYPE_CHECKING:
    from tenacity import RetryCallState

DEFAULT_RETRY_LIMIT = 8
DEFAULT_RETRY_DELAY = 1.0
DEFAULT_MAX_RETRY_DELAY = 60.0


def retry_after_seconds(exc: BaseException | None) -> float:
    """``Retry-After`` (seconds) of a requests or aiohttp HTTP error, else 0."""
    headers: Any = None
    response = getattr(exc, "response", None)
    if response is not None:
        headers = getattr(response, "headers", None)
    if headers is None:
        headers = getattr(exc, "headers", None)
    if not headers:
        return 0.0
    try:
        return max(0.0, float(headers.get("Retry-After") or 0))
    except (TypeError, ValueError):
        return 0.0


class RetryAfterWait:
    """tenacity ``wait``: exponential from ``base`` seconds, at least ``Retry-After``, at most ``cap``."""

    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        backoff = self.base * 2 ** max(0, retry_state.attempt_number - 1)
        return float(min(self.cap, max(backoff, retry_after_seconds(exc))))


class DataOpsDatabricksHook(DatabricksHook):
    """``DatabricksHook`` honouring ``Retry-After`` and the connection's schema/port for OAuth."""

    def __init__(
        self,
        databricks_conn_id: str = DatabricksHook.default_conn_name,
        timeout_seconds: int = 180,
        retry_limit: int = DEFAULT_RETRY_LIMIT,
        retry_delay: float = DEFAULT_RETRY_DELAY,
        retry_args: dict[Any, Any] | None = None,
        caller: str = "DataOpsDatabricksHook",
        max_retry_delay: float = DEFAULT_MAX_RETRY_DELAY,
    ) -> None:
        super().__init__(databricks_conn_id, timeout_seconds, retry_limit, retry_delay, retry_args, caller)
        if retry_args is None:
            self.retry_args["wait"] = RetryAfterWait(retry_delay, max_retry_delay)

    def _get_oidc_token_service_url(self) -> str:
        conn = self.databricks_conn
        port = f":{conn.port}" if conn.port else ""
        return str(OIDC_TOKEN_SERVICE_URL.format(f"{conn.schema or 'https'}://{self.host}{port}"))
