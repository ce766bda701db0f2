"""YAML that remembers where things are: the line of every mapping key and sequence item.

Duplicate keys are refused. Scalars are resolved as YAML resolves them: a version such as 2.0 is
a float, and pydantic then reports a type error with its line instead of silently coercing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from runbook_engine.model.errors import KbError, KbInvalid


class LineDict(dict):
    line: int = 0
    key_lines: dict[str, int]


class LineList(list):
    line: int = 0
    item_lines: list[int]


# libyaml's parser when available (same constructors, same marks, several times faster)
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode, deep: bool = False) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve().parent))
    except ValueError:
        return str(path)


def read_yaml(path: Path, root: Path) -> Any:
    """Parse one YAML file; a syntax error becomes a KbInvalid with its line."""
    name = rel(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise KbInvalid([KbError(name, 1, f"not UTF-8: {exc.reason}")]) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise KbInvalid([KbError(name, line, f"YAML syntax: {problem}")]) from None
    if data is None:
        raise KbInvalid([KbError(name, 1, "file is empty")])
    return data


def locate(data: Any, loc: tuple) -> int:
    """The line of the deepest node of *loc* that exists in *data*."""
    line = getattr(data, "line", 1) or 1
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line
