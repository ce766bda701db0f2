"""firewall-ports: the ports a node of the guide accepts, as an nftables table of our own,
``inet runbook_<guide id>`` (``-`` and ``.`` as ``_``); no other table is read or touched.

Its one chain hooks ``input`` (``type filter hook input priority filter; policy accept``) and, in
order: accepts loopback, ``ct state established,related``, ICMP and ICMPv6, the management ports
of the node (``keep_open``: the transport's ``port`` where it has one, else 22, so the engine never
locks itself out), and the guide's ports; then rejects every other TCP packet (``tcp reset``) and
UDP packet (ICMP port unreachable). Other protocols pass. The guide's ports are
``KnowledgeBase.open_ports``: the inbound records of the family that apply to the guide's versions
(``since`` / ``until``) and its ``app_ports``, the same selection the site's port table prints.

The table is written in ONE ``nft -f -`` transaction (``table X {}`` + ``delete table X`` + the
table: an existing table is replaced atomically, a missing one made; a failed check leaves the old
one). The undo is ``delete table`` (the same create-then-delete, so it succeeds twice) when there
was none, else the text ``nft list table`` printed before (kept in the row's ``before``), fed back
the same way.

What a table of our own cannot do: nftables runs every base chain on the ``input`` hook, of every
table, in priority order. ``drop`` (and ``reject``) is final; ``accept`` only ends the chain that
says it, and the packet goes on to the next table's chain. So this table can close ports, never
open a port that another table drops. On a node running firewalld (its own ``inet firewalld``
table rejects what its zone does not allow), the guide's ports must also be opened in firewalld
(``clpfwctrl.sh --add``, ``firewall-cmd --add-port``: the guide's manual step); this table then
adds the closing of everything else. firewalld keeps its rules in a table of its own, but some of
its versions flush other tables when they start (firewalld/firewalld issues #742 and #863): after
a firewalld (re)start, ``verify`` shows whether this table is still there, and ``apply`` puts it
back.

Not in the records, so rejected here: the ports of a second to fourth mirror disk (the family
records md1's 29031, 29051 and 29071 only) and any UDP a node receives outside a connection it
started (a DHCP client's offers).
"""
from __future__ import annotations

import re
import shlex
from typing import Any

from runbook_engine.engine.actions import register_action
from runbook_engine.engine.actions.base import Action, Change, Context, Desired
from runbook_engine.engine.facts.nft import CHAIN, FAMILY, NftState, NftTable
from runbook_engine.engine.status import RowStatus
from runbook_engine.engine.transports.posix import q
from runbook_engine.model.rules import fits

DEFAULT_KEEP_OPEN = [22]  # SSH


def table_name(guide_id: str) -> str:
    return "runbook_" + re.sub(r"[-.]", "_", guide_id)


def _ports(ports: list[int]) -> str:
    for p in ports:
        if not (isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 65535):
            raise ValueError(f"refusing port {p!r}: not an integer from 1 to 65535")
    return "{ " + ", ".join(str(p) for p in ports) + " }"


def ruleset(table: str, value: dict) -> list[str]:
    """The nft lines of the table that *value* (keep_open, tcp, udp) describes."""
    if not fits("nft-name", table):
        raise ValueError(f"refusing nft table name {table!r}")
    lines = [f"table {FAMILY} {table} {{", f"  chain {CHAIN} {{",
             "    type filter hook input priority filter; policy accept;",
             '    iifname "lo" accept comment "loopback"',
             '    ct state established,related accept comment "established"',
             '    meta l4proto { icmp, icmpv6 } accept comment "icmp"',
             f'    tcp dport {_ports(value["keep_open"])} accept comment "keep-open"']
    for proto in ("tcp", "udp"):
        if value[proto]:
            lines.append(f'    {proto} dport {_ports(value[proto])} accept comment "guide"')
    lines += ['    meta l4proto tcp reject with tcp reset comment "reject"',
              '    meta l4proto udp reject with icmpx type port-unreachable comment "reject"',
              "  }", "}"]
    return lines


def layout(value: dict) -> list[str]:
    """The rule labels (engine/facts/nft.py) of the table :func:`ruleset` writes."""
    return (["chain", "loopback", "established", "icmp", "keep-open:tcp"]
            + [f"guide:{p}" for p in ("tcp", "udp") if value[p]] + ["reject:tcp", "reject:udp"])


def _transaction(table: str, lines: list[str]) -> str:
    """One ``nft -f -`` transaction: the table emptied away (made first, so that a missing one
    is no error), then *lines*."""
    t = q(table, "nft-name")
    head = [f"table {FAMILY} {t} {{}}", f"delete table {FAMILY} {t}"]
    return "printf '%s\\n' " + " ".join(shlex.quote(line) for line in head + lines) + " | nft -f -"


def restore_lines(text: str) -> list[str]:
    """`nft list table` output as lines to feed back (no empty line, no line break inside)."""
    return [line for line in text.replace("\r", "").split("\n") if line.strip() and "\0" not in line]


@register_action
class FirewallPorts(Action):
    name = "firewall-ports"
    platform = "linux"

    def desired(self, ctx: Context) -> list[Desired]:
        ctx.require_shell("sh", self.name)
        ports = ctx.kb.open_ports(ctx.guide)
        port = getattr(ctx.target.options, "port", None)
        keep = [port] if isinstance(port, int) and not isinstance(port, bool) else list(DEFAULT_KEEP_OPEN)
        table = table_name(ctx.guide.id)
        value = {"keep_open": keep, "tcp": ports["tcp"], "udp": ports["udp"]}
        return [Desired(ctx.target.name, f"nft {FAMILY} {table}", value, {"table": table})]

    def facts(self, ctx: Context, desired: list[Desired]):
        return {d.target: NftTable(d.data["table"]) for d in desired}

    def plan(self, desired: list[Desired], facts: dict[str, Any]) -> list[Change]:
        rows = []
        for d in desired:
            st: NftState = facts[d.target]
            table = d.data["table"]
            current = None
            if st.exists:
                current = {k: st.ports.get(k, []) for k in ("keep_open", "tcp", "udp")}
                if st.layout != layout(d.value):
                    current["rules"] = st.layout  # edited behind the engine's back: rewritten
            row = Change(action=self.name, node=d.node, target=d.target, current=current, desired=d.value)
            if current != d.value:
                row.status = RowStatus.CHANGE
                row.commands = [_transaction(table, ruleset(table, d.value))]
                row.undo = ([_transaction(table, [])] if not st.exists
                            else [_transaction(table, restore_lines(st.text or ""))])
                row.before = {"ruleset": st.text if st.exists else None}
            rows.append(row)
        return rows
