"""nftables facts: one table of ours (``inet runbook_<guide>``), read three ways in one batch:
``nft -j list tables inet`` (does it exist; nft missing is an error, not an absence), ``nft -j list
table inet X`` (parsed) and ``nft list table inet X`` (the text, valid nft input: what an undo
feeds back to restore it).

The parse knows the rules the firewall-ports action writes by their comments (``loopback``,
``established``, ``icmp``, ``keep-open``, ``guide``, ``reject``) and returns the accepted ports by
protocol plus the layout: one label per rule in chain order (``keep-open:tcp``, ``reject:udp``,
...); a rule or chain that is not ours in shape is ``other``, so a table edited behind the
engine's back differs from the one it wants.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from runbook_engine.engine.facts.base import Fact
from runbook_engine.engine.transports.base import CommandResult
from runbook_engine.engine.transports.posix import q

FAMILY = "inet"
CHAIN = "input"
#: a port range in a set is expanded up to this many ports (a larger one is not ours)
_MAX_RANGE = 1024
_PROTOCOLS = {6: "tcp", 17: "udp", "tcp": "tcp", "udp": "udp"}


@dataclass(frozen=True)
class NftState:
    exists: bool
    ports: dict[str, list[int]] = field(default_factory=dict)  # keep_open, tcp, udp
    layout: list[str] = field(default_factory=list)
    text: str | None = None  # `nft list table` output


def _values(right: Any) -> list | None:
    """The values a match compares with: one value, a set, ranges expanded; None if unknown."""
    # one value, {"set": [...]} (an anonymous set), or a plain list (flags: ct state a,b)
    items = right["set"] if isinstance(right, dict) and "set" in right else right if isinstance(right, list) else [right]
    out: list = []
    for item in items:
        if isinstance(item, dict) and "range" in item:
            lo, hi = item["range"]
            if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= hi - lo < _MAX_RANGE):
                return None
            out.extend(range(lo, hi + 1))
        elif isinstance(item, (int, str)):
            out.append(item)
        else:
            return None
    return out


def _rule_label(rule: dict, ports: dict[str, list[int]]) -> str:
    """The rule's label (see the module docstring); a port rule adds its ports to *ports*."""
    comment, exprs = rule.get("comment"), rule.get("expr") or []
    matches = [e["match"] for e in exprs if "match" in e]
    verdicts = [k for e in exprs for k in e if k != "match"]
    if len(matches) != 1 or len(verdicts) != 1 or len(exprs) != 2:
        return "other"
    left, right, verdict = matches[0].get("left") or {}, matches[0].get("right"), verdicts[0]
    values = _values(right)
    if values is None:
        return "other"
    if comment == "loopback" and verdict == "accept" and left.get("meta", {}).get("key") == "iifname" and values == ["lo"]:
        return comment
    if comment == "established" and verdict == "accept" and left.get("ct", {}).get("key") == "state" \
            and sorted(map(str, values)) == ["established", "related"]:
        return comment
    if comment == "icmp" and verdict == "accept" and left.get("meta", {}).get("key") == "l4proto":
        return comment
    payload = left.get("payload", {})
    if comment in ("keep-open", "guide") and verdict == "accept" and payload.get("field") == "dport" \
            and payload.get("protocol") in ("tcp", "udp") and all(isinstance(v, int) for v in values):
        if comment == "keep-open" and payload["protocol"] != "tcp":
            return "other"
        key = "keep_open" if comment == "keep-open" else payload["protocol"]
        ports[key] = sorted(set(ports.get(key, [])) | set(values))
        return f"{comment}:{payload['protocol']}"
    if comment == "reject" and verdict == "reject" and left.get("meta", {}).get("key") == "l4proto" \
            and len(values) == 1 and values[0] in _PROTOCOLS:
        return f"reject:{_PROTOCOLS[values[0]]}"
    return "other"


def parse_table(data: dict, table: str) -> tuple[dict[str, list[int]], list[str]]:
    """``nft -j list table`` output -> (accepted ports by key, layout)."""
    ports: dict[str, list[int]] = {"keep_open": [], "tcp": [], "udp": []}
    layout: list[str] = []
    for item in data.get("nftables", []):
        if "chain" in item:
            c = item["chain"]
            ours = (c.get("name") == CHAIN and c.get("type") == "filter" and c.get("hook") == "input"
                    and c.get("prio") == 0 and c.get("policy", "accept") == "accept")
            layout.append("chain" if ours else "other")
        elif "rule" in item:
            r = item["rule"]
            layout.append(_rule_label(r, ports) if r.get("chain") == CHAIN else "other")
        elif not ({"metainfo", "table"} & set(item)):
            layout.append("other")  # a set, a map, a flowtable ...: not ours
    return ports, layout


@dataclass(frozen=True)
class NftTable(Fact):
    name: str

    def commands(self) -> list[str]:
        t = q(self.name, "nft-name")
        return [f"nft -j list tables {FAMILY}", f"nft -j list table {FAMILY} {t}", f"nft list table {FAMILY} {t}"]

    def process(self, results: list[CommandResult]) -> NftState:
        tables, as_json, as_text = results
        if tables.rc != 0:
            raise RuntimeError(f"nft -j list tables exited {tables.rc} (is nftables installed?): {tables.stdout[:200]}")
        try:
            listed = json.loads(tables.stdout or "{}")
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"nft -j list tables: not JSON ({exc})") from None
        names = {i["table"].get("name") for i in listed.get("nftables", []) if "table" in i
                 and i["table"].get("family") == FAMILY}
        if self.name not in names:
            return NftState(exists=False)
        if as_json.rc != 0 or as_text.rc != 0:
            raise RuntimeError(f"nft list table {FAMILY} {self.name} exited {as_json.rc or as_text.rc}")
        ports, layout = parse_table(json.loads(as_json.stdout), self.name)
        return NftState(exists=True, ports=ports, layout=layout, text=as_text.stdout)
