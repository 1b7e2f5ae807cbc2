"""Bearer-token authentication and the OAuth client-credentials token endpoint of the emulator."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dataops_intelligence.emulator.errors import ApiError, OAuthError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_NOT_SENT = "Credential was not sent or was of an unsupported type for this API."


@dataclass(frozen=True)
class Principal:
    """Who made an authenticated call: the PAT's user or an OAuth client id."""

    name: str
    kind: str


def new_pat() -> str:
    """Return a random personal-access-token-like string (``dapi`` + 32 hex digits)."""
    return "dapi" + secrets.token_hex(16)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class TokenAuthority:
    """Validates ``Authorization: Bearer`` headers and issues short-lived OAuth M2M tokens.

    Accepted bearers: the emulator's PAT and unexpired tokens issued by ``issue_token``.
    Tokens are never logged nor exposed through the request log.
    """

    def __init__(
        self,
        pat: str,
        user_name: str,
        oauth_clients: Mapping[str, str],
        token_ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pat = pat
        self._user_name = user_name
        self._clients = dict(oauth_clients)
        self._ttl = token_ttl_seconds
        self._clock = clock
        self._issued: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def authenticate(self, header: str | None) -> Principal:
        """Return the caller of a request or raise the 401/403 Databricks answers."""
        if not header or not header.lower().startswith("bearer "):
            raise ApiError(401, "UNAUTHENTICATED", _NOT_SENT)
        token = header[7:].strip()
        if hmac.compare_digest(token.encode(), self._pat.encode()):
            return Principal(self._user_name, "pat")
        with self._lock:
            issued = self._issued.get(token)
        if issued is None:
            raise ApiError(403, "PERMISSION_DENIED", "Invalid access token.")
        client_id, expires_at = issued
        if self._clock() >= expires_at:
            raise ApiError(401, "UNAUTHENTICATED", "Invalid access token: the token is expired.")
        return Principal(client_id, "oauth")

    def issue_token(self, authorization: str | None, form: Mapping[str, str]) -> dict[str, object]:
        """Serve ``POST /oidc/v1/token`` (client_credentials, secret in Basic auth or in the form)."""
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
        creds = _basic_credentials(authorization)
        client_id, secret = creds or (form.get("client_id", ""), form.get("client_secret", ""))
        expected = self._clients.get(client_id)
        if expected is None or not hmac.compare_digest(secret.encode(), expected.encode()):
            raise OAuthError(401, "invalid_client", "Client authentication failed")
        token = "emu-oauth-" + secrets.token_urlsafe(24)
        now = self._clock()
        with self._lock:
            self._issued = {k: v for k, v in self._issued.items() if v[1] > now}
            self._issued[token] = (client_id, now + self._ttl)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self._ttl,
            "scope": form.get("scope", "all-apis"),
        }
