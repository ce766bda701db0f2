"""What an operator sees of a run: a dry run shows every step (past a manual step that waits),
an apply stops at that step and says why, the terminal shows progress as results arrive (a
progress display on a terminal, plain lines in a pipe, never an ANSI code there), every text is
in the operator's language (the Japanese notebook's outputs hold no English word but proper nouns
and identifiers), the example answers file covers every manual step, and the notebooks render
in nbconvert (admonitions, lists, one line per field).

The runs use the Linux sandbox (systemd-nspawn nodes, about a second to boot) with the PostgreSQL
guide: real nodes, real kernels, the real CLI as a process."""
from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from runbook_engine.engine.messages import Messages
from runbook_engine.engine.status import RowStatus, Status
from runbook_engine.model.project import Project
from runbook_engine.model.rules import LANGS

from plugins.components import run_on

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
ESC = "\x1b"
GUIDE = "postgresql"
UNIT = "postgresql-15.service"


def runbook(*argv: str, state: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(REPO / "src"), "RUNBOOK_STATE": str(state), **(env or {})}
    environ.pop("RUNBOOK_ROOT", None)
    return subprocess.run([sys.executable, "-m", "runbook_engine", "--root", str(REPO), *argv],
                          capture_output=True, text=True, env=environ, timeout=600)


def on_a_terminal(*argv: str, state: Path) -> tuple[int, str]:
    """`runbook ARGV` with a pseudo-terminal as its stdout (what a person at a terminal sees)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "RUNBOOK_STATE": str(state), "TERM": "xterm-256color",
           "COLUMNS": "160"}
    env.pop("RUNBOOK_ROOT", None)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "runbook_engine", "--root", str(REPO), *argv],
                            stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.wait(timeout=600), out.decode("utf-8", "replace")


@pytest.fixture
def sandbox(tmp_path):
    from plugins.linux import make_linux_sandbox

    from runbook_engine.sandbox.cluster import destroy_cluster

    sb = make_linux_sandbox(tmp_path / "state", guide=GUIDE, nodes=2)
    try:
        yield sb
    finally:
        destroy_cluster(sb.project)


def unit_state(sb, node: str) -> list[str]:
    out = run_on(sb, node, f"systemctl show -p UnitFileState -p ActiveState -- {UNIT}")[0].stdout
    return sorted(out.splitlines())


def guide():
    return Project(REPO).knowledge.guides[GUIDE]


# --- a dry run shows everything; an apply stops and says why ------------------------------------

@pytest.mark.linux
def test_a_dry_run_shows_every_step_past_the_manual_step_that_waits(sandbox):
    g = guide()
    steps = g.steps()
    proc = runbook("run", GUIDE, "--node", "pg-primary", "--lang", "en", "-i", str(sandbox.inventory), state=sandbox.state)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert ESC not in proc.stdout + proc.stderr and proc.stderr == ""
    lines = proc.stdout.splitlines()
    # one line, the last, names the step that waits
    assert lines[-1] == ('Waiting: step 0-1 "Create the cluster and the failover group" (failover-group) waits for an '
                         "operator; once it is done, confirm it with --confirm failover-group or an answers file (exit code 3)")
    # a line per step as it came, in the guide's order: the engine's steps were planned past 0-1
    heads = [l for l in lines if re.match(r"^\S+ .*: \S+.*  \[(manual|automated|check)\]$", l)]
    assert [h.split()[0] for h in heads] == [s.label for s in steps]
    status = {s.id: h for s, h in zip(steps, heads)}
    assert status["failover-group"].endswith(": waiting  [manual]")
    assert status["os-check"].endswith(": converged (0 change(s))  [check]")
    assert status["unit-disabled"].endswith(": pending (1 change(s))  [automated]")
    assert status["firewall-ports"].endswith(": pending (1 change(s))  [automated]")
    assert all(status[s.id].endswith(": pending  [manual]") for s in steps if s.mode == "manual" and s.id != "failover-group")
    # a manual step comes with its instructions, and says why it is on hold
    i = lines.index(status["os-user"])
    text = steps[[s.id for s in steps].index("os-user")].text("en").splitlines()[0]
    assert lines[i + 1] == "    " + text.replace("`", "")  # code spans without their backticks
    assert "On hold: step 0-1 before it waits for an operator." in lines[i + 2]
    # the table of every step: label, title, mode, status, changes
    table = lines[lines.index("Result on node pg-primary: waiting") + 1:-3]
    assert table[0].split() == ["Step", "Title", "How", "Status", "Changes", "Time"]
    assert [r.split()[0] for r in table[2:]] == [s.label for s in steps]
    assert "Disable the systemd unit" in table[2 + [s.id for s in steps].index("unit-disabled")]
    # the executed notebook shows the same: an output for every step, each with its record
    summary = json.loads(Path(lines[-2].removeprefix("Run record: ")).read_text(encoding="utf-8"))
    assert [st["step"] for st in summary["steps"]] == [s.id for s in steps]
    assert summary["waiting_at"] == "failover-group" and summary["status"] == "waiting"
    nb = nbformat.read(summary["notebook"], as_version=4)
    from runbook_engine.publish.execute import step_records

    records = [r for c in nb.cells if "runbook" in c.metadata for r in step_records(c)]
    assert [r["step"] for r in records] == [s.id for s in steps]
    # nothing changed on the node
    assert unit_state(sandbox, "pg-primary") == ["ActiveState=active", "UnitFileState=enabled"]


@pytest.mark.linux
def test_an_apply_stops_at_the_first_manual_step_that_waits_and_says_why(sandbox, tmp_path):
    g = guide()
    answers = tmp_path / "answers.yaml"
    answers.write_text("failover-group: created\n", encoding="utf-8")  # 0-1 done; 1-1 is the next manual step
    proc = runbook("run", GUIDE, "--node", "pg-primary", "--lang", "en", "--apply", "--answers", str(answers),
                   "-i", str(sandbox.inventory), state=sandbox.state)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1].startswith('Waiting: step 1-1 "Create the postgres user with the same UID" (os-user) waits')
    summary = json.loads(Path(lines[-2].removeprefix("Run record: ")).read_text(encoding="utf-8"))
    by = {st["step"]: st for st in summary["steps"]}
    # the engine's steps before 1-1 ran (applied), none after it
    assert by["failover-group"]["status"] == "confirmed"
    assert by["firewall-ports"]["status"] == "changed" and by["firewall-ports"]["changes"] == 1
    after = [s.id for s in g.steps()][[s.id for s in g.steps()].index("os-user") + 1:]
    assert all(by[s]["status"] == "skipped" for s in after)
    assert by["unit-disabled"]["detail"] == "Not run: an apply stops at the first manual step that waits for an operator (1-1)."
    assert unit_state(sandbox, "pg-primary") == ["ActiveState=active", "UnitFileState=enabled"]


# --- progress: as results arrive, plain in a pipe, rich on a terminal ---------------------------

@pytest.mark.linux
def test_plan_and_apply_show_progress_as_results_arrive(sandbox):
    inv = str(sandbox.inventory)
    events: list[tuple] = []
    from runbook_engine.engine.runner import Runner

    runner = Runner(sandbox.project, sandbox.inv(), state=sandbox.state, steps=["os-check", "unit-disabled"],
                    on_result=lambda r: events.append(("result", r.node, r.step)),
                    on_round=lambda t, done: events.append((done, t)))
    report = runner.run("apply")
    assert report.exit_code == 0
    for node in ("pg-primary", "pg-secondary"):
        mine = [e for e in events if node in e]
        # its read, then (an apply) its results as soon as its change round is back, then that round
        assert mine == [("read", node), ("result", node, "os-check"), ("result", node, "unit-disabled"),
                        ("changed", node)], events

    # in a pipe: plain lines, each target's read and each result before the report, no ANSI code
    proc = runbook("plan", GUIDE, "--lang", "en", "-i", inv, state=sandbox.state)
    assert proc.returncode == 1 and ESC not in proc.stdout, proc.stdout + proc.stderr  # pending changes: exit 1
    lines = proc.stdout.splitlines()
    header = next(i for i, l in enumerate(lines) if l.startswith("run -: plan (dry run) (guide postgresql)"))
    progress = lines[:header]
    assert {"pg-primary: read", "pg-secondary: read"} <= set(progress)
    assert "  pg-primary [firewall-ports] pending (1 change(s))" in progress
    assert lines[-1] == "summary: 4 change(s), 0 failed node(s), exit 1"
    # --json: the JSON alone on stdout
    proc = runbook("plan", GUIDE, "--json", "-i", inv, state=sandbox.state)
    assert json.loads(proc.stdout)["exit_code"] == 1
    # in Japanese
    proc = runbook("plan", GUIDE, "--lang", "ja", "-i", inv, state=sandbox.state)
    assert "pg-primary: 読み取りました" in proc.stdout and "まとめ: 変更 4 件、失敗したノード 0 台 (終了コード 1)" in proc.stdout

    # on a terminal: rich draws a progress display (and colours), the report follows
    code, shown = on_a_terminal("apply", GUIDE, "--yes", "--lang", "en", "-i", inv, state=sandbox.state)
    assert code == 0, shown
    assert ESC in shown and "━" in shown  # the progress bar
    plain_text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    assert "summary: 4 change(s), 0 failed node(s), exit 0" in plain_text
    assert unit_state(sandbox, "pg-primary") == ["ActiveState=inactive", "UnitFileState=disabled"]

    # a run on a terminal through `runbook run`: the progress display, then the table drawn by rich
    code, shown = on_a_terminal("run", GUIDE, "--node", "pg-secondary", "--lang", "en", "-i", inv, state=sandbox.state)
    assert code == 3, shown
    plain_text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    assert "┃ Step ┃ Title" in plain_text and "(failover-group) waits for an operator" in plain_text


# --- the Japanese notebook speaks Japanese ------------------------------------------------------

#: the ASCII words a Japanese notebook's outputs may hold outside code: proper nouns and names the
#: guide's own Japanese titles use (products, protocols, file names are identifiers: see below)
PROPER_NOUNS = {"PostgreSQL", "CLUSTERPRO", "EXPRESSCLUSTER", "Linux", "Windows", "FIP", "EXEC", "UID", "ID", "IP",
                "DNS", "OS", "systemd", "postgres", "WebUI", "Cluster"}
#: a word with a digit, a dot, a slash, an underscore or a hyphen inside is an identifier
#: (pg_hba.conf, postgresql-15.service, /dev/sdb1, pg-primary)
IDENTIFIER = re.compile(r"[A-Za-z0-9]*[0-9_./-][A-Za-z0-9_./-]*")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*")


def _english_words(text: str, code: set[str]) -> set[str]:
    return {w for w in WORD.findall(text) if w not in PROPER_NOUNS and w not in code and not IDENTIFIER.fullmatch(w)}


def english_in_outputs(nb) -> dict[str, set[str]]:
    """Per cell, the English words its outputs show outside code: HTML without its <code> spans,
    the plain text without the words those spans hold, and every stream."""
    found = {}
    for c in nb.cells:
        words: set[str] = set()
        for o in c.get("outputs", []):
            if o.output_type == "stream":
                words |= _english_words(o.text, set())
                continue
            if o.output_type == "error":
                words.add(o.ename)
                continue
            data = o.get("data", {})
            html_text = data.get("text/html", "")
            code = {w for span in re.findall(r"<code>(.*?)</code>", html_text) for w in WORD.findall(span)}
            visible = re.sub(r"<[^>]+>", " ", re.sub(r"<code>.*?</code>", " ", html_text))
            words |= _english_words(visible, set()) | _english_words(data.get("text/plain", ""), code)
        if words:
            found[c.id] = words
    return found


@pytest.mark.linux
def test_the_japanese_notebook_shows_no_english_but_proper_nouns_and_identifiers(sandbox, tmp_path, monkeypatch):
    from runbook_engine.publish.execute import RunRequest, run_notebook

    g = guide()
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({s.id: f"{s.label} を実施済み" for s in g.steps() if s.mode == "manual"},
                                      allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("RUNBOOK_STATE", str(sandbox.state))
    monkeypatch.setenv("RUNBOOK_OPERATOR", "山田 太郎")
    inv = str(sandbox.inventory)
    runs = [run_notebook(sandbox.project, RunRequest(guide=GUIDE, node="pg-primary", lang="ja", inventory=inv)),
            # on pg-secondary the exec scripts are not this node's (a step skipped, and why)
            run_notebook(sandbox.project, RunRequest(guide=GUIDE, node="pg-secondary", lang="ja", mode="apply",
                                                     inventory=inv, answers=str(answers)))]
    assert (runs[0]["status"], runs[1]["status"]) == ("waiting", "ok"), runs
    statuses = {st["status"] for r in runs for st in r["steps"]}
    assert {"waiting", "pending", "converged", "confirmed", "changed", "skipped"} <= statuses  # every kind shown
    for r in runs:
        nb = nbformat.read(r["notebook"], as_version=4)
        assert english_in_outputs(nb) == {}
        shown = json.dumps([c.get("outputs", []) for c in nb.cells], ensure_ascii=False)
        for ja in ("待機中", "保留", "収束", "変更あり", "確認済み", "変更済み", "スキップ"):
            if any(Messages(sandbox.project.knowledge, "ja").status(st["status"], st["kind"]) == ja for st in r["steps"]):
                assert ja in shown
        # the operator is the environment's, in the record and in every confirmation
        assert r["operator"] == "山田 太郎" and "山田 太郎" in shown and '"operator"' not in shown
    audit = sandbox.state / "confirmations" / f"{sandbox.inv().cluster}.pg-secondary.{GUIDE}.jsonl"
    assert {json.loads(l)["operator"] for l in audit.read_text(encoding="utf-8").splitlines()} == {"山田 太郎"}
    # the planted check: an English word in an output is found
    nb = nbformat.read(runs[0]["notebook"], as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.outputs)
    cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text="waiting for operator\n"))
    assert english_in_outputs(nb) == {cell.id: {"waiting", "for", "operator"}}

    # and the executed notebook renders in nbconvert: the tables of results are there
    html_text = nbconvert_html([Path(runs[1]["notebook"])], tmp_path)[0]
    assert html_text.count("<table>") >= 1 + sum(1 for s in g.steps() if s.mode != "manual")
    assert "!!!" not in html_text


# --- the notebooks render -----------------------------------------------------------------------

def nbconvert_html(notebooks: list[Path], out: Path) -> list[str]:
    """`jupyter nbconvert --to html` of *notebooks*: the HTML of each."""
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([str(VENV_BIN / "jupyter"), "nbconvert", "--to", "html", "--output-dir", str(out),
                           *map(str, notebooks)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return [(out / (p.stem + ".html")).read_text(encoding="utf-8") for p in notebooks]


def test_notebooks_render_admonitions_lists_and_one_line_per_field_in_nbconvert(tmp_path):
    from bs4 import BeautifulSoup

    from runbook_engine.artifacts.notebooks import render_all

    project = Project(REPO)
    kb = project.knowledge
    notebooks = []  # as the generator makes them now (test_notebooks checks the committed ones are these)
    for path, data in sorted(render_all(project).items()):
        (tmp_path / "nb").mkdir(exist_ok=True)
        (tmp_path / "nb" / path.name).write_bytes(data)
        notebooks.append(tmp_path / "nb" / path.name)
    assert len(notebooks) == 2 * len(kb.guides)
    for path, html_text in zip(notebooks, nbconvert_html(notebooks, tmp_path / "html")):
        gid, lang = path.name.split(".")[:2]
        g = kb.guides[gid]
        soup = BeautifulSoup(html_text, "html.parser")
        cells = soup.select(".jp-MarkdownCell")
        assert "!!!" not in soup.get_text(), path.name
        texts = {c.get_text(" ", strip=True): c for c in cells}
        for step in g.steps():
            cell = next(c for t, c in texts.items() if t.startswith(f"{step.label}) {step.title(lang)}"))
            # the step's items, one <li> each
            items = [" ".join(li.get_text().split()) for li in cell.select("ul > li")]
            for sub in step.substeps:
                rendered = " ".join(re.sub(r"[`*]", "", sub.text(lang)).split())[:20]  # as Markdown shows it
                assert any(rendered in i for i in items), (path.name, step.id, items)
            # condition and mode each a paragraph of their own
            paragraphs = [p.get_text(" ", strip=True) for p in cell.find_all("p")
                          if not p.find_parent(["blockquote", "li", "td"])]
            mode = kb.label("mode")(lang)
            assert any(p.startswith(mode) for p in paragraphs), (path.name, step.id, paragraphs)
            if step.when:
                only = kb.label("only-when")(lang)
                assert any(p.startswith(only) and mode not in p for p in paragraphs), (path.name, step.id, paragraphs)
            # each note an admonition: a quote whose first line is its title in bold
            for note in step.notes:
                title = kb.label("nb-note-" + note.kind)(lang)
                quotes = [q for q in cell.find_all("blockquote") if q.strong and title in q.strong.get_text()]
                assert quotes, (path.name, step.id, note.kind)
        # the tables' admonitions too (a resource's note: "重要" / "Important")
        if any("resources" in s.shows for s in g.steps()) and any(r.note for r in g.resources):
            important = kb.label("admonition-important")(lang)
            assert any(q.strong and important in q.strong.get_text() for q in soup.find_all("blockquote")), path.name


def test_the_parameters_cell_speaks_the_notebooks_language():
    kb = Project(REPO).knowledge
    for lang in LANGS:
        nb = nbformat.read(REPO / "runbooks" / f"{GUIDE}.{lang}.ipynb", as_version=4)
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", [])).source
        comments = " ".join(line.split("#", 1)[1] for line in params.splitlines() if "#" in line)
        assert kb.label("nb-param-operator")(lang) in comments
        if lang == "ja":  # no English sentence: the words outside quotes are names (None, RUNBOOK_OPERATOR, YAML, ID)
            words = set(WORD.findall(re.sub(r'"[^"]*"', "", comments)))
            assert words <= {"None", "RUNBOOK_OPERATOR", "OS", "YAML", "ID", "ja", "en"}, words
        assert 'operator = ""' in params  # never a made-up name: empty takes the environment's


# --- every word of a run's vocabulary has both languages ----------------------------------------

def test_every_status_mode_and_scope_has_a_text_in_both_languages():
    from runbook_engine.engine.session import CONFIRMED, PENDING, WAITING
    from runbook_engine.engine.targets import SCOPES

    kb = Project(REPO).knowledge
    for lang in LANGS:
        say = Messages(kb, lang)
        shown = [say.status(s) for s in [*Status, CONFIRMED, WAITING]] + [say.status(PENDING, "manual")]
        shown += [say.row_status(s) for s in RowStatus] + [say.step_mode(m) for m in ("manual", "automated", "check")]
        shown += [say.run_mode(m) for m in ("plan", "apply", "verify", "rollback")]
        shown += [say.run_status(s) for s in ("ok", "pending", "waiting", "failed")]
        shown += [say.L(f"scope-none-{name}", node="n1") for name in SCOPES]
        shown += [say.how(h) for h in ("--confirm", "answers file", "interactive", "earlier run 20990101-000000-abcdef")]
        assert all(t.strip() for t in shown)
        if lang == "ja":  # Japanese throughout (identifiers in code spans aside)
            assert not [t for t in shown if _english_words(re.sub(r"`[^`]*`", "", t), set())], shown
        else:
            assert not [t for t in shown if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", t)], shown
    # a manual step on hold does not read as a change to apply
    ja = Messages(kb, "ja")
    assert ja.status(PENDING, "manual") == "保留" and ja.status(PENDING, "automated") == "変更あり"


# --- the example answers file -------------------------------------------------------------------

def test_runbook_answers_writes_every_manual_step_commented_out_in_the_guides_order(tmp_path):
    from runbook_engine.cli.run import answers_errors

    kb = Project(REPO).knowledge
    for g in kb.guides.values():
        manual = [s for s in g.steps() if s.mode == "manual"]
        for lang in LANGS:
            proc = runbook("answers", g.id, "--lang", lang, state=tmp_path / "state")
            assert proc.returncode == 0 and proc.stderr == "", proc.stderr
            text = proc.stdout
            assert yaml.safe_load(text) is None  # as written it confirms nothing
            lines = text.splitlines()
            entries = [i for i, l in enumerate(lines) if re.match(r"^# [a-z0-9-]+: \"", l)]
            assert [lines[i][2:].split(":")[0] for i in entries] == [s.id for s in manual]
            for i, s in zip(entries, manual):
                above = "\n".join(lines[max(0, i - 2):i])
                assert s.title("ja") in above and s.title("en") in above, (g.id, s.id)
            # uncommented, it is an answers file `runbook run` takes, confirming every manual step
            done = tmp_path / f"{g.id}.{lang}.yaml"
            done.write_text("\n".join(l[2:] if j in entries else l for j, l in enumerate(lines)) + "\n", encoding="utf-8")
            assert list(yaml.safe_load(done.read_text(encoding="utf-8"))) == [s.id for s in manual]
            assert answers_errors(str(done), g, Messages(kb, lang)) == []
    help_text = runbook("run", "--help", state=tmp_path / "state").stdout
    assert "runbook answers GUIDE > answers.yaml" in help_text and "--confirm STEP_ID" in help_text
