"""The example inventories of real clusters (kb/inventories/): each is an inventory the engine's
own loader accepts, for a guide of kb/, valid against the inventory's JSON Schema; the commands
shown with them parse with the `runbook` command line; the site shows each file exactly as it is
and its commands filled in, in both languages. So the examples cannot rot."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from runbook_engine import cli
from runbook_engine.cli.kb import schema_files
from runbook_engine.engine.inventory import SCHEMA_FILE, load_inventory
from runbook_engine.model import loader
from runbook_engine.model.project import Project

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "kb" / "inventories"
LANGS = ["ja", "en"]


@pytest.fixture(scope="module")
def kb():
    return Project.find(REPO).knowledge


def _examples(kb):
    assert kb.inventories is not None and kb.inventories.examples
    return [(e, load_inventory(FOLDER / e.file)) for e in kb.inventories.examples]


def test_every_example_inventory_loads_with_the_engines_loader_for_a_guide_of_kb(kb):
    examples = _examples(kb)
    for example, inv in examples:
        assert inv.guide in kb.guides, example.file
        assert len(inv.nodes) >= 2, example.file  # a cluster
    transports = {n.transport for _, inv in examples for n in inv.nodes}
    # Windows nodes over SSH, and nodes without remote access that a bundle reaches
    assert {"ssh", "local"} <= transports
    ssh = [n for _, inv in examples for n in inv.nodes if n.transport == "ssh"]
    assert all(n.options.known_hosts.is_absolute() for n in ssh)  # resolved beside the inventory


def test_every_file_of_kb_inventories_is_an_explained_example(kb):
    listed = {e.file for e in kb.inventories.examples}
    assert listed == {p.name for p in FOLDER.glob("*.yaml")} - {loader.INVENTORY_EXAMPLES}
    assert set(kb.inventory_files) == listed


def test_inventory_json_schema_is_fresh_and_validates_the_examples():
    import jsonschema  # a test dependency: never skipped

    files = schema_files()
    assert (REPO / "schema" / SCHEMA_FILE).read_text(encoding="utf-8") == files[SCHEMA_FILE], \
        f"schema/{SCHEMA_FILE} is stale: run runbook schema"
    schema = json.loads(files[SCHEMA_FILE])
    for path in sorted(FOLDER.glob("*.yaml")):
        if path.name == loader.INVENTORY_EXAMPLES:
            continue
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# yaml-language-server: $schema=../../schema/{SCHEMA_FILE}", path.name
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)
    # and it refuses what the engine refuses: a key no transport has
    bad = yaml.safe_load((FOLDER / "windows-ssh.yaml").read_text(encoding="utf-8"))
    bad["nodes"][0]["password"] = "secret"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def _commands(example, inv) -> list[str]:
    values = {"guide": inv.guide, "node": inv.nodes[0].name, "inventory": example.file}
    return [c.format(**values) for c in example.commands]


def test_example_commands_are_runbook_command_lines_that_parse(kb):
    shown = 0
    for example, inv in _examples(kb):
        for line in _commands(example, inv):
            argv = shlex.split(line)
            assert argv[0] == "runbook"
            args = cli.parser().parse_args(argv[1:])  # SystemExit on an unknown command or option
            assert getattr(args, "inventory", None) == example.file, line
            shown += 1
    assert shown


@pytest.mark.parametrize("lang", LANGS)
def test_site_inventories_page_shows_each_example_as_it_is_with_its_commands(built_site, site_pages, kb, lang):
    import html

    rel = ("en/" if lang == "en" else "") + "inventories/index.html"
    page = site_pages[rel]
    text = " ".join(re.sub(r"<[^>]+>", " ", html.unescape((built_site.out / rel).read_text(encoding="utf-8"))).split())
    assert page.headings[0].text == kb.label("inventories")(lang)
    assert " ".join(kb.inventories.intro(lang).split()) in text
    headings = {h.id: h.text for h in page.headings}
    code = [c.rstrip("\n") for c in page.code_blocks]
    for example, inv in _examples(kb):
        assert headings[example.id] == example.title(lang)
        assert " ".join(example.text(lang).split()) in text
        for step in example.steps:
            assert " ".join(step(lang).split()) in text
        source = (FOLDER / example.file).read_text(encoding="utf-8").splitlines()
        assert "\n".join(source[1:]) in code, example.file  # the file without its editor's schema line
        if example.commands:
            assert "\n".join(_commands(example, inv)) in code
    home = (built_site.out / ("en/" if lang == "en" else "") / "index.html").read_text(encoding="utf-8")
    assert 'href="inventories/"' in home
