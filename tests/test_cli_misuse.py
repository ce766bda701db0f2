"""The command line misused, as a person would: a misspelt guide, node, step, run id, option or
file. Each case runs ``python -m runbook_engine`` as a real process and must end with exit code 2,
exactly one line on stderr (the expected one, naming what is known and the closest name), nothing
on stdout, no traceback and no colour code. No case reaches a node: the inventory names Wine
prefixes that do not exist, and every case fails before a transport is opened.

Also here: every option has a help text, output for people by default and JSON on request (no
Python repr), and no colour code in the files a failed notebook run leaves."""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ESC = "\x1b"
LANGS = ("ja", "en")  # language codes: identifiers in a Japanese line too

INVENTORY = ("cluster: c1\nguide: surfnavi\nnodes:\n"
             "  - name: sv1\n    transport: wine\n    prefix: /nonexistent/rb-sv1\n"
             "  - name: sv2\n    transport: wine\n    prefix: /nonexistent/rb-sv2\n")
# a DNS server whose TSIG secret is in tsig.key beside the inventory (a FIP: the DNS step runs)
DNS = ("fip: {address: 192.0.2.10, hostname: surfnavi, domain: example.test}\n"
       "dns:\n  - {name: d1, server: 127.0.0.1, key_name: rb-test, forward_zone: example.test.,\n"
       "     reverse_zone: 2.0.192.in-addr.arpa.,\n     key_secret_file: tsig.key}\n")
RUN_ID = "20990101-000000-abcdef"  # a run journaled in the state folder of every case
COMMANDS = "check, schema, new, build, serve, pdf, report, plan, apply, verify, rollback, runs, bundle, import, run, answers, sandbox, export"


def _names(folder: Path, suffix: str = "") -> str:
    """The names the project knows, read from kb/ itself (not through the loader under test)."""
    return ", ".join(sorted(p.name.removesuffix(suffix) for p in folder.iterdir()
                            if (p.is_dir() if not suffix else p.name.endswith(suffix))))


GUIDES = _names(REPO / "kb" / "guides")
FAMILIES = _names(REPO / "kb" / "family", ".yaml")

# (id, argv, the one line on stderr): a str is the exact line after .format(inv=, tmp=, state=,
# repo= (the project's root), guides=, families=); a compiled pattern must match the whole line
CASES = [
    ("unknown-command", ["plna"],
     f"error: runbook: unknown command 'plna' (known: {COMMANDS}); did you mean 'plan'?"),
    ("unknown-subcommand", ["sandbox", "creat"],
     "error: runbook sandbox: unknown command 'creat' (known: create, deliver, destroy); did you mean 'create'?"),
    ("misspelt-option", ["plan", "--inventroy", "{inv}"],
     "error: runbook plan: unrecognized argument: --inventroy; did you mean '--inventory'?"),
    ("missing-required-option", ["run", "surfnavi"],
     "error: runbook run: the following arguments are required: --node"),
    ("node-and-all", ["plan", "--all", "--node", "sv1", "-i", "{inv}"],
     "error: runbook plan: argument --node: not allowed with argument --all"),
    ("bad-lang", ["run", "surfnavi", "--node", "sv1", "--lang", "fr", "-i", "{inv}"],
     "error: runbook run: argument --lang: unknown value 'fr' (known: ja, en)"),
    ("port-out-of-range", ["serve", "--port", "99999"],
     "error: runbook serve: argument --port: 99999 is not a port number (0 to 65535)"),
    ("plan-unknown-guide", ["plan", "surfnav", "-i", "{inv}"],
     "error: unknown guide 'surfnav' (known: {guides}); did you mean 'surfnavi'?"),
    ("run-unknown-guide", ["run", "tomcat", "--node", "sv1", "-i", "{inv}"],
     "error: unknown guide 'tomcat' (known: {guides}); did you mean 'tomcat-10'?"),
    ("sandbox-unknown-guide", ["sandbox", "create", "--guide", "surfnav"],
     "error: unknown guide 'surfnav' (known: {guides}); did you mean 'surfnavi'?"),
    ("apply-unknown-node", ["apply", "--node", "sv9", "-i", "{inv}"],
     "error: --node: unknown node 'sv9' in {inv} (known: sv1, sv2); did you mean 'sv1'?"),
    ("run-unknown-node", ["run", "surfnavi", "--node", "sv9", "-i", "{inv}"],
     "error: --node: unknown node 'sv9' in {inv} (known: sv1, sv2); did you mean 'sv1'?"),
    ("bundle-unknown-node", ["bundle", "plan", "--node", "node1", "-i", "{inv}"],
     "error: --node: unknown node 'node1' in {inv} (known: sv1, sv2)"),
    ("plan-unknown-step", ["plan", "--step", "preflite", "-i", "{inv}"],
     re.compile(r"error: --step: unknown step 'preflite' in guide 'surfnavi' \(known: [a-z0-9, -]*preflight[a-z0-9, -]*\); "
                r"did you mean 'preflight'\?")),
    ("plan-manual-step", ["plan", "--step", "failover-group", "-i", "{inv}"],
     re.compile(r"error: --step: step 'failover-group' of guide 'surfnavi' is a manual step: the engine runs its "
                r"automated and check steps \(known: [a-z0-9, -]*preflight[a-z0-9, -]*\)")),
    ("run-confirm-unknown-step", ["run", "surfnavi", "--node", "sv1", "--confirm", "failover-grop", "-i", "{inv}"],
     re.compile(r"error: --confirm: unknown manual step 'failover-grop' in guide 'surfnavi' \(known: [a-z0-9, -]+\); "
                r"did you mean 'failover-group'\?")),
    ("run-confirm-check-step", ["run", "surfnavi", "--node", "sv1", "--confirm", "preflight", "-i", "{inv}"],
     "error: --confirm: step 'preflight' of guide 'surfnavi' is a check step: only a manual step is confirmed "
     "(the engine runs the others)"),
    ("rollback-unknown-run", ["rollback", "20990101-000000-abcdee", "-i", "{inv}"],
     f"error: RUN_ID: unknown run '20990101-000000-abcdee' in {{state}}/runs (known: {RUN_ID}); did you mean '{RUN_ID}'?"),
    ("rollback-to-before-unknown-run", ["rollback", "--to-before", "20990101-000000-abcdee", "-i", "{inv}"],
     f"error: --to-before: unknown run '20990101-000000-abcdee' of cluster 'c1' in {{state}}/runs (known: {RUN_ID}); "
     f"did you mean '{RUN_ID}'?"),
    ("rollback-run-of-another-cluster", ["rollback", "--to-before", RUN_ID, "-i", "{tmp}/other-cluster.yaml"],
     f"error: --to-before: run '{RUN_ID}' was on cluster 'c1', the inventory is cluster 'c2'"),
    ("bundle-unknown-plan", ["bundle", "apply", "--node", "sv1", "--plan", "0123456789abcdef", "-i", "{inv}"],
     "error: --plan: unknown plan bundle '0123456789abcdef' in {state}/bundles (known: none)"),
    ("inventory-misspelt", ["plan", "-i", "{tmp}/inventroy.yaml"],
     "error: --inventory {tmp}/inventroy.yaml: no such file; did you mean 'inventory.yaml'?"),
    ("inventory-is-a-folder", ["verify", "-i", "{tmp}"],
     "error: --inventory {tmp}: a folder, not a file"),
    ("no-inventory-no-sandbox", ["plan"],
     "error: no inventory given and no sandbox yet ({state}/sandbox/inventory.yaml does not exist): "
     "run `runbook sandbox create` or pass --inventory FILE"),
    ("inventory-unknown-transport", ["plan", "-i", "{tmp}/transport.yaml"],
     re.compile(r"\S+/transport\.yaml:4: nodes\.0: unknown transport 'wien' \(known: [a-z0-9, -]*wine[a-z0-9, -]*\); "
                r"did you mean 'wine'\?")),
    ("tsig-key-file-readable-by-others", ["plan", "-i", "{tmp}/dns.yaml"],
     "{tmp}/dns.yaml:14: dns.0.key_secret_file: TSIG key file {tmp}/tsig.key is readable by group or others "
     "(mode 0644); chmod 600 it"),
    ("tsig-secret-named-twice", ["apply", "--yes", "-i", "{tmp}/dns-twice.yaml"],
     "{tmp}/dns-twice.yaml:15: dns.0.key_secret_file: the TSIG secret is named twice: give key_secret_env or "
     "key_secret_file, not both (got 'tsig.key')"),
    ("inventory-unknown-guide", ["plan", "-i", "{tmp}/guide.yaml"],
     "{tmp}/guide.yaml:2: guide: unknown guide 'surfnav' (known: {guides}); did you mean 'surfnavi'?"),
    ("import-missing-result", ["import", "{tmp}/sv1-plan.result.txt", "-i", "{inv}"],
     "error: RESULT {tmp}/sv1-plan.result.txt: no such file"),
    ("import-unknown-node", ["import", "{inv}", "--node", "sv3", "-i", "{inv}"],
     "error: --node: unknown node 'sv3' in {inv} (known: sv1, sv2); did you mean 'sv1'?"),
    ("new-unknown-family", ["new", "demo", "--family", "clusterpro-x-window"],
     "kb/family:1: unknown family 'clusterpro-x-window' (known: {families}); did you mean 'clusterpro-x-windows'?"),
    ("new-guide-id-not-kebab", ["new", "--family", "clusterpro-x-windows", "Demo_Portal"],
     "error: GUIDE_ID 'Demo_Portal': not a guide id (lower-case kebab-case: a-z, 0-9 and '-', at most 64 characters)"),
    ("new-guide-exists", ["new", "surfnavi", "--family", "clusterpro-x-windows"],
     "error: GUIDE_ID surfnavi: {repo}/kb/guides/surfnavi exists already"),
    ("build-out-is-a-file", ["build", "--out", "{inv}"],
     "error: --out {inv}: a file, not a folder (the site is a folder that a build replaces)"),
    ("build-out-is-not-a-site", ["build", "--out", "{tmp}/notes"],
     "error: --out {tmp}/notes: a folder that is not a site (no index.html): a build replaces the whole folder, "
     "give an empty or a new one"),
    ("build-inventory-of-another-platform", ["build", "--inventory", "{tmp}/linux-guide.yaml"],
     "error: --inventory {tmp}/linux-guide.yaml: guide 'postgresql' is a linux guide, but inventory "
     "{tmp}/linux-guide.yaml is windows"),
    ("build-inventory-misspelt", ["build", "--inventory", "{tmp}/inventroy.yaml"],
     "error: --inventory {tmp}/inventroy.yaml: no such file; did you mean 'inventory.yaml'?"),
    ("pdf-unknown-guide", ["pdf", "surfnav", "--lang", "en"],
     "error: unknown guide 'surfnav' (known: {guides}); did you mean 'surfnavi'?"),
    ("pdf-bad-lang", ["pdf", "surfnavi", "--lang", "jp"],
     "error: runbook pdf: argument --lang: unknown value 'jp' (known: ja, en)"),
    ("pdf-inventory-of-another-guide", ["pdf", "tomcat-10", "--lang", "en", "-i", "{inv}"],
     "error: --inventory {inv}: the inventory is for guide 'surfnavi', not 'tomcat-10'"),
    ("pdf-out-is-a-folder", ["pdf", "surfnavi", "--lang", "en", "--out", "{tmp}"],
     "error: --out {tmp}: a folder, not a file (give the PDF's file name)"),
    ("report-unknown-run", ["report", "20990101-000000-abcdee", "--lang", "en"],
     f"error: RUN_ID: unknown run '20990101-000000-abcdee' in {{state}}/runs (known: {RUN_ID}); did you mean '{RUN_ID}'?"),
    ("report-run-id-with-a-path", ["report", "../runs", "--lang", "en"],
     re.compile(r"error: RUN_ID '\.\./runs': not a valid run id \(it must match .+\)")),
    ("report-out-is-a-file", ["report", RUN_ID, "--lang", "en", "--out", "{inv}"],
     "error: --out {inv}: a file, not a folder (the report's HTML and PDF are written into it)"),
    ("report-bad-lang", ["report", RUN_ID, "--lang", "de"],
     "error: runbook report: argument --lang: unknown value 'de' (known: ja, en)"),
    ("schema-out-is-a-file", ["schema", "--out", "{inv}"],
     "error: --out {inv}: a file, not a folder (the *.schema.json files are written into it)"),
    ("answers-unknown-guide", ["answers", "surfnav"],
     "error: unknown guide 'surfnav' (known: {guides}); did you mean 'surfnavi'?"),
    ("answers-bad-lang", ["answers", "surfnavi", "--lang", "de"],
     "error: runbook answers: argument --lang: unknown value 'de' (known: ja, en)"),
    ("plan-bad-lang", ["plan", "--lang", "jp", "-i", "{inv}"],
     "error: runbook plan: argument --lang: unknown value 'jp' (known: ja, en)"),
    ("rollback-bad-lang", ["rollback", RUN_ID, "--lang", "english", "-i", "{inv}"],
     "error: runbook rollback: argument --lang: unknown value 'english' (known: ja, en)"),
    ("export-unknown-guide", ["export", "ansible", "surfnav", "-i", "{inv}"],
     "error: unknown guide 'surfnav' (known: {guides}); did you mean 'surfnavi'?"),
    ("export-unknown-tool", ["export", "ansibel", "surfnavi"],
     "error: runbook export: unknown command 'ansibel' (known: ansible); did you mean 'ansible'?"),
    ("export-unknown-flavour", ["export", "ansible", "surfnavi", "--flavour", "modul", "-i", "{inv}"],
     "error: runbook export ansible: argument --flavour: unknown value 'modul' (known: modules, raw, both); "
     "did you mean 'modules'?"),
    ("export-guide-of-another-platform", ["export", "ansible", "postgresql", "-i", "{inv}"],
     "error: guide 'postgresql' is a linux guide, but inventory {inv} is windows"),
    ("executor-unknown", ["apply", "--executor", "ansibel", "-i", "{inv}"],
     "error: --executor: unknown executor 'ansibel' (known: ansible, native); did you mean 'ansible'?"),
    ("rollback-executor-unknown", ["rollback", RUN_ID, "--executor", "fleet", "-i", "{inv}"],
     "error: --executor: unknown executor 'fleet' (known: ansible, native)"),
    ("ansible-inventory-without-ansible", ["plan", "--ansible-inventory", "{inv}", "-i", "{inv}"],
     "error: --ansible-inventory: an Ansible inventory is read by --executor ansible only (not native)"),
    ("ansible-inventory-missing", ["verify", "--executor", "ansible", "--ansible-inventory", "{tmp}/hosts.yml", "-i", "{inv}"],
     "error: --ansible-inventory {tmp}/hosts.yml: no such file or folder"),
    ("export-out-is-a-file", ["export", "ansible", "surfnavi", "--out", "{inv}", "-i", "{inv}"],
     "error: --out {inv}: a file, not a folder"),
]


def runbook(*argv: str, state: Path, root: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m runbook_engine --root ROOT ARGV...` in a process of its own, with *state* as its
    state folder, in an English locale (the cases are written in English; a Japanese or C locale
    makes every line Japanese: see test_with_lang_ja_every_line_the_command_line_prints_is_japanese)."""
    environ = {**os.environ, "PYTHONPATH": str(REPO / "src"), "RUNBOOK_STATE": str(state),
               "NO_MKDOCS_2_WARNING": "1", "LC_ALL": "en_US.UTF-8", **(env or {})}
    environ.pop("RUNBOOK_ROOT", None)
    return subprocess.run([sys.executable, "-m", "runbook_engine", "--root", str(root), *argv],
                          capture_output=True, text=True, env=environ, timeout=300)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project of its own for the misuse cases (a copy of kb/): a case that wrongly got past its
    check would write there, not into the work tree."""
    root = tmp_path_factory.mktemp("misuse-project")
    shutil.copytree(REPO / "kb", root / "kb")
    (root / "snippets").symlink_to(REPO / "snippets", target_is_directory=True)
    return root


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def misuse(tmp_path: Path):
    """A folder with an inventory (and misspelt ones), a state folder that holds one journaled
    run of cluster c1, and a folder of notes that is not a site."""
    (tmp_path / "inventory.yaml").write_text(INVENTORY, encoding="utf-8")
    (tmp_path / "other-cluster.yaml").write_text(INVENTORY.replace("cluster: c1", "cluster: c2"), encoding="utf-8")
    (tmp_path / "transport.yaml").write_text(INVENTORY.replace("transport: wine", "transport: wien", 1), encoding="utf-8")
    (tmp_path / "guide.yaml").write_text(INVENTORY.replace("guide: surfnavi", "guide: surfnav"), encoding="utf-8")
    (tmp_path / "linux-guide.yaml").write_text(INVENTORY.replace("guide: surfnavi", "guide: postgresql"), encoding="utf-8")
    (tmp_path / "dns.yaml").write_text(INVENTORY + DNS, encoding="utf-8")
    (tmp_path / "dns-twice.yaml").write_text(INVENTORY + DNS.replace("key_secret_file:", "key_secret_env: RB_TSIG,\n     key_secret_file:"),
                                             encoding="utf-8")
    (tmp_path / "tsig.key").write_text("c2VjcmV0LW9mLXRoZS1taXN1c2UtY2FzZXM=\n", encoding="ascii")
    (tmp_path / "tsig.key").chmod(0o644)  # as a file is written with umask 022
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me\n", encoding="utf-8")
    state = tmp_path / "state"
    run = state / "runs" / RUN_ID
    run.mkdir(parents=True)
    (run / "journal.jsonl").write_text(json.dumps(
        {"seq": 1, "t": 4102444800.0, "event": "run", "mode": "apply", "guide": "surfnavi", "cluster": "c1",
         "nodes": ["sv1"], "steps": ["services-manual"], "engine": None}) + "\n", encoding="utf-8")
    return tmp_path, state


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_misuse_is_one_line_naming_what_is_known_and_exit_2(project, misuse, case):
    _id, argv, expected = case
    tmp, state = misuse
    values = {"inv": str(tmp / "inventory.yaml"), "tmp": str(tmp), "state": str(state), "repo": str(project),
              "guides": GUIDES, "families": FAMILIES}
    before = _listing(tmp), _listing(project)
    proc = runbook(*[a.format(**values) for a in argv], state=state, root=project)
    assert proc.returncode == 2, (proc.returncode, proc.stderr, proc.stdout)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert ESC not in proc.stderr + proc.stdout
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    if isinstance(expected, str):
        assert lines[0] == expected.format(**values)
    else:
        assert expected.fullmatch(lines[0]), lines[0]
    assert (_listing(tmp), _listing(project)) == before  # nothing written


def test_the_misuse_table_has_at_least_fifteen_cases():
    assert len(CASES) >= 15


# --- help ------------------------------------------------------------------------------------------

def _parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_every_command_and_option_has_a_help_text():
    from runbook_engine import cli

    missing = []
    for parser in _parsers(cli.parser()):
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):
                helped = {a.dest for a in action._choices_actions if (a.help or "").strip()}
                missing += [f"{parser.prog} {name}" for name in action.choices if name not in helped]
            elif not (action.help or "").strip():
                missing.append(f"{parser.prog} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


# --- output for people, JSON for scripts, no repr, no colour code in a file --------------------------

REPR = re.compile(r"\b[A-Z][A-Za-z]+\((?:[a-z_]+=|'|PosixPath)")  # BuildReport(out=…, PosixPath('…'), KeyError('…')


def _files_text(folder: Path) -> str:
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file())


def test_runbook_run_says_where_it_waits_for_people_and_in_json_for_scripts(misuse):
    """An apply stops at the first manual step nobody confirmed (here the first step: no node is
    reached). For people: a line per step as it comes, the table of every step, where the record
    is, and last the one line naming the step that waits; for scripts, JSON."""
    tmp, state = misuse
    inv = str(tmp / "inventory.yaml")
    proc = runbook("run", "surfnavi", "--node", "sv1", "--lang", "en", "--apply", "-i", inv, state=state)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "0-1 Create the failover group: waiting  [manual]"
    assert lines[-1] == ('Waiting: step 0-1 "Create the failover group" (failover-group) waits for an operator; once it is '
                         "done, confirm it with --confirm failover-group or an answers file (exit code 3)")
    run_id = re.fullmatch(rf"Executed notebook: {re.escape(str(state))}/runs/(\d{{8}}-\d{{6}}-[0-9a-f]{{6}})/surfnavi\.en\.sv1\.ipynb",
                          lines[-3]).group(1)
    assert lines[-2] == f"Run record: {state}/runs/{run_id}/summary.json"
    # every later step says why it did not run; the table has them all, in the guide's order
    assert proc.stdout.count("Not run: an apply stops at the first manual step that waits for an operator (0-1).") == 20
    table = lines[lines.index("Result on node sv1: waiting") + 1:-3]
    assert table[0].split() == ["Step", "Title", "How", "Status", "Changes", "Time"]
    assert [row.split()[0] for row in table[2:]] == ["0-1", "0-2", "A", "B", "C", "D", "E", "F", "G", "H", "I",
                                                     "2-1", "3-1", "3-2", "3-3", "3-4", "4-1", "4-2", "5-1", "5-2", "5-3"]
    assert not REPR.search(proc.stdout), proc.stdout

    proc = runbook("run", "surfnavi", "--node", "sv1", "--lang", "en", "--apply", "-i", inv, "--json", state=state)
    assert proc.returncode == 3, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["status"], out["exit_code"], out["waiting_at"], out["error"]) == ("waiting", 3, "failover-group", None)
    assert json.loads(Path(out["summary_path"]).read_text(encoding="utf-8"))["run_id"] == out["run_id"]
    text = _files_text(state / "runs")
    assert ESC not in text and "\\u001b" not in text


def test_a_failed_notebook_run_leaves_no_colour_code_in_any_file(misuse):
    """What `runbook run --node sv9` did before the command line checked the node: the notebook's
    session raises in the kernel. The summary says it in one plain line, and neither it nor the
    executed notebook holds an ANSI code (IPython colours tracebacks by default)."""
    from runbook_engine.model.project import Project
    from runbook_engine.publish.execute import RunRequest, run_notebook

    tmp, state = misuse
    summary = run_notebook(Project(REPO, state_dir=state),
                           RunRequest(guide="surfnavi", node="sv9", lang="en", inventory=str(tmp / "inventory.yaml")))
    assert (summary["status"], summary["exit_code"], summary["error"]) == ("failed", 1, "KeyError: 'sv9'")
    run = Path(summary["summary_path"]).parent
    assert sorted(p.name for p in run.iterdir() if p.is_file()) == ["summary.json", "surfnavi.en.sv9.ipynb"]
    text = _files_text(run)
    assert "KeyError" in text  # the traceback is in the executed notebook, without colour codes
    assert ESC not in text and "\\u001b" not in text


#: what `runbook build` says, stage by stage, in each language (``{root}``: the project's runbooks/,
#: ``{site}``: the site; ``N`` a page count, the same where a language starts and ends)
BUILD_LINES = {
    "en": ["notebooks: rendering the runbook notebooks",
           r"notebooks: (\d+ written to {root}|0 written to {root} \(all up to date\))",
           r"ja: rendering (?P<ja>\d+) pages", "ja: writing the search index",
           r"site \(ja\): (?P=ja) pages in \d+\.\d s -> {site}",
           r"en: rendering (?P<en>\d+) pages", "en: writing the search index",
           r"site \(en\): (?P=en) pages in \d+\.\d s -> {site}/en",
           r"done in \d+\.\d s: the site is in {site}"],
    "ja": ["ノートブック: ランブックのノートブックを生成しています",
           r"ノートブック: (\d+ 件を {root} に書き出しました|{root} のノートブックはすべて最新です)",
           r"ja: (?P<ja>\d+) ページを生成しています", "ja: 検索インデックスを作成しています",
           r"サイト \(ja\): (?P=ja) ページを \d+\.\d 秒で生成しました -> {site}",
           r"en: (?P<en>\d+) ページを生成しています", "en: 検索インデックスを作成しています",
           r"サイト \(en\): (?P=en) ページを \d+\.\d 秒で生成しました -> {site}/en",
           r"完了しました \(\d+\.\d 秒\): サイトは {site} にあります"],
}


def test_runbook_build_says_each_stage_as_it_starts_and_ends_in_the_operators_language(tmp_path):
    """In a pipe, `runbook build` prints a line as each stage starts and ends (the notebooks, each
    language's pages and search index, the whole build), in the order they happen, in the
    language of --lang; with --json it prints the JSON alone (no line for people, no repr)."""
    from plugins.components import require
    from runbook_engine.model.project import Project
    from runbook_engine.publish.site import SiteBuildError, mermaid_js

    try:
        mermaid = mermaid_js(Project(REPO))
    except SiteBuildError as exc:
        require(False, str(exc))
    root = tmp_path / "proj"
    for d in ("kb", "runbooks", "docs", "overrides"):
        shutil.copytree(REPO / d, root / d)
    for d in ("snippets", "src", "schema"):
        (root / d).symlink_to(REPO / d, target_is_directory=True)
    shutil.copy2(REPO / "mkdocs.yml", root / "mkdocs.yml")
    site, env = tmp_path / "site", {"RUNBOOK_MERMAID_JS": str(mermaid)}
    paths = {"root": re.escape(str(root / "runbooks")), "site": re.escape(str(site))}
    for lang, expected in BUILD_LINES.items():
        proc = runbook("build", "--out", str(site), "--lang", lang, state=tmp_path / "state", root=root, env=env)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert len(lines) == len(expected), proc.stdout
        pattern = re.compile("\n".join(e.replace("{root}", paths["root"]).replace("{site}", paths["site"])
                                       for e in expected))
        assert pattern.fullmatch("\n".join(lines)), proc.stdout  # every line, in this order
        assert not REPR.search(proc.stdout) and ESC not in proc.stdout, proc.stdout
        if lang == "ja":
            assert english_words(proc.stdout, LANGS) == set(), proc.stdout

    proc = runbook("build", "--out", str(site), "--json", "--lang", "ja", state=tmp_path / "state", root=root, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)  # nothing but the JSON on stdout
    assert out["site"] == str(site) and out["notebooks"] == []
    assert {lang: (b["folder"], b["pages"] > 0) for lang, b in out["languages"].items()} == {
        "ja": (str(site), True), "en": (str(site / "en"), True)}


# --- the operator's language ---------------------------------------------------------------------

def english_words(text: str, names=()) -> set[str]:
    """The English words of *text* a Japanese line may not hold: not in code (backticks) or quotes
    (a name), not in a path, an option, a number or an identifier (a digit, a dot, a hyphen or an
    underscore inside), not an upper-case name (FILE, RUN_ID, PDF, DNS), and not one of *names*
    (guide ids, commands)."""
    text = re.sub(r"`[^`]*`|'[^']*'", " ", text)
    words = set()
    for token in text.split():
        if "/" in token or token.startswith("-") or re.search(r"[0-9_.]|\w-\w", token):
            continue
        words |= {w for w in re.findall(r"[A-Za-z]+", token) if not w.isupper() and w not in names}
    return words


def test_with_lang_ja_every_line_the_command_line_prints_is_japanese(misuse):
    """--lang ja (or a Japanese or C locale) words every line for people in Japanese: the runs, a
    result, a note, and a misuse (the same one line on stderr, exit 2). Guide ids, node names,
    paths, options and commands stay as they are."""
    tmp, state = misuse
    inv = str(tmp / "inventory.yaml")
    names = {*GUIDES.split(", "), "windows", "linux"}  # guide ids and --platform values
    said = []
    runs = runbook("runs", "--lang", "ja", state=state)
    assert runs.returncode == 0, runs.stderr
    assert runs.stdout.splitlines()[0].split() == ["実行", "ID", "開始日時", "モード", "ガイド", "状態", "変更", "変更したノード"]
    assert runs.stdout.splitlines()[2].split() == [RUN_ID, "2100-01-01", "00:00:00Z", "適用", "surfnavi", "中断", "0", "-"]
    said.append(runs.stdout)
    empty = runbook("runs", state=tmp / "no-state", env={"LC_ALL": "C.UTF-8"})  # a C locale: Japanese
    assert empty.stdout == f"{tmp / 'no-state' / 'runs'} にはまだ実行がありません\n"
    check = runbook("check", "--lang", "ja", state=state)
    assert check.returncode == 0 and check.stdout.startswith("OK: ガイド "), check.stdout + check.stderr
    said += [check.stdout]
    for argv, expected in [
        (["plan", "surfnav", "-i", inv], "エラー: ガイド 'surfnav' はありません (候補: {guides})。'surfnavi' のことですか?"),
        (["apply", "--node", "sv9", "-i", inv], "エラー: --node: {inv} にノード 'sv9' はありません (候補: sv1, sv2)。'sv1' のことですか?"),
        (["rollback", "20990101-000000-abcdee", "-i", inv],
         f"エラー: RUN_ID: {state}/runs に実行 '20990101-000000-abcdee' はありません (候補: {RUN_ID})。'{RUN_ID}' のことですか?"),
        (["plan", "-i", str(tmp / "inventroy.yaml")],
         "エラー: --inventory {tmp}/inventroy.yaml: ファイルがありません。'inventory.yaml' のことですか?"),
        (["sandbox", "create", "--guide", "postgresql", "--platform", "windows"],
         "エラー: ガイド 'postgresql' は windows ではなく linux のガイドです (windows のガイド: sqlserver-2019, surfnavi)"),
        (["build", "--out", inv], "エラー: --out {inv}: フォルダではなくファイルです (サイトはビルドが丸ごと置き換えるフォルダです)"),
    ]:
        proc = runbook(*argv, "--lang", "ja", state=state)
        assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
        assert proc.stderr == expected.format(guides=GUIDES, inv=inv, tmp=tmp) + "\n"
        said.append(proc.stderr)
    # an apply with nobody to ask for a confirmation
    proc = runbook("apply", "-i", inv, "--lang", "ja", state=state)
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert proc.stderr.splitlines()[-1] == ("エラー: `runbook apply` は適用の前に確認を求めますが、端末がありません。"
                                            "確認なしで適用するには --yes を指定してください")
    said.append(proc.stderr)
    for text in said:
        assert english_words(text, names) == set(), text
        assert ESC not in text


@pytest.mark.parametrize("environ,lang", [
    ({}, "ja"), ({"LANG": "C.UTF-8"}, "ja"), ({"LANG": "ja_JP.UTF-8"}, "ja"), ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"), ({"LANG": "ja_JP.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ja_JP.UTF-8"}, "ja"),
])
def test_the_notebook_language_defaults_to_the_operators_locale(environ, lang):
    from runbook_engine.cli.arguments import default_lang

    assert default_lang(environ) == lang
