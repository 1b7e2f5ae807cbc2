"""Key paths inside a configuration document, their dotted form, and where each key came from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["KeyPath", "Origin", "Origins", "dotted"]

KeyPath = tuple[str | int, ...]
"""Keys from the document root: mapping keys as strings, list positions as ints."""

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def dotted(path: KeyPath) -> str:
    """``storage.catalog_name``, ``sla.jobs[0].finish_by``, ``compute.spark_submit.conf['spark.x']``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


@dataclass(frozen=True)
class Origin:
    """The file a key came from and, when known, the 1-based line of the key."""

    file: str
    line: int | None = None


class Origins:
    """Which file (and line) each key path of a merged document came from.

    A lookup uses the longest recorded prefix of the path, so an error on a key that is missing
    (or on a list item) points at its nearest written parent.
    """

    def __init__(self, fallback: str) -> None:
        self.fallback = fallback
        self._by_path: dict[KeyPath, Origin] = {}

    def add(self, file: str, lines: Mapping[KeyPath, int], replaced: Iterable[KeyPath] = ()) -> None:
        """Record a document merged on top of the previous ones; ``replaced`` subtrees are forgotten."""
        for root in replaced:
            for path in [path for path in self._by_path if path[: len(root)] == root]:
                del self._by_path[path]
        for path, line in lines.items():
            self._by_path[path] = Origin(file, line)

    def of(self, path: KeyPath) -> Origin:
        """Where ``path`` (or its nearest recorded parent) was written."""
        for end in range(len(path), 0, -1):
            origin = self._by_path.get(path[:end])
            if origin is not None:
                return origin
        return Origin(self.fallback)
