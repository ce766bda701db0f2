"""DNS facts: the values a server holds for one RRset (one query through the rfc2136 transport)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from runbook_engine.engine.facts.base import Fact
from runbook_engine.engine.transports.base import CommandResult


@dataclass(frozen=True)
class RRset(Fact):
    name: str  # fully qualified
    rtype: str

    def commands(self) -> list[dict]:
        return [{"op": "query", "name": self.name, "rtype": self.rtype}]

    def process(self, results: list[CommandResult]) -> list[str]:
        if results[0].rc != 0:
            raise RuntimeError(f"query {self.name} {self.rtype} failed: {results[0].stdout}")
        return sorted(json.loads(results[0].stdout))
