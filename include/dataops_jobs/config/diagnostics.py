"""Turning pydantic validation errors into :class:`ConfigError` lines a user can act on, and
formatting them for command-line tools (no traceback for user mistakes)."""

from __future__ import annotations

import difflib
import types
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from dataops_jobs.config.paths import KeyPath, Origins, dotted
from dataops_jobs.config.types import FieldProblem
from dataops_jobs.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails

__all__ = ["config_error_from_validation", "format_config_error"]

_MESSAGES = {
    "missing": "a value is required",
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "model_type": "expected a mapping of keys",
    "model_attributes_type": "expected a mapping of keys",
    "dict_type": "expected a mapping of keys",
    "list_type": "expected a list",
    "greater_than_equal": "expected a number >= {ge}",
    "greater_than": "expected a number > {gt}",
    "less_than_equal": "expected a number <= {le}",
    "less_than": "expected a number < {lt}",
}
# Only these echo the offending value: never a secret field, nor free text that might hold one.
_ECHO_INPUT = frozenset(
    {
        "literal_error",
        "int_parsing",
        "int_from_float",
        "float_parsing",
        "bool_parsing",
        "greater_than_equal",
        "greater_than",
        "less_than_equal",
        "less_than",
        "identifier",
        "schema_table",
        "finish_by",
        "log_level",
        "schedule",
        "memory",
        "timezone",
        "environment",
        "email",
        "conn_id",
    }
)
_MAX_ECHO = 60


def config_error_from_validation(
    error: ValidationError, origins: Origins, model: type[BaseModel]
) -> ConfigError:
    """One :class:`ConfigError` for all problems in ``error``, each blamed on the file it came from."""
    problems = [_problem(detail, origins, model) for detail in error.errors(include_url=False)]
    first, *others = problems
    return ConfigError(first.expected, file=first.file, key=first.key, line=first.line, others=others)


def format_config_error(error: ConfigError) -> str:
    """The text a CLI prints for a configuration mistake: one line per problem, no traceback."""
    problems = error.problems
    if len(problems) == 1:
        return f"Configuration error: {error.describe()}"
    lines = [f"Configuration error: {len(problems)} problems"]
    lines += [f"  - {problem.describe()}" for problem in problems]
    return "\n".join(lines)


def _problem(detail: ErrorDetails, origins: Origins, model: type[BaseModel]) -> ConfigError:
    loc: KeyPath = tuple(detail["loc"])
    cause = detail.get("ctx", {}).get("error")
    if isinstance(cause, FieldProblem):
        loc = (*loc, cause.field)
    expected = _expectation(detail, loc, model)
    origin = origins.of(loc)
    return ConfigError(expected, file=origin.file, key=dotted(loc) or None, line=origin.line)


def _expectation(detail: ErrorDetails, loc: KeyPath, model: type[BaseModel]) -> str:
    kind = detail["type"]
    ctx: dict[str, Any] = dict(detail.get("ctx", {}))
    if kind == "extra_forbidden":
        return _unknown_key(loc, model)
    if kind == "literal_error":
        choices = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        expected = f"expected one of {choices}"
    elif kind == "value_error":
        expected = str(ctx.get("error", detail["msg"]))
    elif kind in _MESSAGES:
        expected = _MESSAGES[kind].format(**ctx)
    else:
        expected = detail["msg"]
    return expected + _echo(kind, detail.get("input"))


def _echo(kind: str, value: object) -> str:
    if kind not in _ECHO_INPUT or not isinstance(value, (str, int, float)):
        return ""
    text = repr(value)
    return f" (got {text[:_MAX_ECHO]}{'...' if len(text) > _MAX_ECHO else ''})"


def _unknown_key(loc: KeyPath, model: type[BaseModel]) -> str:
    unknown = str(loc[-1])
    allowed = _allowed_keys(model, loc[:-1])
    close = difflib.get_close_matches(unknown, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {unknown!r} (did you mean {close[0]!r}?)"
    if allowed:
        return f"unknown key {unknown!r}; expected one of {', '.join(allowed)}"
    return f"unknown key {unknown!r}"


def _allowed_keys(model: type[BaseModel], path: KeyPath) -> list[str]:
    """The keys the model accepts at ``path`` (empty when the path does not lead to a model)."""
    current: object = model
    for part in path:
        current = _child_type(_unwrap(current), part)
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [info.alias or name for name, info in current.model_fields.items()]
    return []


def _child_type(annotation: object, part: str | int) -> object:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and args and isinstance(part, int):
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _unwrap(annotation: object) -> object:
    """Strip ``Annotated[...]`` and ``X | None`` down to ``X``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation
