"""Proofs of the generated scripts: the simulator against Wine's real cmd.exe in every case,
the lint, the two defect fixtures of the original samples, and the errata page.

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
from runbook_engine.batch.lint import ALL_EVENTS, ServiceUse, lint_script
from runbook_engine.artifacts.scripts import Script, render_scripts

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "batch"
GUIDE = "surfnavi"
LANGS = ("ja", "en")
#: The locale each language's scripts run under: a Japanese node (CP932) and an English one.
NODE_LOCALES = {"ja": "ja_JP.UTF-8", "en": "en_US.UTF-8"}


@pytest.fixture(scope="module")
def project() -> Project:
    return Project.find(REPO)


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
def test_generated_scripts_run_in_wine_exactly_as_simulated_in_every_case(
        wine_node: Path, project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    kb = project.knowledge
    guide = kb.guides[GUIDE]
    variables = case_variables(kb.family_of("surfnavi"))
    failures: list[str] = []
    runs = 0
    retried: list[str] = []
    seconds = 0.0
    began = time.perf_counter()
    for lang in LANGS:
        transport = _transport(wine_node, lang)
        for name, script in render_scripts(kb, guide, lang, project.snippets).items():
            results = differential(transport, script, variables)
            assert [r.env for r in results] == cases(variables)
            runs += len(results)
            retried += [f"{lang}/{name} {r.case()}" for r in results if r.retried]
            seconds += sum(r.seconds for r in results)
            bad = [r for r in results if not r.equal or r.wine_aborted or r.sim_aborted
                   or r.cmd_stderr]
            if bad:
                detail = "\n".join(
                    f"  {r.case()}: wine={r.wine} sim={r.simulated} stderr={r.stderr.strip()!r}"
                    for r in bad)
                failures.append(_report(f"{lang}/{name}", results) + "\n" + detail)
    wall = time.perf_counter() - began
    with capsys.disabled():
        print(f"\n[differential] {runs} Wine runs (16 cases x 2 scripts x 2 languages), warm: "
              f"{seconds:.2f} s in cmd.exe ({seconds / runs * 1000:.0f} ms a run), "
              f"{wall:.2f} s with the simulator and file writes; "
              f"{len(retried)} case(s) run twice{': ' + ', '.join(retried) if retried else ''}")
    assert runs == 64
    assert not failures, "\n\n".join(failures)


def test_generated_scripts_pass_the_lint(project: Project) -> None:
    from runbook_engine.publish.checks import lint_guides

    assert [str(e) for e in lint_guides(project, project.knowledge)] == []


# --------------------------------------------------------------------------------------------
# Commands from data: a Windows fixture guide whose scripts run programs besides ARMLOAD/ARMKILL

#: The fixture guide (tests/data/guides/): settings with a space, a command whose exit code is
#: ignored (appctl start) and checked ones (sqlcmd in START.BAT, appctl stop in STOP.BAT).
COMMAND_GUIDE = "webportal"
#: A negative exit code: what an unhandled .NET exception gives (0xE0434352 as a signed int).
DOTNET_CRASH = -532462766


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


def _message_row(guide, msg_id: str, lang: str) -> list[str]:
    return ["ARMBCAST", "/MSG", guide.message(msg_id)(lang), "/A"]


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


@pytest.mark.wine
def test_commands_of_a_windows_guide_run_in_wine_exactly_as_simulated(
        wine_node: Path, command_project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from runbook_engine.sandbox.wine import install_command_stubs

    kb = command_project.knowledge
    guide = kb.guides[COMMAND_GUIDE]
    assert guide.scripts.programs() == ["appctl", "sqlcmd"]
    install_command_stubs(tmp_path / "natives", wine_node, guide.scripts.programs())
    variables = case_variables(kb.family_of(COMMAND_GUIDE))
    app_home = "C:\\Program Files\\WebPortal"
    # (script, exit codes): every command succeeds; the checked one fails (1, then a negative code)
    runs_of = [("START.BAT", {}), ("START.BAT", {"SQLCMD": 1}), ("START.BAT", {"SQLCMD": DOTNET_CRASH}),
               ("STOP.BAT", {}), ("STOP.BAT", {"APPCTL": 1}), ("STOP.BAT", {"APPCTL": DOTNET_CRASH}),
               ("START.BAT", {"APPCTL": 1})]  # appctl start is not checked: its failure changes nothing
    failures: list[str] = []
    runs = 0
    began = time.perf_counter()
    for lang in LANGS:
        transport = _transport(wine_node, lang)
        scripts = render_scripts(kb, guide, lang, command_project.snippets)
        for name, codes in runs_of:
            results = differential(transport, scripts[name], variables, exit_codes=codes)
            runs += len(results)
            bad = [r for r in results if not r.ok or r.wine_aborted or r.sim_aborted or r.cmd_stderr]
            if bad:
                failures.append(_report(f"{lang}/{name} {codes}", results) + "\n" + "\n".join(
                    f"  {r.case()}: wine={r.wine} sim={r.simulated} stderr={r.stderr.strip()!r}" for r in bad))
                continue
            for r in results:
                if r.env.get("CLP_EVENT") not in ("START", "FAILOVER") or r.env["CLP_DISK"] != "SUCCESS":
                    assert not any(row[0] in ("APPCTL", "SQLCMD") for row in r.wine), r
                    continue
                if name == "START.BAT":
                    assert ["APPCTL", "start", app_home] in r.wine, r
                    assert r.wine[3] == ["SQLCMD", "-E", "-d", "portal", "-i", app_home + "\\sql\\attach.sql"], r
                    if "SQLCMD" in codes:  # broadcast, then nothing more (no priority message, no late ARMLOAD)
                        assert r.wine[4:] == [_message_row(guide, "attach-failed", lang)], r
                    else:
                        assert r.wine[-1] == ["ARMLOAD", "WPSCHED", "/S", "/M", "WPSched"], r
                else:
                    assert r.wine[1] == ["APPCTL", "stop", app_home, "--timeout=30"], r
                    if codes:
                        assert r.wine[2:] == [_message_row(guide, "stop-failed", lang)], r
                    else:
                        assert [row[:2] for row in r.wine[2:]] == [["ARMKILL", "WPSCHED"], ["ARMKILL", "WPSEARCH"],
                                                                     ["ARMKILL", "WPWEB"]], r
    with capsys.disabled():
        print(f"\n[differential, commands] {runs} Wine runs of {COMMAND_GUIDE} (16 cases x {len(runs_of)} script/exit-code "
              f"settings x 2 languages) in {time.perf_counter() - began:.2f} s")
    assert runs == 16 * len(runs_of) * 2
    assert not failures, "\n\n".join(failures)


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
