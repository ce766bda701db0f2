"""YAML that remembers where things are: the line of every mapping key and sequence item.

Duplicate keys are refused. Scalars are resolved as YAML resolves them: a version such as 2.0 is
a float, and pydantic then reports a type error with its line instead of silently coercing.
"""
from __future__ import annotations

import os
import re

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
    """*path* as the project names it (``kb/guides/…``): relative to the folder above *root*,
    without following a symlink in the file's own name (errors name the file the user sees)."""
    for p, r in ((Path(os.path.abspath(path)), Path(os.path.abspath(root))), (Path(path).resolve(), Path(root).resolve())):
        try:
            return str(p.relative_to(r.parent))
        except ValueError:
            continue
    return str(path)


#: Limits of what a kb/ file may be: kb files are small, hand-written and need no YAML aliases.
MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 40
MAX_ALIASES = 50
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _line_of(data: bytes | str, offset: int) -> int:
    return data[:offset].count(b"\n" if isinstance(data, bytes) else "\n") + 1


def _check_shape(text: str, name: str) -> None:
    """One pass over the parser's events (no objects built): refuse nesting deeper than
    :data:`MAX_DEPTH` (the constructor would recurse) and more than :data:`MAX_ALIASES` aliases (an
    alias bomb expands exponentially in whatever walks the data)."""
    depth, aliases = 0, 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise KbInvalid([KbError(name, event.start_mark.line + 1, f"nested deeper than {MAX_DEPTH} levels")])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise KbInvalid([KbError(name, event.start_mark.line + 1,
                                         f"more than {MAX_ALIASES} YAML aliases: write the values out")])


def read_yaml(path: Path, root: Path, *, confine: bool = True) -> Any:
    """Parse one YAML file; every problem becomes a KbInvalid with its line: a file that resolves
    outside the project (a symlink; unless *confine* is False), over :data:`MAX_FILE_BYTES`, not
    UTF-8, with control characters, nested too deep, with too many aliases, or bad YAML."""
    name = rel(path, root) if confine else str(path)  # a user's file (inventory, answers): as given
    if confine:
        project = Path(root).resolve().parent
        if not Path(path).resolve().is_relative_to(project):
            raise KbInvalid([KbError(name, 1, f"resolves outside the project ({Path(path).resolve()}): "
                                              "a symlink to another place is not read")])
    try:
        if Path(path).stat().st_size > MAX_FILE_BYTES:
            raise KbInvalid([KbError(name, 1, f"larger than {MAX_FILE_BYTES // 1024} KiB")])
        raw = Path(path).read_bytes()
    except IsADirectoryError:
        raise KbInvalid([KbError(name, 1, "is a folder, not a file")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KbInvalid([KbError(name, _line_of(raw, exc.start), f"not UTF-8: {exc.reason} (byte {raw[exc.start]:#04x})")]) from None
    bad = _CONTROL.search(text)
    if bad:
        raise KbInvalid([KbError(name, _line_of(text, bad.start()), f"control character {bad.group()!r} in the file")])
    try:
        _check_shape(text, name)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise KbInvalid([KbError(name, line, f"YAML syntax: {problem}")]) from None
    except yaml.YAMLError as exc:  # a reader error without a mark
        raise KbInvalid([KbError(name, 1, f"YAML: {exc}")]) from None
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
