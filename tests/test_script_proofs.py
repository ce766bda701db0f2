"""Proofs of the generated scripts: Wine's real cmd.exe and the simulator against each other and
against what the guide's data declares (batch/intent.py) in every case, the lint, the two defect
fixtures of the original samples, and the errata page.

The Wine tests run each script in a fresh sandbox node (``wine_node``: skips locally without
Wine, FAILS under CI=true) with one warm wineserver, for every combination of the case
variables the site's case tables use (:func:`runbook_engine.sandbox.scriptproof.case_variables`).
"""
from __future__ import annotations

import html.parser
import shutil
import time
from pathlib import Path

import pytest

from runbook_engine.batch.simulator import UNSET, cases
from runbook_engine.sandbox.scriptproof import (
    GOTO_NOT_FOUND,
    CaseResult,
    case_variables,
    differential,
    format_results,
)
from runbook_engine.engine.transports.wine import WineTransport
from runbook_engine.model.project import Project
from runbook_engine.batch.intent import declared_cases, program_name
from runbook_engine.batch.lint import ALL_EVENTS, ServiceUse, lint_script
from runbook_engine.artifacts.scripts import Script, render_scripts

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "batch"
GUIDE = "surfnavi"
LANGS = ("ja", "en")
#: The locale each language's scripts run under: a Japanese node (CP932) and an English one.
NODE_LOCALES = {"ja": "ja_JP.UTF-8", "en": "en_US.UTF-8"}
#: The fixture guide (tests/data/guides/): settings with a space, a command whose exit code is
#: ignored (appctl start) and checked ones (sqlcmd in START.BAT, appctl stop in STOP.BAT).
COMMAND_GUIDE = "webportal"
#: A negative exit code: what an unhandled .NET exception gives (0xE0434352 as a signed int).
DOTNET_CRASH = -532462766


def _windows_script_guides() -> list[str]:
    """Every guide of kb/ with START.BAT / STOP.BAT, and the fixture guide whose scripts run programs."""
    kb = Project.find(REPO).knowledge
    return [gid for gid, g in kb.guides.items()
            if g.scripts is not None and kb.family_of(g).os == "windows"] + [COMMAND_GUIDE]


WINDOWS_SCRIPT_GUIDES = _windows_script_guides()


@pytest.fixture(scope="module")
def project() -> Project:
    return Project.find(REPO)


@pytest.fixture(scope="module")
def command_project(tmp_path_factory) -> Project:
    """This project with the fixture guide dropped into a copy of kb/ (the rest linked)."""
    root = tmp_path_factory.mktemp("wincmd") / "proj"
    root.mkdir()
    for entry in ("snippets", "docs", "mkdocs.yml", "overrides"):
        if (REPO / entry).exists():
            (root / entry).symlink_to(REPO / entry)
    shutil.copytree(REPO / "kb", root / "kb")
    shutil.copytree(REPO / "tests" / "data" / "guides" / COMMAND_GUIDE, root / "kb" / "guides" / COMMAND_GUIDE)
    return Project(root)


def exit_code_settings(guide) -> list[dict[str, int]]:
    """The exit codes a guide's scripts are proved with: every program succeeding; then each
    program of a checked command (one with a ``failure`` message) failing with 1 and crashing
    with a negative code; then each other program failing with 1 (which must change nothing)."""
    out: list[dict[str, int]] = [{}]
    commands = guide.scripts.commands
    for name in dict.fromkeys(program_name(c.argv[0]) for c in commands if c.failure is not None):
        out += [{name: 1}, {name: DOTNET_CRASH}]
    for name in dict.fromkeys(program_name(c.argv[0]) for c in commands if c.failure is None):
        if {name: 1} not in out:
            out.append({name: 1})
    return out


def _against_intent(kb, guide, script: Script, lang: str, codes: dict[str, int], runs) -> list[str]:
    """Each (environment, calls) of *runs* against what the guide's data declares for that case
    (batch/intent.py): one line per case that differs, naming the message ids declared."""
    want = dict((tuple(sorted(env.items())), o) for env, o in
                declared_cases(kb.family_of(guide), guide, script.kind, lang, codes))
    assert len(want) == len(runs), (len(want), len(runs))
    bad = []
    for env, calls in runs:
        o = want[tuple(sorted(env.items()))]
        if [list(c) for c in calls] != [list(c) for c in o.calls]:
            bad.append(f"  {lang}/{script.name} {codes or ''} {env}: declared messages {list(o.messages)}, "
                       f"services {list(o.services)}\n    got      {[list(c) for c in calls]}\n"
                       f"    declared {[list(c) for c in o.calls]}")
    return bad


def _transport(prefix: Path, lang: str) -> WineTransport:
    return WineTransport(f"proof-{lang}", prefix=prefix, lang=NODE_LOCALES[lang])


def _fixture(name: str, file_name: str) -> Script:
    """A test-data .BAT (ASCII, CRLF) as a :class:`Script`, bytes unchanged."""
    data = (DATA / file_name).read_bytes()
    kind = "start" if name.startswith("START") else "stop"
    return Script(guide="fixture", name=name, kind=kind, lang="en", text=data.decode("ascii"),
                  encoding="ascii")


def _report(title: str, results: list[CaseResult]) -> str:
    return f"{title}\n{format_results(results)}"


# --------------------------------------------------------------------------------------------
# The cases


def test_case_variables_are_the_case_tables_and_the_lints(project: Project) -> None:
    variables = case_variables(project.knowledge.family_of("surfnavi"))
    assert variables == {
        "CLP_EVENT": ["START", "FAILOVER", "RECOVER", UNSET],
        "CLP_DISK": ["SUCCESS", "FAILURE"],
        "CLP_SERVER": ["HOME", "OTHER"],
    }
    assert len(cases(variables)) == 16
    # the lint's own grid (render/lint.py) walks the same events
    assert tuple(variables["CLP_EVENT"]) == ALL_EVENTS


# --------------------------------------------------------------------------------------------
# The generated scripts


@pytest.mark.wine
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("gid", WINDOWS_SCRIPT_GUIDES)
def test_generated_scripts_run_in_wine_exactly_as_simulated_in_every_case(
        wine_node: Path, command_project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        gid: str, lang: str) -> None:
    """Wine's cmd.exe runs each generated script of the guide in every case of the grid (with
    every exit-code setting of its programs, see :func:`exit_code_settings`): it records exactly
    the calls the simulator predicts, never aborts, and does what the guide's data declares
    (batch/intent.py: services, order, flags, message ids), which the simulator alone could not
    say (a consistent slip in a template fools both)."""
    from runbook_engine.sandbox.wine import install_command_stubs

    kb = command_project.knowledge
    guide = kb.guides[gid]
    variables = case_variables(kb.family_of(gid))
    if guide.scripts.programs():
        install_command_stubs(tmp_path / "natives", wine_node, guide.scripts.programs())
    settings = exit_code_settings(guide)
    transport = _transport(wine_node, lang)
    failures: list[str] = []
    runs = 0
    retried: list[str] = []
    seconds = 0.0
    began = time.perf_counter()
    for name, script in render_scripts(kb, guide, lang, command_project.snippets).items():
        for codes in settings:
            results = differential(transport, script, variables, exit_codes=codes)
            assert [r.env for r in results] == cases(variables)
            runs += len(results)
            retried += [f"{name} {codes or ''} {r.case()}" for r in results if r.retried]
            seconds += sum(r.seconds for r in results)
            bad = [r for r in results if not r.equal or r.wine_aborted or r.sim_aborted or r.cmd_stderr]
            if bad:
                detail = "\n".join(
                    f"  {r.case()}: wine={r.wine} sim={r.simulated} stderr={r.stderr.strip()!r}"
                    for r in bad)
                failures.append(_report(f"{lang}/{name} {codes or ''}", results) + "\n" + detail)
            failures += _against_intent(kb, guide, script, lang, codes, [(r.env, r.wine) for r in results])
    wall = time.perf_counter() - began
    with capsys.disabled():
        print(f"\n[differential] {gid}/{lang}: {runs} Wine runs (16 cases x 2 scripts x {len(settings)} "
              f"exit-code settings), warm: {seconds:.2f} s in cmd.exe ({seconds / runs * 1000:.0f} ms a run), "
              f"{wall:.2f} s with the simulator and file writes; "
              f"{len(retried)} case(s) run twice{': ' + ', '.join(retried) if retried else ''}")
    assert runs == 16 * 2 * len(settings)
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("gid", WINDOWS_SCRIPT_GUIDES)
def test_simulated_scripts_do_in_every_case_what_the_guides_data_declares(
        command_project: Project, gid: str, lang: str) -> None:
    """The simulator's trace of each generated script, in every case and with every exit-code
    setting of its programs, is what the guide's data declares (batch/intent.py); and the
    declaration is not empty: every scripted service is started and stopped in some case, and
    every message the scripts broadcast is declared somewhere."""
    from runbook_engine.batch.simulator import simulate

    kb = command_project.knowledge
    guide = kb.guides[gid]
    family = kb.family_of(gid)
    failures: list[str] = []
    seen: dict[str, set[str]] = {"start": set(), "stop": set()}
    messages: set[str] = set()
    for name, script in render_scripts(kb, guide, lang, command_project.snippets).items():
        for codes in exit_code_settings(guide):
            runs = []
            for env in cases(case_variables(family)):
                trace = simulate(script.text, env, script=name, exit_codes=codes)
                assert trace.aborted is None, (name, env, trace.aborted)
                runs.append((env, trace.calls))
            failures += _against_intent(kb, guide, script, lang, codes, runs)
            for _, o in declared_cases(family, guide, script.kind, lang, codes):
                seen[script.kind].update(o.services)
                messages.update(o.messages)
    assert not failures, "\n".join(failures)
    scripted = {s.id for s in guide.scripted_services()}
    killable = {s.id for s in guide.scripted_services() if not s.forbid_kill}
    assert scripted and seen["start"] == scripted and seen["stop"] == killable
    assert messages == {m.id for m in guide.scripts.messages}


def test_generated_scripts_pass_the_lint(project: Project) -> None:
    from runbook_engine.publish.checks import lint_guides

    assert [str(e) for e in lint_guides(project, project.knowledge)] == []


# --------------------------------------------------------------------------------------------
# Commands from data: a Windows fixture guide whose scripts run programs besides ARMLOAD/ARMKILL

def test_command_lines_quote_a_space_and_name_settings_as_variables(command_project: Project) -> None:
    kb = command_project.knowledge
    guide = kb.guides[COMMAND_GUIDE]
    start = render_scripts(kb, guide, "en", command_project.snippets)["START.BAT"].text.split("\r\n")
    stop = render_scripts(kb, guide, "en", command_project.snippets)["STOP.BAT"].text.split("\r\n")
    # settings at the top, before the event check; a value with a space needs no quote of its own
    assert start.index('set "APP_HOME=C:\\Program Files\\WebPortal"') < start.index('set "PORTAL_DB=portal"') \
        < start.index('IF "%CLP_EVENT%" == "START" GOTO NORMAL')
    # a token that is (or holds) a setting with a space is quoted; one without is not
    assert 'appctl start "%APP_HOME%"' in start
    assert 'sqlcmd -E -d %PORTAL_DB% -i "%APP_HOME%\\sql\\attach.sql"' in start
    assert 'appctl stop "%APP_HOME%" --timeout=30' in stop
    # after the common ARMLOADs, before the priority check, in both branches; checked ones jump
    for section in ("NORMAL", "FAILOVER"):
        at = start.index(f":{section}")
        run = start.index('appctl start "%APP_HOME%"', at)
        assert start.index("ARMLOAD WPSEARCH /S /M \"WPSearch\"", at) < run \
            < start.index(f'IF "%CLP_SERVER%" == "OTHER" GOTO {section}_OTHER', at)
        assert start[run + 3:run + 5] == ["IF ERRORLEVEL 1 GOTO FAILED_1", "IF NOT ERRORLEVEL 0 GOTO FAILED_1"]
        at = stop.index(f":{section}")
        assert stop.index(f":{section}_EARLY", at) < stop.index('appctl stop "%APP_HOME%" --timeout=30', at) \
            < stop.index("ARMKILL WPSCHED", at)
    assert start[start.index(":FAILED_1") + 2:start.index(":FAILED_1") + 4] == [
        'ARMBCAST /MSG "Could not attach the WebPortal database" /A', "GOTO EXIT"]


def test_a_windows_token_with_percent_or_a_quote_is_refused_and_a_space_is_not() -> None:
    from runbook_engine.model.rules import cmd_program_problem, cmd_token_problem, cmd_word_problem

    assert cmd_token_problem("C:\\Program Files\\App") is None
    assert cmd_token_problem("{APP_HOME}\\bin") is None
    assert "'%'" in cmd_token_problem("%PATH%")
    assert "'%'" in cmd_word_problem("100%", what="setting value")
    assert "'\"'" in cmd_token_problem('a"b')
    for bad in "!^&|<>()":
        assert cmd_token_problem(f"a{bad}b") is not None, bad
    assert "control" in cmd_token_problem("a\tb")
    assert "backslash" in cmd_token_problem("C:\\dir\\")
    assert "space" in cmd_token_problem(" a")
    assert "built-in" in cmd_program_problem("start")
    assert "bare program name" in cmd_program_problem("C:\\x\\app.exe")
    assert cmd_program_problem("appctl") is None


def test_the_declared_outcomes_of_the_command_guide_run_its_commands_in_place(command_project: Project) -> None:
    """The oracle itself, checked by hand on the fixture guide (its Wine and simulator runs are
    judged by the oracle in the tests above): START.BAT runs appctl and sqlcmd after the common
    ARMLOADs and before the priority message, a failing sqlcmd broadcasts attach-failed and ends
    the script, a failing appctl start changes nothing; STOP.BAT runs appctl stop after the
    priority message and before the ARMKILLs, and a failing one ends it after stop-failed."""
    kb = command_project.knowledge
    guide = kb.guides[COMMAND_GUIDE]
    family = kb.family_of(COMMAND_GUIDE)
    assert guide.scripts.programs() == ["appctl", "sqlcmd"]
    app_home = "C:\\Program Files\\WebPortal"
    appctl_start = ("APPCTL", "start", app_home)
    sqlcmd = ("SQLCMD", "-E", "-d", "portal", "-i", app_home + "\\sql\\attach.sql")
    appctl_stop = ("APPCTL", "stop", app_home, "--timeout=30")
    for lang in LANGS:
        msg = lambda i: ("ARMBCAST", "/MSG", guide.message(i)(lang), "/A")  # noqa: E731
        loads = [("ARMLOAD", "WPWEB", "/S", "/M", "WPWebSvc"), ("ARMLOAD", "WPSEARCH", "/S", "/M", "WPSearch")]
        for codes in ({}, {"SQLCMD": 1}, {"SQLCMD": DOTNET_CRASH}, {"APPCTL": 1}):
            for env, o in declared_cases(family, guide, "start", lang, codes):
                event, disk, server = env.get("CLP_EVENT"), env.get("CLP_DISK"), env.get("CLP_SERVER")
                if event not in ("START", "FAILOVER") or disk == "FAILURE":
                    assert not any(c[0] in ("APPCTL", "SQLCMD") for c in o.calls), (env, o)
                    continue
                assert list(o.calls[:4]) == [*loads, appctl_start, sqlcmd], (env, codes)
                if "SQLCMD" in codes:
                    assert list(o.calls[4:]) == [msg("attach-failed")] and o.messages == ("attach-failed",), (env, codes)
                else:
                    prefix = "start" if event == "START" else "failover"
                    assert list(o.calls[4:]) == [msg(f"{prefix}-{server.lower()}"),
                                                 ("ARMLOAD", "WPSCHED", "/S", "/M", "WPSched")], (env, codes)
        for codes in ({}, {"APPCTL": 1}, {"APPCTL": DOTNET_CRASH}):
            for env, o in declared_cases(family, guide, "stop", lang, codes):
                if env.get("CLP_EVENT") not in ("START", "FAILOVER") or env["CLP_DISK"] == "FAILURE":
                    assert o.commands == () and len(o.calls) == 1, (env, o)
                    continue
                assert o.calls[1] == appctl_stop, env
                if codes:
                    assert list(o.calls[2:]) == [msg("stop-failed")], (env, codes)
                else:
                    assert list(o.calls[2:]) == [("ARMKILL", "WPSCHED"), ("ARMKILL", "WPSEARCH"), ("ARMKILL", "WPWEB")]


# --------------------------------------------------------------------------------------------
# The defects of the original samples, reproduced by minimal fixtures


@pytest.mark.wine
@pytest.mark.parametrize("lang", LANGS)
def test_fallover_label_defect_is_linted_and_aborts_in_wine_as_simulated(
        wine_node: Path, project: Project, lang: str) -> None:
    script = _fixture("STOP.BAT", "stop_fallover_defect.bat")
    found = lint_script(script.data, name="STOP.BAT", kind="stop", encoding="ascii",
                        services=[ServiceUse("W_WEB", "W3SVC"), ServiceUse("W_SPOOL", "Spooler")],
                        forbidden_kill=[])
    assert any(e.severity == "error" and e.line == 5
               and e.message.startswith("GOTO target not found: FAILOVER") for e in found), found

    results = differential(_transport(wine_node, lang), script,
                           case_variables(project.knowledge.family_of("surfnavi")))
    report = _report(f"stop_fallover_defect.bat ({lang})", results)
    assert all(r.ok for r in results), report
    message = GOTO_NOT_FOUND[0] if lang == "ja" else GOTO_NOT_FOUND[1]
    for r in results:
        event = r.env.get("CLP_EVENT")
        if event == "FAILOVER":
            # cmd.exe aborts at the GOTO: the ARMKILLs after the jump are never made, and the
            # exit code stays 0.
            assert r.wine_aborted and message in r.stderr, report
            assert r.wine == [], report
            if r.cmd_stderr == r.stderr.strip().splitlines():  # no ld.so noise at exit
                assert r.rc == 0, report
            assert r.sim_aborted == "GOTO target not found: FAILOVER", report
        else:
            assert not r.wine_aborted and r.sim_aborted is None, report
        if event == "START" and r.env["CLP_DISK"] == "SUCCESS":
            assert r.wine == [["ARMKILL", "W_WEB"], ["ARMKILL", "W_SPOOL"]], report


@pytest.mark.wine
def test_disk_error_falls_through_in_the_fixture_but_not_in_our_start_script(
        wine_node: Path, project: Project) -> None:
    kb = project.knowledge
    guide = kb.guides[GUIDE]
    variables = case_variables(kb.family_of("surfnavi"))
    transport = _transport(wine_node, "ja")

    fixture = differential(transport, _fixture("START.BAT", "start_disk_fallthrough.bat"),
                           variables)
    report = _report("start_disk_fallthrough.bat", fixture)
    assert all(r.ok for r in fixture), report
    disk_failures = [r for r in fixture
                     if r.env.get("CLP_EVENT") in ("START", "FAILOVER")
                     and r.env["CLP_DISK"] == "FAILURE"]
    assert len(disk_failures) == 4
    for r in disk_failures:  # the defect: the disk error AND the false "not running"
        assert r.wine == [["ARMBCAST", "/MSG", "Disk error", "/A"],
                          ["ARMBCAST", "/MSG", "The cluster is not running", "/A"]], report

    for lang in LANGS:
        ours = render_scripts(kb, guide, lang, project.snippets)["START.BAT"]
        results = differential(_transport(wine_node, lang), ours, variables)
        report = _report(f"{lang}/START.BAT", results)
        assert all(r.ok for r in results), report
        disk_error = ["ARMBCAST", "/MSG", guide.message("disk-error")(lang), "/A"]
        for r in results:
            if r.env.get("CLP_EVENT") in ("START", "FAILOVER") and r.env["CLP_DISK"] == "FAILURE":
                assert r.wine == [disk_error], report  # exactly one broadcast


# --------------------------------------------------------------------------------------------
# The errata page


class _Sections(html.parser.HTMLParser):
    """Text of every ``<div data-erratum=...>`` and the ids of every element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.sections: dict[str, list[str]] = {}
        self.links: dict[str, list[str]] = {}
        self.proofs: dict[str, list[tuple[str, str]]] = {}  # erratum id -> (claim, where) of each proof line
        self._stack: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "div":
            current = a.get("data-erratum") or (self._stack[-1] if self._stack else None)
            self._stack.append(current)
            if a.get("data-erratum"):
                self.sections[a["data-erratum"]] = []
                self.links[a["data-erratum"]] = []
        elif tag == "a" and self._stack and self._stack[-1]:
            self.links[self._stack[-1]].append(a.get("href", ""))
        elif tag == "span" and "rb-proof" in a.get("class", "") and self._stack and self._stack[-1]:
            self.proofs.setdefault(self._stack[-1], []).append((a["data-claim"], a["data-proved-in"]))

    def handle_endtag(self, tag):
        if tag == "div" and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if self._stack and self._stack[-1]:
            self.sections[self._stack[-1]].append(data)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _visible_text(page: str) -> str:
    class _Text(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_data(self, data):
            self.parts.append(data)

    p = _Text()
    p.feed(page)
    p.close()
    return _norm(" ".join(p.parts))


@pytest.mark.parametrize("lang", LANGS)
def test_errata_page_lists_every_erratum_of_the_model(built_site, project: Project,
                                                      lang: str) -> None:
    kb = project.knowledge
    errata = kb.guides[GUIDE].errata
    assert errata is not None and errata.items
    rel = ("" if lang == "ja" else "en/") + f"{GUIDE}/errata/index.html"
    page = (built_site.out / rel).read_text(encoding="utf-8")
    parsed = _Sections()
    parsed.feed(page)
    parsed.close()
    assert _norm(errata.intro(lang)) in _norm(_visible_text(page))
    assert list(parsed.sections) == [item.id for item in errata.items]
    for n, item in enumerate(errata.items, start=1):
        assert item.id in parsed.ids  # the section's anchor
        heading = kb.label("erratum-heading")(lang).format(n=n, script=item.script)
        assert heading in _visible_text(page)
        body = _norm("".join(parsed.sections[item.id]))
        for label, value in (("defect", item.defect), ("effect", item.effect), ("our-fix", item.fix)):
            assert _norm(kb.label(label)(lang)) in body, (item.id, label)
            assert _norm(value(lang)) in body, (item.id, label)
        assert _norm(kb.label("how-proved")(lang)) in body
        for proof in item.proofs:  # where each claim was proved, what the test does, its name
            assert _norm(kb.label(f"proved-in-{proof.proved_in}")(lang)) in body, (item.id, proof.test)
            assert _norm(proof.text(lang)) in body and proof.test in body, (item.id, proof.test)
        shown = parsed.proofs[item.id]
        assert [(c, w) for c, w in shown if w != "none"] == \
            [(p.claim, p.proved_in) for claim in ("effect", "fix") for p in item.proofs if p.claim == claim]
        # a claim that no test ran in Wine's cmd.exe is marked as not proved on a real component
        assert {c for c, w in shown if w == "none"} == {c for c in ("effect", "fix") if "wine-cmd" not in item.proved_in(c)}
        assert "../scripts/" in parsed.links[item.id]  # links to the scripts page


@pytest.mark.parametrize("lang", LANGS)
def test_scripts_page_explains_the_armload_options_and_shows_both_case_tables(
        built_site, site_pages, project: Project, lang: str) -> None:
    kb = project.knowledge
    rel = ("" if lang == "ja" else "en/") + f"{GUIDE}/scripts/index.html"
    page = site_pages[rel]
    text = _visible_text((built_site.out / rel).read_text(encoding="utf-8"))
    armload = next(c for c in kb.family_of("surfnavi").arm_commands if c.name == "ARMLOAD")
    rows = {row[0]: row for t in page.tables for row in t.rows if row and row[0].startswith("/")}
    for o in armload.options:  # /S, /M and /FOV with their meaning and recommendation
        assert _norm(rows[o.flag][1]) == _norm(o.meaning(lang)), o.flag
        want = kb.label("recommended" if o.recommended else "not-recommended")(lang)
        assert rows[o.flag][2] == want, o.flag
    assert {"/S", "/M", "/FOV"} <= set(rows)
    fov = next(o for o in armload.options if o.flag == "/FOV")
    assert not fov.recommended and fov.note is not None
    assert _norm(fov.note(lang)) in text  # why /FOV is not recommended
    scripts = {t.context.get("data-script") for t in page.tables_with(**{"class": "rb-cases"})}
    assert scripts == {"START.BAT", "STOP.BAT"}
    assert any(url.endswith("errata/") for _tag, _attr, url in page.links)
