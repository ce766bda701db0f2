"""Raw YAML data to typed objects: pydantic's errors become :class:`KbError` values with the line
of the value they are about. Also the checks that read the raw data itself (placeholders)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from runbook_engine.model.errors import KbError
from runbook_engine.model.rules import LANGS, PLACEHOLDER
from runbook_engine.model.yamlio import locate


def describe(err: dict) -> str:
    """One pydantic error as ``dotted.location: message (got value)``."""
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
    msg = err["msg"]
    if err["type"] == "missing":
        last = err["loc"][-1] if err["loc"] else "?"
        if last in LANGS:
            return f"{loc}: missing translation '{last}'"
        return f"{loc}: required field missing"
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown field"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    inp = err.get("input")
    shown = ""
    if isinstance(inp, (str, int, float)) and not isinstance(inp, bool):
        shown = f" (got {inp!r})"
    return f"{loc}: {msg}{shown}" if loc else f"{msg}{shown}"


def validate(model: type[BaseModel], data: Any, name: str) -> tuple[Any, list[KbError]]:
    """``(object, [])`` or ``(None, errors)``; every error carries the line of its value in *data*."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [KbError(name, locate(data, tuple(err["loc"])), describe(err)) for err in exc.errors()]


def validate_list(data: Any, key: str, model: type[BaseModel], name: str) -> tuple[list | None, list[KbError]]:
    """A file whose one top-level key *key* holds a list of *model* items."""
    if not isinstance(data, dict) or key not in data:
        return None, [KbError(name, getattr(data, "line", 1), f"top-level key '{key}' is required")]
    extra = [k for k in data if k != key and not str(k).startswith("$")]
    errs = [KbError(name, data.key_lines[k], f"{k}: unknown field") for k in extra]
    items = data[key]
    if not isinstance(items, list):
        return None, errs + [KbError(name, data.key_lines[key], f"{key}: must be a list")]
    out = []
    for i, item in enumerate(items):
        obj, e = validate(model, item, name)
        if e:
            errs.extend(KbError(x.file, x.line, f"{key}.{i}.{x.message}") for x in e)
        out.append(obj)
    return (out if not errs else None), errs


def walk_texts(data: Any, path: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    """Yield ``(path, mapping)`` for every ``{ja, en}`` mapping in raw YAML data."""
    if isinstance(data, dict):
        if set(data.keys()) == set(LANGS):
            yield path, data
            return
        for k, v in data.items():
            yield from walk_texts(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from walk_texts(v, path + (i,))


def _walk_values(data: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Yield ``(path, value)`` for every text mapping and every scalar outside one."""
    if isinstance(data, dict) and set(data.keys()) == set(LANGS):
        yield path, data
    elif isinstance(data, dict):
        for k, v in data.items():
            yield from _walk_values(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _walk_values(v, path + (i,))
    else:
        yield path, data


def placeholder_errors(data: Any, name: str) -> list[KbError]:
    """One error per value still equal to the placeholder `runbook new` writes (a text counts once)."""
    errs = []
    for loc, value in _walk_values(data):
        where = ".".join(map(str, loc))
        if isinstance(value, dict):
            todo = [lang for lang in LANGS if str(value.get(lang, "")).strip() == PLACEHOLDER]
            if todo:
                errs.append(KbError(name, locate(data, loc), f"{where}: placeholder {PLACEHOLDER!r} left in {', '.join(todo)}: write the text"))
        elif isinstance(value, str) and value.strip() == PLACEHOLDER:
            errs.append(KbError(name, locate(data, loc), f"{where}: placeholder {PLACEHOLDER!r} left: write the value"))
    return errs
