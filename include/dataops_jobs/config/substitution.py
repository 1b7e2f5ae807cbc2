"""``${VAR}`` / ``${VAR:default}`` substitution in the string values of a parsed YAML document.

``$${`` writes a literal ``${``. Only values are substituted, never keys. A missing variable without a
default is a :class:`~dataops_jobs.errors.ConfigError` naming the file, the dotted key and the variable.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dataops_jobs.config.paths import KeyPath, Origin, dotted
from dataops_jobs.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["substitute", "substitute_string"]

# One alternation so that an escape is consumed before it can be read as a reference.
_TOKEN = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}|\$\{")


def substitute_string(value: str, environ: Mapping[str, str]) -> str:
    """``value`` with every reference replaced; raise ``LookupError``/``ValueError`` to the caller."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name is None:
            raise ValueError(
                "expected ${VAR} or ${VAR:default} with a variable name of letters, digits and _"
            )
        if name in environ:
            return environ[name]
        if default is None:
            raise LookupError(name)
        return default

    return _TOKEN.sub(replace, value)


def substitute(
    data: object,
    environ: Mapping[str, str],
    *,
    origin_of: Callable[[KeyPath], Origin],
    path: KeyPath = (),
) -> object:
    """A copy of ``data`` (parsed YAML) with references substituted in every string value."""
    if isinstance(data, dict):
        return {
            key: substitute(item, environ, origin_of=origin_of, path=(*path, key))
            for key, item in data.items()
        }
    if isinstance(data, list):
        return [
            substitute(item, environ, origin_of=origin_of, path=(*path, index))
            for index, item in enumerate(data)
        ]
    if not isinstance(data, str) or "${" not in data:
        return data
    try:
        return substitute_string(data, environ)
    except LookupError as err:
        name = err.args[0]
        expected = f"environment variable {name} is not set and has no default (or write ${{{name}:default}})"
    except ValueError as err:
        expected = str(err)
    origin = origin_of(path)
    raise ConfigError(expected, file=origin.file, key=dotted(path), line=origin.line)
