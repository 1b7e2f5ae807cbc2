"""Building blocks of the configuration models: the strict base model, validated scalar types and
secret references.

Every value that ends up in SQL (catalog, schema, table and column names) is an :data:`Identifier`;
config is not a way to inject SQL. Secrets are never values, only :class:`SecretRef` references.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic_core import PydanticCustomError, core_schema

from dataops_jobs.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue

__all__ = [
    "SECRET_HINT",
    "ConnId",
    "EmailAddress",
    "FieldProblem",
    "Identifier",
    "SchemaTable",
    "SecretRef",
    "StrictModel",
    "is_identifier",
    "problem",
    "quote_identifier",
]

SECRET_HINT = "secrets only by reference: use env:VAR or conn:CONN_ID"
IDENTIFIER_EXPECTED = "expected an identifier of letters, digits and underscores, not starting with a digit"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_NAME = _IDENTIFIER
_CONN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,249}")
_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+")


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys rejected, instances immutable.

    Numbers are accepted where strings are expected because YAML reads ``job_id: 123`` as an int.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class FieldProblem(ValueError):
    """Raised by a model validator to blame one field of the model rather than the whole model."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def problem(kind: str, message: str) -> PydanticCustomError:
    """A validation error whose message is exactly ``message`` (braces in it are not templates)."""
    return PydanticCustomError(kind, "{message}", {"message": message})


def is_identifier(value: str) -> bool:
    """Whether ``value`` is a safe SQL identifier: letters, digits and underscores, no leading digit."""
    return _IDENTIFIER.fullmatch(value) is not None


def quote_identifier(value: str) -> str:
    """``value`` backquoted for Spark SQL, after checking it is an identifier."""
    if not is_identifier(value):
        raise ConfigError(f"{IDENTIFIER_EXPECTED} (got {value!r})")
    return f"`{value}`"


def _check_identifier(value: str) -> str:
    if not is_identifier(value):
        raise problem("identifier", IDENTIFIER_EXPECTED)
    return value


def _check_schema_table(value: str) -> str:
    parts = value.split(".")
    if len(parts) != 2 or not all(is_identifier(part) for part in parts):
        raise problem(
            "schema_table",
            "expected schema.table: two identifiers of letters, digits and underscores joined by a dot",
        )
    return value


def _check_conn_id(value: str) -> str:
    if _CONN_ID.fullmatch(value) is None:
        raise problem("conn_id", "expected an Airflow connection id (letters, digits and _ . : -)")
    return value


def _check_email(value: str) -> str:
    if _EMAIL.fullmatch(value) is None:
        raise problem("email", "expected an email address such as oncall@example.com")
    return value


Identifier = Annotated[str, AfterValidator(_check_identifier)]
"""A catalog, schema, table or column name: ``^[A-Za-z_][A-Za-z0-9_]*$``."""

SchemaTable = Annotated[str, AfterValidator(_check_schema_table)]
"""A source table inside the source catalog, written ``schema.table``."""

ConnId = Annotated[str, AfterValidator(_check_conn_id)]
"""An Airflow connection id."""

EmailAddress = Annotated[str, AfterValidator(_check_email)]
"""A single email address."""


@dataclass(frozen=True, slots=True, repr=False)
class SecretRef:
    """A reference to a secret, never the secret itself.

    Written ``env:VAR_NAME`` (an environment variable read at run time) or ``conn:airflow_conn_id``
    (an Airflow connection resolved by its hook), or as a mapping ``{env: VAR}`` / ``{conn_id: ID}``.
    Its ``str``, ``repr`` and serialised form are the reference, never a resolved value.
    """

    kind: Literal["env", "conn"]
    name: str

    def __post_init__(self) -> None:
        pattern = _ENV_NAME if self.kind == "env" else _CONN_ID
        if self.kind not in ("env", "conn") or pattern.fullmatch(self.name) is None:
            raise ValueError(SECRET_HINT)

    @classmethod
    def parse(cls, value: object) -> SecretRef:
        """Parse ``env:VAR`` / ``conn:ID`` or a one-key mapping; raise :class:`ConfigError` otherwise."""
        try:
            return cls._parse(value)
        except PydanticCustomError as err:
            raise ConfigError(err.message()) from None

    @classmethod
    def _parse(cls, value: object) -> SecretRef:
        if isinstance(value, SecretRef):
            return value
        kind, name = _secret_parts(value)
        if kind == "env" and _ENV_NAME.fullmatch(name) is None:
            raise problem("secret_reference", "expected an environment variable name after env:")
        if kind == "conn" and _CONN_ID.fullmatch(name) is None:
            raise problem("secret_reference", "expected an Airflow connection id after conn:")
        return cls(kind, name)

    @property
    def env_var(self) -> str | None:
        """The environment variable name for ``env:`` references, else None."""
        return self.name if self.kind == "env" else None

    @property
    def conn_id(self) -> str | None:
        """The Airflow connection id for ``conn:`` references, else None."""
        return self.name if self.kind == "conn" else None

    def resolve(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret value of an ``env:`` reference; raise :class:`ConfigError` if it is unset."""
        if self.kind == "conn":
            raise ConfigError(
                f"{self}: an Airflow connection reference is resolved by the connection's hook, "
                "not from the environment"
            )
        source = os.environ if environ is None else environ
        value = source.get(self.name)
        if not value:
            raise ConfigError(f"environment variable {self.name} is not set (secret reference {self})")
        return value

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    def __repr__(self) -> str:
        return f"SecretRef({str(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._parse, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "pattern": r"^(env|conn):\S+$"}


_KINDS: dict[str, Literal["env", "conn"]] = {"env": "env", "conn": "conn"}
_MAPPING_KINDS: dict[str, Literal["env", "conn"]] = {"env": "env", "conn_id": "conn"}


def _secret_parts(value: object) -> tuple[Literal["env", "conn"], str]:
    """Split a reference into (kind, name); never echo the value, it may be a pasted secret."""
    if isinstance(value, str):
        prefix, sep, name = value.strip().partition(":")
        if sep and prefix in _KINDS:
            return _KINDS[prefix], name.strip()
    elif isinstance(value, Mapping) and len(value) == 1:
        ((key, name),) = value.items()
        if key in _MAPPING_KINDS and isinstance(name, str):
            return _MAPPING_KINDS[key], name.strip()
    raise problem("secret_literal", SECRET_HINT)
