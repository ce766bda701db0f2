"""The shape of the code keeps its promises: layers import one way, the runner knows no action
names, every ``action:`` in the guides names a registered action, no ``assert`` guards production
code in the engine."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ENGINE = REPO / "src" / "runbook_engine" / "engine"


def test_layers_import_one_way_and_no_sibling_modules_import_each_other_in_a_cycle():
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def _procedure_actions():
    for path in sorted(REPO.glob("kb/guides/*/procedure.yaml")) + sorted(REPO.glob("tests/data/guides/*/procedure.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for phase in data["phases"]:
            for step in phase["steps"]:
                if step.get("action"):
                    yield path, step["id"], step["action"]


def test_every_action_a_guide_names_is_a_registered_engine_action():
    from runbook_engine.engine.actions import actions

    known = actions()
    named = list(_procedure_actions())
    assert named, "no guide names an action"
    unknown = [(str(p.relative_to(REPO)), step, a) for p, step, a in named if a not in known]
    assert unknown == [], f"unknown actions (registered: {sorted(known)})"


def test_the_runner_names_no_action():
    from runbook_engine.engine.actions import actions

    text = (ENGINE / "runner.py").read_text(encoding="utf-8")
    strings = {n.value for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert strings.isdisjoint(actions()), sorted(strings & set(actions()))


def test_no_assert_guards_production_code_in_the_engine():
    found = [f"{p.relative_to(REPO)}:{n.lineno}" for p in sorted(ENGINE.rglob("*.py"))
             for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))) if isinstance(n, ast.Assert)]
    assert found == []


def test_each_transport_brings_its_own_inventory_keys():
    from runbook_engine.engine.transports import transport_class, transport_names

    assert {"local", "wine", "ssh", "rfc2136"} <= set(transport_names())
    assert set(transport_class("wine").Options.model_fields) == {"prefix"}
    assert set(transport_class("ssh").Options.model_fields) == {"host", "port", "user", "key", "known_hosts", "password_env"}
    assert set(transport_class("local").Options.model_fields) == {"command"}


def test_runbook_check_names_a_misspelt_action_at_its_line(tmp_path, capsys):
    import shutil

    from runbook_engine import cli

    shutil.copytree(REPO / "kb", tmp_path / "kb")
    (tmp_path / "snippets").symlink_to(REPO / "snippets", target_is_directory=True)
    proc = tmp_path / "kb" / "guides" / "surfnavi" / "procedure.yaml"
    text = proc.read_text(encoding="utf-8")
    proc.write_text(text.replace("action: services-manual", "action: services-manaul"), encoding="utf-8")
    line = text[: text.index("action: services-manual")].count("\n") + 1
    assert cli.main(["--root", str(tmp_path), "check"]) == 2
    err = capsys.readouterr().err
    assert f"kb/guides/surfnavi/procedure.yaml:{line}: step 'services-manual': unknown action 'services-manaul'" in err, err


@pytest.mark.parametrize("step_id,old,new,expected", [
    ("preflight", "mode: check", "mode: automated", "action 'preflight' only reads and reports: the step's mode must be 'check'"),
    ("services-manual", "mode: automated", "mode: check", "action 'services-manual' changes nodes: a step with mode 'check'"),
])
def test_a_check_is_never_labelled_an_automated_change_nor_the_other_way(tmp_path, capsys, step_id, old, new, expected):
    """A step's mode says what its action does: `check` for a read-only action, `automated` for one
    that changes nodes; `runbook check` names a step that claims otherwise at its mode line."""
    import shutil

    from runbook_engine import cli

    shutil.copytree(REPO / "kb", tmp_path / "kb")
    (tmp_path / "snippets").symlink_to(REPO / "snippets", target_is_directory=True)
    proc = tmp_path / "kb" / "guides" / "surfnavi" / "procedure.yaml"
    text = proc.read_text(encoding="utf-8")
    start = text.index(f"      - id: {step_id}\n")
    pos = text.index(old, start)
    proc.write_text(text[:pos] + new + text[pos + len(old):], encoding="utf-8")
    line = text[:pos].count("\n") + 1
    assert cli.main(["--root", str(tmp_path), "check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"kb/guides/surfnavi/procedure.yaml:{line}: step '{step_id}': "), err
    assert expected in err[0]
