"""Exceptions of the Databricks REST emulator (one root, flat)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


class EmulatorError(Exception):
    """Root of every exception the emulator raises on purpose."""


class ApiError(EmulatorError):
    """Raised by an endpoint handler to answer with a Databricks error body.

    The HTTP layer turns it into ``{"error_code": ..., "message": ...}`` with ``status``.
    """

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, str]:
        """Return the Databricks error JSON for this error."""
        return {"error_code": self.error_code, "message": self.message}


class OAuthError(EmulatorError):
    """Raised by the token endpoint; answered with an RFC 6749 error body, not a Databricks one."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


class SqlExecutionError(EmulatorError):
    """Raised by a ``SqlExecutor`` to end a statement FAILED with a given error code and SQL state."""

    def __init__(self, message: str, error_code: str = "BAD_REQUEST", sql_state: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.sql_state = sql_state


def invalid_parameter(message: str) -> ApiError:
    """Build the 400 ``INVALID_PARAMETER_VALUE`` error Databricks answers for bad requests."""
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)
