"""Keep the last knowledge base loaded, keyed by the path, mtime and size of every YAML file
under its root: a build that asks for kb/ many times parses it once."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_CACHE: dict[tuple, object] = {}


def fingerprint(root: Path) -> tuple:
    files = sorted(root.rglob("*.y*ml"))
    return (str(root.resolve()),) + tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)


def cached(root: Path, build: Callable[[Path], T]) -> T:
    """``build(root)``, or the result of the last call if no YAML file under *root* changed."""
    key = fingerprint(root)
    if key in _CACHE:
        return _CACHE[key]  # type: ignore[return-value]
    value = build(root)
    _CACHE.clear()
    _CACHE[key] = value
    return value


def clear() -> None:
    _CACHE.clear()
