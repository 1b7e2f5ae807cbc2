"""Label matchers in Alertmanager syntax: ``name=value``, ``name!=value``, ``name=~regex``, ``name!~regex``."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

_MATCHER_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
_OPS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True)
class Matcher:
    """One label matcher; regexes are anchored (full match) as in Alertmanager."""

    name: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"unknown matcher operator {self.op!r}")
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as err:
                raise ValueError(
                    f"invalid regex in matcher {self.name}{self.op}{self.value!r}: {err}"
                ) from None

    @classmethod
    def parse(cls, text: str) -> Matcher:
        found = _MATCHER_RE.match(text)
        if not found:
            raise ValueError(f"invalid matcher {text!r} (expected name=value, !=, =~ or !~)")
        name, op, value = found.groups()
        return cls(name, op, value.strip("\"'"))

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return re.compile(self.value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = str(labels.get(self.name, ""))
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = self._regex.fullmatch(actual) is not None
        return hit if self.op == "=~" else not hit


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches (an empty list matches everything)."""
    for matcher in matchers:  # noqa: SIM110 - a loop, not all(<genexpr>): runs per alert per rule
        if not matcher.matches(labels):
            return False
    return True


def parse_matchers(items: Iterable[str]) -> tuple[Matcher, ...]:
    return tuple(Matcher.parse(item) for item in items)


def name_matches(pattern: str, name: str) -> bool:
    """Job-name pattern: ``re:<regex>`` is a full-match regex, anything else a shell glob."""
    if pattern.startswith("re:"):
        return re.fullmatch(pattern[3:], name) is not None
    return fnmatch.fnmatchcase(name, pattern)
