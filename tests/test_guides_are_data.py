"""A new guide is data only: a guide folder dropped into kb/guides/ of a copy of this project goes
through `runbook check`, `runbook build` (both languages, its pages in the nav, found by search),
notebook generation and `runbook plan` on a sandbox node shaped by it, with no change to src/,
docs/, snippets/ or mkdocs.yml (they are copied byte for byte and compared afterwards).

The guides tried are the fixture guides under tests/data/guides/ (written for this test, in both
languages, with their own services, registry key, script folder and DNS records).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugins.cluster import TEMPLATE_CACHE
from plugins.components import require_executable
from plugins.project import project_files

REPO = Path(__file__).resolve().parents[1]
FIXTURES = sorted(p for p in (REPO / "tests" / "data" / "guides").glob("*") if p.is_dir())
CODE_DIRS = ("src", "docs", "snippets", "overrides")


def _copy_project(dest: Path) -> Path:
    for rel in project_files(REPO):
        if rel.startswith(("tests/", "bench/", "runbooks/")):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    (dest / "runbooks").mkdir(exist_ok=True)
    return dest


def _digest(root: Path) -> dict[str, str]:
    files = [root / "mkdocs.yml"] + [p for d in CODE_DIRS for p in sorted((root / d).rglob("*")) if p.is_file()]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files if "__pycache__" not in p.parts}


def _runbook(root: Path, *args: str, state: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(REPO / "src")}
    env.pop("RUNBOOK_ROOT", None)
    # the copy has no .runbook/vendor: use the work tree's mermaid.min.js (scripts/setup installs it)
    env.setdefault("RUNBOOK_MERMAID_JS", str(REPO / ".runbook" / "vendor" / "mermaid" / "mermaid.min.js"))
    if state is not None:
        env["RUNBOOK_STATE"] = str(state)
    proc = subprocess.run([sys.executable, "-m", "runbook_engine.cli", "--root", str(root), *args],
                          capture_output=True, text=True, env=env, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"runbook {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module", params=[p.name for p in FIXTURES] or ["(none)"])
def guide_project(request, tmp_path_factory):
    if not FIXTURES:
        pytest.fail("no fixture guide under tests/data/guides/")
    gid = request.param
    root = _copy_project(tmp_path_factory.mktemp("kb-project") / "main")
    before = _digest(root)
    shutil.copytree(REPO / "tests" / "data" / "guides" / gid, root / "kb" / "guides" / gid)
    yield gid, root
    assert _digest(root) == before, "adding a guide changed src/, docs/, snippets/ or mkdocs.yml"


def test_new_guide_as_data_only_passes_check(guide_project):
    gid, root = guide_project
    proc = _runbook(root, "check", "--lang", "en")
    in_repo = len([p for p in (REPO / "kb" / "guides").iterdir() if p.is_dir()])
    assert f"{in_repo + 1} guide(s)" in proc.stdout


def test_new_guide_as_data_only_builds_pages_nav_and_search_in_both_languages(guide_project, tmp_path):
    from runbook_engine.model.loader import load

    gid, root = guide_project
    guide = load(root / "kb").guides[gid]
    out = tmp_path / "site"
    _runbook(root, "build", "--out", str(out))
    for lang, prefix in (("ja", ""), ("en", "en/")):
        page = out / prefix / gid / "index.html"
        assert page.is_file(), f"{lang}: no guide page for {gid}"
        html = page.read_text(encoding="utf-8")
        assert guide.meta.title(lang) in html
        # the guide has a section in the nav of every page, titled by its product name
        home = (out / prefix / "index.html").read_text(encoding="utf-8")
        assert f'href="{gid}/' in home or f'href="./{gid}/' in home, f"{lang}: {gid} missing from the home page"
        assert guide.meta.product(lang) in home
        # search: the guide's pages are in this language's index, with its title
        index = json.loads((out / prefix / "search" / "search_index.json").read_text(encoding="utf-8"))
        locations = {d["location"].split("#")[0] for d in index["docs"]}
        assert f"{gid}/" in locations, f"{lang}: search index has no page of {gid}"
        titles = " ".join(d["title"] for d in index["docs"] if d["location"].startswith(f"{gid}/"))
        assert guide.meta.title(lang) in titles or guide.meta.product(lang) in titles
        # a Windows guide's commands (besides ARMLOAD / ARMKILL) are in its scripts' case tables,
        # declared from its data (batch/intent.py) like every other program the script runs
        if guide.scripts is not None and guide.scripts.commands and guide.scripts.features:
            scripts_page = (out / prefix / gid / "scripts" / "index.html").read_text(encoding="utf-8")
            for name, kind in (("START.BAT", "start"), ("STOP.BAT", "stop")):
                assert f'data-script="{name}"' in scripts_page, f"{lang}: no case table of {name}"
                table = scripts_page.split(f'data-script="{name}"', 1)[1].split("</table>", 1)[0]
                for c in guide.scripts.commands:
                    if c.script == kind:
                        assert c.argv[0].upper() in table, f"{lang}: {c.id} missing from the case table of {name}"
            # and in the table of commands, with their text, quoted as cmd passes them on
            for c in guide.scripts.commands:
                assert guide.scripts.resolve(c.argv[0]) in scripts_page and c.text(lang) in scripts_page, c.id
            assert all(s.name in scripts_page for s in guide.scripts.settings)
    # sections without data are left out: a guide without errata has no errata page
    if guide.errata is None:
        assert not (out / gid / "errata").exists()
    # notebooks were generated for both languages and name the guide
    for lang in ("ja", "en"):
        nb = json.loads((root / "runbooks" / f"{gid}.{lang}.ipynb").read_text(encoding="utf-8"))
        assert nb["metadata"]["runbook"]["guide"] == gid
        assert nb["metadata"]["runbook"]["steps"] == [s.id for s in guide.steps()]


@pytest.mark.wine
def test_new_guide_as_data_only_plans_on_a_sandbox_node_shaped_by_it(guide_project, tmp_path):
    require_executable("wine", "wine")
    require_executable("x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64")
    from runbook_engine.model.loader import load

    gid, root = guide_project
    guide = load(root / "kb").guides[gid]
    state = tmp_path / "state"
    (state / "sandbox").mkdir(parents=True)
    TEMPLATE_CACHE.mkdir(parents=True, exist_ok=True)
    (state / "sandbox" / "templates").symlink_to(TEMPLATE_CACHE, target_is_directory=True)
    try:
        _runbook(root, "sandbox", "create", "--guide", gid, "--nodes", "1", "--no-dns", state=state)
        node = guide.meta.topology.nodes[0].id
        proc = _runbook(root, "plan", gid, "--node", node, "--json", state=state, check=False)
        assert proc.returncode in (0, 1), proc.stderr
        report = json.loads(proc.stdout)
        assert report["guide"] == gid
        by_step = {r["step"]: r for r in report["results"]}
        automated = [s for s in guide.steps() if s.mode in ("automated", "check")]
        for step in automated:
            assert step.id in by_step, f"step {step.id} missing from the plan"
        # nothing fails, except that a fresh sandbox has no delivered configuration yet
        undelivered = [r for r in report["results"] if r["action"] == "installed-scripts"
                       and all("not been delivered" in row["message"] for row in r["rows"])]
        statuses = {r["status"] for r in report["results"] if r not in undelivered}
        assert not statuses & {"error", "unreachable"}, report
        # the node shows the guide's own services, freshly installed (automatic start, running):
        # the plan sets exactly the guide's manual services to manual start
        targets = {row["target"] for r in report["results"] for row in r["rows"] if row["status"] == "change"}
        for s in guide.manual_services():
            assert s.service in targets
        # and its scripts, into the inventory's configuration folder as start.bat and stop.bat
        import yaml

        folder = yaml.safe_load((state / "sandbox" / "inventory.yaml").read_text())["configuration"]["folder"]
        scripts = {t.rsplit("\\", 1)[1] for t in targets if t.lower().startswith(folder.lower() + "\\scripts\\")}
        assert scripts == {"start.bat", "stop.bat"}, targets
    finally:
        _runbook(root, "sandbox", "destroy", state=state, check=False)
