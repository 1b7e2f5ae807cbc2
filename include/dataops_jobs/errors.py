"""The exception hierarchy of the Spark job package: one root, one class per kind of failure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence


class DataOpsError(Exception):
    """Root of every error DataOps Intelligence raises on purpose; catch it to handle them all."""


class ConfigError(DataOpsError):
    """Raised when configuration cannot be read, substituted or validated: a user mistake.

    ``file`` is where the offending key came from (base file or overlay), ``key`` its dotted path
    (``storage.catalog_name``), ``expected`` what a valid value looks like. ``problems`` holds every
    problem found when validation reported several; the first one is this error itself.
    """

    def __init__(
        self,
        expected: str,
        *,
        file: str | None = None,
        key: str | None = None,
        line: int | None = None,
        others: Sequence[ConfigError] = (),
    ) -> None:
        self.expected = expected
        self.file = file
        self.key = key
        self.line = line
        self.problems: tuple[ConfigError, ...] = (self, *others)
        super().__init__(self.describe())

    def describe(self) -> str:
        """This one problem as ``file:line: key: expected`` (parts that are unknown are left out)."""
        where = self.file or ""
        if where and self.line is not None:
            where = f"{where}:{self.line}"
        parts = [part for part in (where, self.key) if part]
        return ": ".join([*parts, self.expected])

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments are not in ``args``: keep the error picklable (Spark, multiprocessing).
        return type(self), (self.expected,), dict(self.__dict__)

    def __str__(self) -> str:
        extra = len(self.problems) - 1
        suffix = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
        return self.describe() + suffix
