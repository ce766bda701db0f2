"""`runbook new GUIDE_ID` starts a guide from one command: every file the loader expects, each
with its schema reference, and placeholders that `runbook check` names one by one until they are
written. A bad or existing id is refused with one line and exit code 2, and nothing is written."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema  # a test dependency: never skipped
import pytest
import yaml

from runbook_engine import cli
from runbook_engine.model.jsonschema import render as render_schemas
from runbook_engine.artifacts.scaffold import SCAFFOLD_FILES
from runbook_engine.model.rules import PLACEHOLDER

REPO = Path(__file__).resolve().parents[1]
REQUIRED = sorted(SCAFFOLD_FILES)
SCHEMA_LINE = re.compile(r"# yaml-language-server: \$schema=(\S+)$")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(REPO / "kb", root / "kb")
    shutil.copytree(REPO / "snippets", root / "snippets")
    return root


def _placeholder_lines(folder: Path) -> set[tuple[str, int]]:
    """(file, line) of every line holding a placeholder outside a comment."""
    out = set()
    for f in sorted(folder.glob("*.yaml")):
        for no, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            if PLACEHOLDER in line.split("#", 1)[0]:
                out.add((f"kb/guides/{folder.name}/{f.name}", no))
    return out


def _repo_guides() -> list[str]:
    """The guide folders of this project's kb/ (the copy starts with them)."""
    return sorted(p.name for p in (REPO / "kb" / "guides").iterdir() if p.is_dir())


def _fill(folder: Path) -> None:
    """Write every placeholder as an author would: texts in both languages, values that fit."""
    values = {"service": "DemoSvc", "display_name": "Demo Service", "watch_id": "DemoWatch",
              "value": "/opt/demo", "argv": "[demo-ctl]"}
    lists = {"operating_systems": "Windows Server 2003", "os_product_patterns": "Windows Server.*2003"}
    for f in folder.glob("*.yaml"):
        text = f.read_text(encoding="utf-8")
        text = text.replace(f"{{ja: {PLACEHOLDER}, en: {PLACEHOLDER}}}", "{ja: 記入済みの文章, en: Written text}")
        text = text.replace(f"argv: [{PLACEHOLDER}]", f"argv: {PLACEHOLDER}")
        for key, value in values.items():
            text = text.replace(f"{key}: {PLACEHOLDER}", f"{key}: {value}")
        for key, value in lists.items():
            text = re.sub(rf"({key}:\n\s+- ){PLACEHOLDER}", rf'\g<1>"{value}"', text)
        f.write_text(text, encoding="utf-8")


def test_runbook_new_writes_every_guide_file_with_its_schema_and_check_names_each_placeholder(project, capsys):
    assert cli.main(["--root", str(project), "new", "demo", "--family", "clusterpro-x-windows", "--product", "Demo Portal"]) == 0
    folder = project / "kb" / "guides" / "demo"
    schemas = render_schemas()
    assert sorted(p.name for p in folder.iterdir()) == REQUIRED
    assert sorted(p.name for p in folder.parent.iterdir()) == sorted(["demo", *_repo_guides()])  # no temp folder left
    for name in REQUIRED:
        text = (folder / name).read_text(encoding="utf-8")
        first = text.splitlines()[0]
        assert first == (REPO / "kb" / "guides" / "surfnavi" / name).read_text(encoding="utf-8").splitlines()[0]
        schema = json.loads(schemas[SCHEMA_LINE.match(first).group(1).split("/")[-1]])
        jsonschema.validate(yaml.safe_load(text), schema)  # an editor shows no error before check does
    assert yaml.safe_load((folder / "guide.yaml").read_text(encoding="utf-8"))["product"] == {"ja": "Demo Portal", "en": "Demo Portal"}
    capsys.readouterr()

    assert cli.main(["--root", str(project), "check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all("placeholder" in e for e in err), err
    reported = set()
    for e in err:
        m = re.match(r"^(kb/\S+?):(\d+): ", e)
        assert m, e
        reported.add((m.group(1), int(m.group(2))))
    assert len(reported) == len(err)  # one error per placeholder
    assert reported == _placeholder_lines(folder)


@pytest.mark.parametrize("family", ["clusterpro-x-windows", "clusterpro-x-linux"])
def test_a_scaffold_with_every_placeholder_written_passes_check(project, capsys, family):
    """On either family: a Linux scaffold's scripts are settings and commands, a Windows one's
    ARMLOAD services; both pass `runbook check` once every placeholder is written."""
    assert cli.main(["--root", str(project), "new", "demo", "--family", family]) == 0
    folder = project / "kb" / "guides" / "demo"
    _fill(folder)
    assert not _placeholder_lines(folder)
    capsys.readouterr()
    rc = cli.main(["--root", str(project), "check", "--lang", "en"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert f"{len(_repo_guides()) + 1} guide(s)" in out.out


@pytest.mark.parametrize("bad", ["Demo", "demo_portal", "-demo", "demo-", "../demo", "デモ", "a" * 65])
def test_a_guide_id_that_is_not_lower_case_kebab_is_refused_and_nothing_is_written(project, capsys, bad):
    before = sorted(p.name for p in (project / "kb" / "guides").iterdir())
    assert cli.main(["--root", str(project), "new", "--family", "clusterpro-x-windows", "--lang", "en", "--", bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a guide id" in err[0]
    assert sorted(p.name for p in (project / "kb" / "guides").iterdir()) == before
    assert not (project / "kb" / "demo").exists()


def test_an_existing_guide_id_is_refused_and_the_guide_is_untouched(project, capsys):
    guide = project / "kb" / "guides" / "surfnavi"
    before = {p.name: p.read_bytes() for p in guide.iterdir()}
    assert cli.main(["--root", str(project), "new", "--family", "clusterpro-x-windows", "--lang", "en", "surfnavi"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "exists already" in err[0]
    assert {p.name: p.read_bytes() for p in guide.iterdir()} == before
    assert sorted(p.name for p in guide.parent.iterdir()) == _repo_guides()
