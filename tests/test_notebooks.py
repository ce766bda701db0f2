"""Runbook notebooks: committed ones are fresh and clean, they run with nbclient on a sandbox node
(dry run by default, manual steps as gates, resume after confirmations), they also run under
papermill and nbconvert, and no secret ends up in anything they leave behind."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from runbook_engine.model.project import Project
from runbook_engine.artifacts.notebooks import render_all
from runbook_engine.publish.execute import RunRequest, run_notebook

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def test_committed_notebooks_are_fresh_byte_for_byte():
    for path, data in render_all(Project(REPO)).items():
        assert path.exists(), f"{path} missing: run runbook build"
        assert path.read_bytes() == data, f"{path.name} is stale: run runbook build"


def test_committed_notebooks_carry_no_outputs_and_stable_ids():
    for path in sorted((REPO / "runbooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        ids = [c.id for c in nb.cells]
        assert len(ids) == len(set(ids))
        for c in nb.cells:
            if c.cell_type == "code":
                assert c.outputs == [] and c.execution_count is None


def test_notebook_steps_are_the_guides_steps_in_order():
    kb = Project(REPO).knowledge
    guide = kb.guides["surfnavi"]
    for lang in ("ja", "en"):
        nb = nbformat.read(REPO / "runbooks" / f"surfnavi.{lang}.ipynb", as_version=4)
        steps = [c.metadata["runbook"]["step"] for c in nb.cells if "runbook" in c.metadata]
        assert steps == [s.id for s in guide.steps()]
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert 'mode = "plan"' in params.source  # dry run by default
        texts = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        for s in guide.steps():
            assert s.title(lang) in texts


# --- running on the sandbox -------------------------------------------------------------------

@pytest.fixture(scope="module")
def nb_sandbox(tmp_path_factory):
    from plugins.cluster import destroy, make_sandbox

    from runbook_engine.engine.runner import Runner

    sb = make_sandbox(tmp_path_factory.mktemp("nb-state"), nodes=2)
    try:
        # the cluster configuration as delivered before these runs (the scripts into the
        # configuration folder, then the delivery the sandbox stands in for), so that a notebook's
        # check of the installed scripts finds them as an operator's confirmed delivery would
        report = Runner(sb.project, sb.inv(), state=sb.state, steps=["script-files"]).run("apply")
        assert report.exit_code == 0, [(r.node, r.status, r.message) for r in report.results]
        sb.deliver()
        yield sb
    finally:
        destroy(sb)


def _answers(tmp_path: Path, guide, except_: set[str] = frozenset()) -> Path:
    data = {s.id: f"done by the test ({s.id})" for s in guide.steps() if s.mode == "manual" and s.id not in except_}
    p = tmp_path / "answers.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True))
    return p




@pytest.mark.wine
def test_a_run_without_confirmations_waits_for_the_operator_at_the_first_manual_step(nb_sandbox):
    """A dry run waits at the first manual step and still shows the whole procedure: every engine
    step planned, every later manual step on hold (pending), nothing skipped but what the guide's
    features leave out."""
    project = nb_sandbox.project
    guide = project.knowledge.guides["surfnavi"]
    s = run_notebook(project, RunRequest(guide="surfnavi", node="sv1", lang="en", inventory=str(nb_sandbox.inventory)))
    assert s["status"] == "waiting" and s["exit_code"] == 3
    assert s["waiting_at"] == "failover-group"
    by = {st["step"]: st for st in s["steps"]}
    assert list(by) == [x.id for x in guide.steps()]
    used = guide.features_in_use()
    for x in guide.steps()[1:]:
        if x.when and x.when not in used:
            assert by[x.id]["status"] == "skipped"
        elif x.mode == "manual":
            assert by[x.id]["status"] == "pending", by[x.id]
        else:
            assert by[x.id]["status"] in ("converged", "pending"), by[x.id]
    assert by["services-manual"]["status"] == "pending" and by["services-manual"]["changes"] > 0
    executed = nbformat.read(s["notebook"], as_version=4)
    shown = json.dumps([c.get("outputs", []) for c in executed.cells], ensure_ascii=False)
    assert "--confirm failover-group" in shown


@pytest.mark.wine
def test_apply_with_answers_converges_the_node_and_a_second_run_changes_nothing(nb_sandbox, tmp_path):
    project = nb_sandbox.project
    guide = project.knowledge.guides["surfnavi"]
    answers = _answers(tmp_path, guide)
    first = run_notebook(project, RunRequest(guide="surfnavi", node="sv2", lang="ja", mode="apply",
                                             inventory=str(nb_sandbox.inventory), answers=str(answers)))
    assert first["status"] == "ok", first
    by = {st["step"]: st for st in first["steps"]}
    assert by["services-manual"]["changes"] == len(guide.manual_services())
    # the configuration folder is on sv1: on sv2 the step is not this node's; its copies are checked
    assert by["script-files"]["status"] == "skipped" and by["script-files"]["changes"] == 0
    assert by["installed-scripts"]["status"] == "converged"
    second = run_notebook(project, RunRequest(guide="surfnavi", node="sv2", lang="ja", mode="apply",
                                              inventory=str(nb_sandbox.inventory)))
    # the confirmations of the first run are remembered for this node: the run resumes past them
    assert second["status"] == "ok", second
    assert sum(st["changes"] for st in second["steps"]) == 0
    assert {st["status"] for st in second["steps"] if st["kind"] == "manual"} <= {"confirmed", "skipped"}


def _manual_after(guide, step_id: str) -> list[str]:
    """The manual steps after *step_id*, in procedure order (what is left to confirm)."""
    ids = [s.id for s in guide.steps()]
    return [s.id for s in guide.steps() if s.mode == "manual" and ids.index(s.id) > ids.index(step_id)]


@pytest.mark.wine
def test_a_later_run_resumes_after_the_confirmed_steps(nb_sandbox, tmp_path):
    project = nb_sandbox.project
    guide = project.knowledge.guides["surfnavi"]
    # a node of its own for this test's confirmations
    first = run_notebook(project, RunRequest(guide="surfnavi", node="sv1", lang="en", inventory=str(nb_sandbox.inventory),
                                             answers=str(_answers(tmp_path, guide, except_={"driver-signing-ignore"}))))
    assert first["exit_code"] == 3 and first["waiting_at"] == "driver-signing-ignore"
    done = [st["step"] for st in first["steps"] if st["status"] in ("confirmed", "converged", "pending")]
    assert "services-manual" in done
    second = run_notebook(project, RunRequest(guide="surfnavi", node="sv1", lang="en", inventory=str(nb_sandbox.inventory),
                                              confirm=["driver-signing-ignore"]))
    # past the steps confirmed before (remembered) and the newly confirmed one, to the next gate:
    # confirmations are recorded only for steps the run reached
    assert second["exit_code"] == 3 and second["waiting_at"] == "interconnect-packet-filter-off"
    by = {st["step"]: st["status"] for st in second["steps"]}
    assert by["failover-group"] == by["driver-signing-ignore"] == "confirmed"
    third = run_notebook(project, RunRequest(guide="surfnavi", node="sv1", lang="en", inventory=str(nb_sandbox.inventory),
                                             confirm=_manual_after(guide, "driver-signing-ignore")))
    assert third["exit_code"] == 0, third
    audit = (project.state / "confirmations" / "sandbox.sv1.surfnavi.jsonl").read_text(encoding="utf-8")
    recs = [json.loads(l) for l in audit.splitlines()]
    assert any(r["step"] == "driver-signing-ignore" and r["how"] == "--confirm" for r in recs)
    assert all(r["operator"] and r["at"] for r in recs)


def _run_env(sb) -> dict:
    env = {**os.environ, "RUNBOOK_STATE": str(sb.state), "RUNBOOK_ROOT": str(REPO), "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    return env


@pytest.mark.wine
def test_the_notebook_runs_unchanged_under_papermill(nb_sandbox, tmp_path):
    out = tmp_path / "pm.ipynb"
    answers = _answers(tmp_path, nb_sandbox.project.knowledge.guides["surfnavi"])
    r = subprocess.run([str(VENV_BIN / "papermill"), str(REPO / "runbooks" / "surfnavi.en.ipynb"), str(out),
                        "-p", "node", "sv1", "-p", "inventory", str(nb_sandbox.inventory), "-p", "answers", str(answers),
                        "-k", "python3", "--cwd", str(REPO)],
                       env=_run_env(nb_sandbox), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    nb = nbformat.read(out, as_version=4)
    last = json.dumps(nb.cells[-1].outputs)
    assert "Result on node <code>sv1</code>" in last  # the summary's table


@pytest.mark.wine
def test_the_notebook_runs_unchanged_under_nbconvert(nb_sandbox, tmp_path):
    out = tmp_path / "nbc.ipynb"
    env = _run_env(nb_sandbox)
    # nbconvert cannot pass parameters: it runs the defaults (sandbox inventory, node sv1, plan)
    r = subprocess.run([str(VENV_BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                        "--ExecutePreprocessor.timeout=600", "--output", str(out),
                        str(REPO / "runbooks" / "surfnavi.ja.ipynb")],
                       env=env, capture_output=True, text=True, timeout=600, cwd=str(REPO))
    assert r.returncode == 0, r.stderr[-2000:]
    nb = nbformat.read(out, as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.wine
def test_a_canary_secret_in_the_environment_appears_in_no_output(nb_sandbox, tmp_path, monkeypatch):
    from runbook_engine.publish.site import build_site

    canary = "canary-7f3a9c0e5b-secret"
    tsig = nb_sandbox.secret  # a real secret (the sandbox's key file), used by the DNS step of this run
    monkeypatch.setenv("RUNBOOK_SSH_PASSWORD", canary)
    monkeypatch.setenv("RUNBOOK_CANARY", canary)
    project = nb_sandbox.project
    guide = project.knowledge.guides["surfnavi"]
    s = run_notebook(project, RunRequest(guide="surfnavi", node="sv1", lang="ja", mode="apply",
                                         inventory=str(nb_sandbox.inventory), answers=str(_answers(tmp_path, guide))))
    assert s["status"] == "ok"
    assert any(st["step"] == "dns-records" and st["status"] in ("changed", "converged") for st in s["steps"])
    from runbook_engine.engine.runner import Runner

    Runner(project, nb_sandbox.inv(), state=nb_sandbox.state).run("apply")
    site = tmp_path / "site"
    build_site(project, site)
    places = [nb_sandbox.state / "runs", nb_sandbox.state / "confirmations", site, REPO / "runbooks"]
    scanned = 0
    for place in places:
        for f in place.rglob("*"):
            if f.is_file():
                data = f.read_bytes()
                scanned += 1
                for secret in (canary, tsig):
                    assert secret.encode() not in data, f"secret found in {f}"
    assert scanned > 20
