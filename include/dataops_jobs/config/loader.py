"""Loading the configuration: base YAML + environment overlay, deep merge, ``${VAR}`` substitution,
validation into :class:`~dataops_jobs.config.models.Config`.

The overlay is ``<env>.yaml`` next to the base file; ``env`` comes from the argument, else the
``DATAOPS_ENV`` environment variable, else the base file's ``environment`` key. An overlay named
explicitly (argument or ``DATAOPS_ENV``) must exist; one named only by the base file is optional.
Substitution runs after the merge, so an overlay can replace a base value whose variable is unset.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from dataops_jobs.config.diagnostics import config_error_from_validation
from dataops_jobs.config.models import Config
from dataops_jobs.config.paths import KeyPath, Origins
from dataops_jobs.config.substitution import substitute
from dataops_jobs.config.yaml_source import YamlDocument, read_yaml
from dataops_jobs.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ENV_VAR", "deep_merge", "load_config", "load_config_from_dict"]

ENV_VAR = "DATAOPS_ENV"
_ENV_NAME = re.compile(r"[A-Za-z0-9_-]+")


def load_config(
    path: str | Path, env: str | None = None, *, environ: Mapping[str, str] | None = None
) -> Config:
    """Load ``path`` plus its environment overlay into a validated :class:`Config`.

    Raises :class:`ConfigError` naming the file, key and expectation for every user mistake.
    """
    environ = os.environ if environ is None else environ
    base_path = Path(path)
    base = read_yaml(base_path)
    selected = env or environ.get(ENV_VAR) or None
    name = selected or _declared_environment(base, environ)
    documents = [base]
    if name:
        overlay_path = _overlay_path(base_path, name, explicit=selected is not None)
        if overlay_path != base_path and (selected or overlay_path.is_file()):
            documents.append(_read_overlay(overlay_path, name, base_path.name))
    origins = Origins(" + ".join(document.file for document in documents))
    merged: dict[str, Any] = {}
    for document in documents:
        merged, replaced = deep_merge(merged, document.data)
        origins.add(document.file, document.lines, replaced)
    if selected:
        merged["environment"] = selected
    return _validate(substitute(merged, environ, origin_of=origins.of), origins)


def load_config_from_dict(
    data: Mapping[str, Any],
    source: str = "<dict>",
    *,
    substitute_env: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Validate an already parsed configuration (for example :meth:`Config.to_json` sent to a job).

    Values are taken as they are unless ``substitute_env`` asks for ``${VAR}`` substitution (not by
    default: JSON from :meth:`Config.to_json` is already substituted and its ``${`` are literal).
    """
    origins = Origins(source)
    document: object = dict(data)
    if substitute_env:
        document = substitute(document, os.environ if environ is None else environ, origin_of=origins.of)
    return _validate(document, origins)


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> tuple[dict[str, Any], list[KeyPath]]:
    """``overlay`` merged into a copy of ``base``: mappings merge recursively, anything else replaces.

    Also returns the key paths whose base value was replaced (not merged) by the overlay.
    """
    replaced: list[KeyPath] = []
    return _merge(base, overlay, (), replaced), replaced


def _merge(
    base: Mapping[str, Any], overlay: Mapping[str, Any], path: KeyPath, replaced: list[KeyPath]
) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = _merge(current, value, (*path, key), replaced)
        else:
            merged[key] = value
            replaced.append((*path, key))
    return merged


def _declared_environment(base: YamlDocument, environ: Mapping[str, str]) -> str | None:
    """The base file's own ``environment`` value (substituted), if it names one."""
    value = base.data.get("environment")
    if not isinstance(value, str):
        return None
    origins = Origins(base.file)
    origins.add(base.file, base.lines)
    result = substitute(value, environ, origin_of=origins.of, path=("environment",))
    return str(result) or None


def _overlay_path(base_path: Path, name: str, *, explicit: bool) -> Path:
    if _ENV_NAME.fullmatch(name) is None:
        source = "the env argument or " + ENV_VAR if explicit else f"{base_path} environment"
        raise ConfigError(
            f"expected an environment name of letters, digits, _ and - (from {source}, got {name!r})",
            file=str(base_path),
            key="environment",
        )
    return base_path.with_name(f"{name}{base_path.suffix or '.yaml'}")


def _read_overlay(path: Path, name: str, base_name: str) -> YamlDocument:
    if not path.is_file():
        raise ConfigError(
            f"overlay file for environment {name!r} not found (expected one <env>.yaml beside {base_name})",
            file=str(path),
        )
    return read_yaml(path)


def _validate(document: object, origins: Origins) -> Config:
    if not isinstance(document, dict):
        raise ConfigError("expected a mapping of sections at the top level", file=origins.fallback)
    try:
        return Config.model_validate(document)
    except ValidationError as err:
        raise config_error_from_validation(err, origins, Config) from None
