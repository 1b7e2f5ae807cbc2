"""The alerting exception hierarchy: one root, each class says when it is raised."""

from __future__ import annotations


class AlertingError(Exception):
    """Root of every error raised by the alerting package."""


class AlertConfigError(AlertingError):
    """Raised when rules, policy or channel configuration is invalid; names the file and key."""


class ChannelRegistryError(AlertingError):
    """Raised when two channel classes claim one ``type``, or an unknown ``type`` is requested."""


class DeliveryError(AlertingError):
    """Raised by a transport when one delivery attempt fails.

    ``transient`` says whether the retry policy may try again; ``retry_after`` carries the
    receiver's ``Retry-After`` in seconds when it sent one; ``config`` marks a fault that a change of
    configuration fixes (the engine keeps such deliveries pending). Messages are redacted before raising.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        transient: bool,
        retry_after: float | None = None,
        config: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient
        self.retry_after = retry_after
        self.config = config
