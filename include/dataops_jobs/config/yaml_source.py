"""Reading one YAML configuration file: its data plus the line of every key, with clear errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from dataops_jobs.config.paths import KeyPath, dotted
from dataops_jobs.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["YamlDocument", "parse_yaml", "read_yaml"]

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAX_DEPTH = 64


@dataclass(frozen=True)
class YamlDocument:
    """A parsed configuration file: its top-level mapping and the 1-based line of each key path."""

    file: str
    data: dict[str, Any]
    lines: dict[KeyPath, int] = field(default_factory=dict)


def read_yaml(path: Path) -> YamlDocument:
    """Read and parse ``path``; every failure is a :class:`ConfigError` naming the file."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("configuration file not found", file=file) from None
    except UnicodeDecodeError:
        raise ConfigError("expected UTF-8 text", file=file) from None
    except OSError as err:
        raise ConfigError(f"cannot read the file ({err.strerror})", file=file) from None
    return parse_yaml(text, file)


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse YAML ``text`` (safe loader) that came from ``file``."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(file, {})
        lines: dict[KeyPath, int] = {}
        _index(node, (), lines, file)
        data: object = loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(
            f"expected valid YAML ({err.problem or err.context})", file=file, line=line
        ) from None
    except yaml.YAMLError as err:
        raise ConfigError(f"expected valid YAML ({err})", file=file) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of sections at the top level", file=file, line=1)
    return YamlDocument(file, data, lines)


def _index(node: Any, path: KeyPath, lines: dict[KeyPath, int], file: str) -> None:
    """Record the line of every key and list item under ``node``; reject duplicate and odd keys."""
    if len(path) > _MAX_DEPTH:
        raise ConfigError("expected a document nested less deeply", file=file, key=dotted(path))
    if isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            lines[(*path, position)] = item.start_mark.line + 1
            _index(item, (*path, position), lines, file)
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR_TAG:
                raise ConfigError(
                    "expected a text key (quote keys such as 1, yes or on)",
                    file=file,
                    key=dotted(path) or None,
                    line=line,
                )
            key = str(key_node.value)
            if key in seen:
                raise ConfigError(f"duplicate key {key!r}", file=file, key=dotted((*path, key)), line=line)
            seen.add(key)
            lines[(*path, key)] = line
            _index(value_node, (*path, key), lines, file)
