"""The engine side of offline bundles: one record per bundle in ``<state>/bundles/``.

``<id>.json`` is written (atomically) when the bundle is: its kind, guide, cluster, node, the
inventory's digest, the batches it runs and their sha256; an apply bundle also keeps the plan it
was made from (the plan bundle's id and its rows), a rollback bundle the run it undoes.
``<id>.result.txt`` (the result as imported) and ``<id>.imported.json`` (when, and the journal it
went to) are written when its result is imported, the marker last: a result is imported once.

The bundle id is random (64 bits); the digest ties a result to the recorded commands. Neither is a
signature: the node side cannot sign (no cryptography in Windows 2000's cmd.exe).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

from runbook_engine.artifacts.files import write_atomic
from runbook_engine.engine.inventory import Inventory
from runbook_engine.engine.runner import Batch

KINDS = ("plan", "apply", "rollback")
ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")


def new_id() -> str:
    return secrets.token_hex(8)


def batches_digest(batches: list[Batch]) -> str:
    """sha256 of the command list: each batch's name and command lines, in order."""
    data = json.dumps([[b.name, list(b.commands)] for b in batches], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def inventory_digest(inventory: Inventory) -> str:
    """sha256 of the inventory as loaded: a bundle's result belongs to the inventory it was
    written for (an edited inventory is another one)."""
    data = json.dumps(inventory.model_dump(mode="json"), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


@dataclass
class Record:
    id: str
    kind: str  # plan | apply | rollback
    guide: str
    cluster: str
    inventory: str  # inventory_digest() of the inventory it was written for
    node: str
    lang: str
    steps: list[str]
    batches: list[Batch]
    digest: str  # batches_digest(batches)
    cmd_name: str
    result_name: str
    created: float = field(default_factory=time.time)
    plan: str | None = None  # apply: the plan bundle it was made from
    plan_rows: dict[str, list[dict]] = field(default_factory=dict)  # apply: that plan's rows, by step
    run_id: str | None = None  # rollback: the run it undoes

    def to_json(self) -> bytes:
        data = asdict(self)
        data["batches"] = [{"kind": b.kind, "step": b.step, "commands": list(b.commands),
                            "retry": [list(g) for g in b.retry]} for b in self.batches]
        return (json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> "Record":
        data = json.loads(raw)
        data["batches"] = [Batch(b["kind"], b["step"], tuple(b["commands"]), tuple(tuple(g) for g in b["retry"]))
                           for b in data["batches"]]
        return cls(**data)


class Store:
    """The records of one state folder."""

    def __init__(self, state: Path):
        self.dir = Path(state) / "bundles"

    def path(self, bundle_id: str) -> Path:
        return self.dir / f"{bundle_id}.json"

    def result_path(self, bundle_id: str) -> Path:
        return self.dir / f"{bundle_id}.result.txt"

    def marker_path(self, bundle_id: str) -> Path:
        return self.dir / f"{bundle_id}.imported.json"

    def write(self, record: Record) -> Path:
        return write_atomic(self.path(record.id), record.to_json())

    def forget(self, bundle_id: str) -> None:
        """Remove a record whose .cmd could not be written."""
        self.path(bundle_id).unlink(missing_ok=True)

    def read(self, bundle_id: str) -> Record | None:
        """The record of *bundle_id*, None when this state folder never wrote it."""
        if not ID_PATTERN.fullmatch(bundle_id or ""):
            return None
        try:
            return Record.from_json(self.path(bundle_id).read_bytes())
        except FileNotFoundError:
            return None

    def imported(self, bundle_id: str) -> dict | None:
        try:
            return json.loads(self.marker_path(bundle_id).read_bytes())
        except FileNotFoundError:
            return None

    def mark_imported(self, bundle_id: str, result: bytes, **info) -> None:
        """Keep the result and mark the bundle imported (the marker last)."""
        write_atomic(self.result_path(bundle_id), result)
        marker = {"imported": time.time(), "result_sha256": hashlib.sha256(result).hexdigest(), **info}
        write_atomic(self.marker_path(bundle_id), (json.dumps(marker, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))

    def records(self) -> Iterator[Record]:
        if not self.dir.is_dir():
            return
        for p in sorted(self.dir.glob("*.json")):
            if ID_PATTERN.fullmatch(p.stem):
                yield Record.from_json(p.read_bytes())

    @contextmanager
    def lock(self, bundle_id: str):
        """An exclusive lock on a bundle's record while its result is imported (two imports of
        one result cannot both pass the imported-once check). Creates no file."""
        fd = os.open(self.path(bundle_id), os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
