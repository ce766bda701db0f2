"""A new guide folder from the templates in snippets/scaffold/: the family in, YAML files out.

Every file the loader requires of a guide gets a template ``scaffold/<file>.j2``; every fact and
text the author must write is the placeholder :data:`~runbook_engine.model.rules.PLACEHOLDER`,
which `runbook check` refuses one by one until it is written.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

from runbook_engine.artifacts.scripts import SCRIPT_NAMES, SHELL_SCRIPT_NAMES
from runbook_engine.artifacts.templates import environment
from runbook_engine.model.jsonschema import schema_file
from runbook_engine.model.loader import GUIDE_FILES
from runbook_engine.model.rules import LANGS, PLACEHOLDER
from runbook_engine.model.schema import Family

#: Where the scripts of a new guide go on a node, by default (the author may change it).


def script_message_ids(snippets: Path, os: str = "windows") -> list[str]:
    """The message ids the script templates of *os* ask a guide for, in the order they first
    appear (found by rendering each template with a recording message function)."""
    seen: list[str] = []

    def record(msg_id: str) -> str:
        if msg_id not in seen:
            seen.append(msg_id)
        return ""

    env = environment(snippets)
    guide = SimpleNamespace(product=lambda lang: "")
    if os == "linux":
        one = [{"text": "", "line": "true", "failure": None}]
        for name in SHELL_SCRIPT_NAMES:
            env.get_template(f"scripts/linux/{name}.j2").render(
                guide=guide, lang=LANGS[0], L=lambda label_id: "", Q=record, settings=[],
                commands={"START": one, "FAILOVER": one})
        return seen
    for name in SCRIPT_NAMES:
        env.get_template(f"scripts/{name}.j2").render(
            guide=guide, lang=LANGS[0], L=lambda label_id: "",
            M=record, common=[], late=[], never_stop=[],
            settings=[], commands={"START": [], "FAILOVER": []}, failures=[])  # a command's failure message is the guide's own
    return seen


def _flow_text(value: str) -> str:
    return "{" + ", ".join(f"{lang}: {value}" for lang in LANGS) + "}"


def render_scaffold(family: Family, guide_id: str, snippets: Path, *, product: str | None = None) -> dict[str, str]:
    """File name -> YAML text of every file a guide folder must hold (optional files are left out)."""
    env = environment(snippets)
    base = {
        "id": guide_id,
        "family": family,
        "P": PLACEHOLDER,
        "T": _flow_text(PLACEHOLDER),
        "product": _flow_text(_yaml_scalar(product)) if product else _flow_text(PLACEHOLDER),
        "messages": script_message_ids(snippets, family.os),
    }
    out = {}
    for fname, (section, _spec) in GUIDE_FILES.items():
        if fname not in SCAFFOLD_FILES:
            continue
        schema = f"../../../schema/{schema_file(section)}"
        out[fname] = env.get_template(f"scaffold/{fname}.j2").render(schema=schema, **base)
    return out


#: The files a new guide starts with: those of a guide with a script resource, services and DNS
#: records (delete the ones the application does not need); errata and origin are for guides
#: made from an existing document.
SCAFFOLD_FILES = tuple(f for f in GUIDE_FILES if f not in ("errata.yaml", "origin.yaml", "monitors.yaml", "upgrade.yaml"))


def _yaml_scalar(text: str) -> str:
    """*text* as a YAML flow scalar: quoted (JSON is YAML) unless plain style keeps it as it is."""
    plain = bool(text) and text.strip() == text and text[0] not in "-?" \
        and not any(c in text for c in ":#{}[],&*!|>'\"%@`")
    return text if plain else json.dumps(text, ensure_ascii=False)


def write_folder(folder: Path, files: dict[str, str]) -> Path:
    """Write *files* into a new *folder* at once: into a temporary folder beside it, then renamed.
    Raises FileExistsError if *folder* exists."""
    folder = Path(folder)
    if folder.exists():
        raise FileExistsError(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="\n")
        os.rename(tmp, folder)  # fails rather than merges if the folder appeared with files meanwhile
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
