"""Jinja text the playbooks share: string literals, the engine's batch markers split into
per-command output and exit code, and the nftables table of firewall-ports read back into the
engine's terms (engine/facts/nft.py: the rule labels and the accepted ports)."""
from __future__ import annotations

import json
import re

from runbook_engine.engine.transports.base import MARK_BEGIN, MARK_END

TEMPLATE_MARKS = ("{{", "{%", "{#")


#: a backslash sequence that ansible-core reads differently in a template (``{{ }}``: as written)
#: and in a conditional (``when``, ``that``: Python's escapes, ``\\1`` becoming chr(1)); ``\\d``,
#: ``\\s``, ``\\.`` and ``\\r``, ``\\n``, ``\\t`` mean the same to a regex either way
_AMBIGUOUS = re.compile(r"\\[0-9xuUNabfv\\'\"]|\\$")


def lit(text: str) -> str:
    """*text* (a regex or a value) as a Jinja string literal, refused where its meaning would
    depend on where Ansible reads it (see _AMBIGUOUS) or where it holds a quote."""
    if "'" in text or _AMBIGUOUS.search(text):
        raise ValueError(f"not a safe Jinja literal (a quote or an ambiguous backslash): {text[:80]}")
    return "'" + text + "'"


def plain(text: str, what: str) -> str:
    """*text*, refused if Ansible would template it (a value never reaches Jinja as syntax)."""
    for mark in TEMPLATE_MARKS:
        if mark in text:
            raise ValueError(f"{what} holds {mark!r}, which Ansible would read as a template: {text[:80]}")
    return text


def split_markers(register: str) -> str:
    """The list of ``[index, output, exit code]`` of each command of a batch's output (the
    engine's markers, transports/base.py and posix.py), as a Jinja expression."""
    regex = f"(?s){MARK_BEGIN}([0-9]+)\\r?\\n(.*?){MARK_END}[0-9]+:(-?[0-9]+)"
    return f"{{{{ {register}.stdout | regex_findall({lit(regex)}) }}}}"


def marks_missing(register: str, count: int) -> str:
    """True (a Jinja condition) unless the output holds *count* end markers."""
    return f"{register}.stdout | regex_findall({lit(MARK_END + '[0-9]+:')}) | length != {count}"


def any_failed(register: str) -> str:
    """True (a Jinja condition) when a command of the batch ended with another exit code than 0."""
    regex = MARK_END + "[0-9]+:(-?[0-9]+)"
    return f"{register}.stdout | regex_findall({lit(regex)}) | reject('equalto', '0') | list | length > 0"


def nft_signature(json_text: str) -> str:
    """A Jinja template whose value says what a table of ``nft -j list table`` output (the Jinja
    expression *json_text*) holds in the engine's terms: ``sig`` and the JSON of its rule labels
    and ports (engine/facts/nft.py: parse_table, _rule_label). Compared with
    :func:`nft_expected`."""
    return (
        "{%- set ns = namespace(labels=[], keep_open=[], tcp=[], udp=[]) -%}\n"
        f"{{%- for i in ({json_text} | from_json).nftables | default([]) -%}}\n"
        "{%- if i.chain is defined -%}\n"
        "{%- set c = i.chain -%}\n"
        "{%- set ns.labels = ns.labels + [('chain' if c.name == 'input' and c.type | default('') == 'filter'"
        " and c.hook | default('') == 'input' and c.prio | default('') == 0"
        " and c.policy | default('accept') == 'accept' else 'other')] -%}\n"
        "{%- elif i.rule is defined -%}\n"
        "{%- set r = i.rule -%}\n"
        "{%- set e = r.expr | default([]) -%}\n"
        "{%- set m = e | selectattr('match', 'defined') | map(attribute='match') | list -%}\n"
        "{%- set v = e | rejectattr('match', 'defined') | map('dict2items') | flatten | map(attribute='key') | list -%}\n"
        "{%- set label = namespace(value='other') -%}\n"
        "{%- if r.chain | default('') == 'input' and m | length == 1 and v | length == 1 and e | length == 2 -%}\n"
        "{%- set cm = r.comment | default('') -%}\n"
        "{%- set left = m[0].left | default({}) -%}\n"
        "{%- set right = m[0].right | default(none) -%}\n"
        "{%- set vals = right.set if (right is mapping and right.set is defined)"
        " else (right if (right is sequence and right is not string) else [right]) -%}\n"
        "{%- set meta = (left.meta | default({})).key | default('') if left is mapping else '' -%}\n"
        "{%- set pl = left.payload | default({}) if left is mapping else {} -%}\n"
        "{%- if vals | select('mapping') | list | length > 0 -%}\n"
        "{%- elif cm == 'loopback' and v[0] == 'accept' and meta == 'iifname' and vals == ['lo'] -%}"
        "{%- set label.value = cm -%}\n"
        "{%- elif cm == 'established' and v[0] == 'accept' and (left.ct | default({})).key | default('') == 'state'"
        " and (vals | map('string') | sort) == ['established', 'related'] -%}{%- set label.value = cm -%}\n"
        "{%- elif cm == 'icmp' and v[0] == 'accept' and meta == 'l4proto' -%}{%- set label.value = cm -%}\n"
        "{%- elif cm in ['keep-open', 'guide'] and v[0] == 'accept' and pl.field | default('') == 'dport'"
        " and pl.protocol | default('') in ['tcp', 'udp'] and vals | reject('integer') | list | length == 0"
        " and not (cm == 'keep-open' and pl.protocol != 'tcp') -%}\n"
        "{%- set label.value = cm ~ ':' ~ pl.protocol -%}\n"
        "{%- if cm == 'keep-open' -%}{%- set ns.keep_open = ns.keep_open + vals -%}\n"
        "{%- elif pl.protocol == 'tcp' -%}{%- set ns.tcp = ns.tcp + vals -%}\n"
        "{%- else -%}{%- set ns.udp = ns.udp + vals -%}{%- endif -%}\n"
        "{%- elif cm == 'reject' and v[0] == 'reject' and meta == 'l4proto' and vals | length == 1"
        " and vals[0] in [6, 17, 'tcp', 'udp'] -%}\n"
        "{%- set label.value = 'reject:' ~ {6: 'tcp', 17: 'udp', 'tcp': 'tcp', 'udp': 'udp'}[vals[0]] -%}\n"
        "{%- endif -%}\n"
        "{%- endif -%}\n"
        "{%- set ns.labels = ns.labels + [label.value] -%}\n"
        "{%- elif i.metainfo is not defined and i.table is not defined -%}\n"
        "{%- set ns.labels = ns.labels + ['other'] -%}\n"
        "{%- endif -%}\n"
        "{%- endfor -%}\n"
        "sig {{ {'labels': ns.labels, 'keep_open': ns.keep_open | unique | sort, 'tcp': ns.tcp | unique | sort,"
        " 'udp': ns.udp | unique | sort} | to_json }}"
    )


def nft_expected(labels: list[str], value: dict) -> str:
    """What :func:`nft_signature` gives for the table the engine writes."""
    data = {"labels": labels, "keep_open": sorted(set(value["keep_open"])), "tcp": sorted(set(value["tcp"])),
            "udp": sorted(set(value["udp"]))}
    return "sig " + json.dumps(data, separators=(", ", ": "))


_BREAKS = (" and ", " or ", " | ", " if ", " else ")


def fold(text: str, width: int = 110) -> str:
    """*text* (Jinja) with a line break before an operator or a filter wherever a line would be
    longer than *width*, never inside a string literal: the same template, lines lint accepts."""
    out_lines = []
    for line in text.split("\n"):
        while len(line) > width:
            cut, quoted, i = None, False, 0
            while i < len(line):
                ch = line[i]
                if ch == "\\" and quoted:
                    i += 2
                    continue
                if ch == "'":
                    quoted = not quoted
                elif not quoted and i > 20 and any(line.startswith(b, i) for b in _BREAKS):
                    if i <= width or cut is None:
                        cut = i
                    if i > width:
                        break
                i += 1
            if cut is None:
                break
            out_lines.append(line[:cut])
            line = "  " + line[cut + 1:]
        out_lines.append(line)
    return "\n".join(out_lines)
