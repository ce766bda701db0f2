"""Playbook and inventory text: YAML as ansible-lint's yamllint settings want it (``---``, two
spaces, ``true``/``false``, multi-line strings as literal blocks), with comment blocks between
plays (a manual step, what a play does)."""
from __future__ import annotations

import yaml


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # a value used twice is written twice, never as &anchor / *alias
        return True

    def increase_indent(self, flow=False, indentless=False):  # sequences inside mappings indented
        return super().increase_indent(flow, False)


#: a longer one-line string is written folded (``>-``, broken at spaces: the same string when read)
FOLD = 100


def _str(dumper: yaml.SafeDumper, value: str):
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if len(value) > FOLD and " " in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=">")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def dump(data) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=FOLD + 40,
                     default_flow_style=False)


def comment(lines: list[str]) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)


def document(header: list[str], blocks: list[tuple[list[str], dict | None]]) -> str:
    """A YAML sequence (a playbook): *header* comment lines, then each block's comment lines and
    its item (None: a comment only)."""
    out = ["---\n", comment(header)]
    for lines, item in blocks:
        out.append("\n" + comment(lines))
        if item is not None:
            out.append(dump([item]))
    return "".join(out)
