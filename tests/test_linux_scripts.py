"""A Linux guide's start.sh / stop.sh do, in real bash, exactly what the site's case table says.

The case table is declared from the guide's data (batch/shcases.py: messages, commands in order,
exit code), not found by running the script. Here each rendered script runs under the real
`bash` for every case of the family's grid (CLP_EVENT × CLP_DISK × CLP_SERVER, and CLP_EVENT
unset), in both languages, with `env -i` and a PATH holding only stub programs (clplogcmd, su, rm
and every other program the commands call), each appending its name and argv to a trace file.
The trace and the exit code must equal the declared outcome. A mutated script (a command dropped
from one branch, a message swapped) must be caught by the same comparison.

A program the scripts call by absolute path (Tomcat's ``/opt/.../bin/startup.sh``) gets its stub at
that very path, in a private mount namespace (``unshare --mount``: a tmpfs over the path's top
folder, seen by that run only), so the scripts run exactly as shipped.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from runbook_engine.artifacts.scripts import render_scripts
from runbook_engine.batch.shcases import command_argv, declared_cases, log_call
from runbook_engine.model.project import Project
from runbook_engine.model.rules import LANGS

REPO = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash")
UNIT, RECORD = "\x1f", "\x1e"


@pytest.fixture(autouse=True)
def _real_bash():
    from plugins.components import require_executable

    require_executable("bash", "bash")


@pytest.fixture(scope="module")
def project() -> Project:
    return Project(REPO)


def _linux_guides(project: Project):
    kb = project.knowledge
    return [g for g in kb.guides.values() if kb.family_of(g).os == "linux" and g.scripts is not None]


def _programs(guide) -> set[str]:
    """Every program the scripts call: a name (the PATH's stubs) or an absolute path (a stub at
    that path, in the run's own mount namespace)."""
    names = {"clplogcmd"}
    for c in guide.scripts.commands:
        names.add("su" if c.user is not None else guide.scripts.resolve(c.argv[0]))
    return names


def _program_of(guide, cmd) -> str:
    """The program a command runs as the stubs know it (``su`` for a command run as a user)."""
    return "su" if cmd.user is not None else guide.scripts.resolve(cmd.argv[0])


def _stub_text(name: str, trace: Path, failing: bool) -> str:
    """A stub that appends its name (as the scripts call it) and argv to *trace*, then exits 0
    (1 when *failing*). Only bash builtins inside: the PATH has nothing else."""
    called = '"$0"' if name.startswith("/") else '"${0##*/}"'
    return ("#!/bin/bash\n"
            f"printf '%s\\x1f' {called} \"$@\" >> '{trace}'\n"
            f"printf '\\x1e' >> '{trace}'\n"
            f"exit {1 if failing else 0}\n")


def _stubs(folder: Path, trace: Path, programs: set[str], failing: set[str] = frozenset()) -> Path:
    """A folder of stubs for the programs called by name (the PATH), and one, ``by-path/``, of
    stubs for those called by absolute path (mounted at their paths by :func:`run_case`)."""
    folder.mkdir()
    for name in programs:
        stub = folder / "by-path" / name.lstrip("/") if name.startswith("/") else folder / name
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text(_stub_text(name, trace, name in failing))
        stub.chmod(0o755)
    return folder


def run_case(tmp: Path, script: bytes, env: dict, programs: set[str], encoding: str,
             failing: set[str] = frozenset()) -> tuple[tuple[tuple[str, ...], ...], int]:
    """Run *script* with bash under ``env -i`` (PATH = stubs, plus *env*): (the calls, exit code)."""
    tmp.mkdir(parents=True)
    trace = tmp / "trace"
    trace.write_bytes(b"")
    stubs = _stubs(tmp / "bin", trace, programs, failing)
    path = tmp / "script.sh"
    path.write_bytes(script)
    variables = [f"{k}={v}" for k, v in env.items()]
    command = ["env", "-i", f"PATH={stubs}", *variables, BASH, str(path)]
    by_path = sorted(p for p in programs if p.startswith("/"))
    if by_path:
        tops = sorted({"/" + p.strip("/").split("/", 1)[0] for p in by_path})
        assert not {"/tmp", "/usr", "/bin", "/proc", "/dev"} & set(tops), f"cannot stub under {tops}"
        setup = "".join(f"mount -t tmpfs rbstub '{top}' && " for top in tops)
        setup += "".join(f"mkdir -p '{Path(p).parent}' && cp -p '{stubs / 'by-path' / p.lstrip('/')}' '{p}' && "
                         for p in by_path)
        command = ["unshare", "--mount", "--propagation", "private", BASH, "-c",
                   setup + 'exec "$@"', "rbstub", *command]
    proc = subprocess.run(command, capture_output=True, timeout=30)
    assert proc.stderr == b"", proc.stderr.decode("utf-8", "replace")
    records = [r for r in trace.read_bytes().decode(encoding).split(RECORD) if r]
    calls = tuple(tuple(r.split(UNIT)[:-1]) for r in records)
    return calls, proc.returncode


def _env_name(env: dict) -> str:
    return ",".join(f"{k}={env.get(k, '(unset)')}" for k in ("CLP_EVENT", "CLP_DISK", "CLP_SERVER"))


def test_linux_scripts_do_in_real_bash_exactly_what_the_case_table_declares(project, tmp_path):
    kb = project.knowledge
    guides = _linux_guides(project)
    assert guides, "no Linux guide with scripts in kb/"
    checked = 0
    for guide in guides:
        family = kb.family_of(guide)
        programs = _programs(guide)
        for lang in LANGS:
            scripts = render_scripts(kb, guide, lang, project.snippets)
            for name, script in scripts.items():
                for i, (env, want) in enumerate(declared_cases(family, guide, script.kind, lang)):
                    got = run_case(tmp_path / f"{guide.id}-{lang}-{name}-{i}", script.data, env, programs, script.encoding)
                    assert got == (want.calls, want.exit_code), f"{guide.id} {lang} {name} {_env_name(env)}"
                    checked += 1
    assert checked >= 2 * 2 * 9  # both languages, both scripts, at least the 9 cases of the grid


def test_start_script_reports_a_failed_start_as_an_activation_failure(project, tmp_path):
    """A command with a failure message: when it fails, the script logs that message at ERR and
    exits 1 right after it (the cluster sees an activation failure)."""
    kb = project.knowledge
    for guide in _linux_guides(project):
        sc = guide.scripts
        checked = [c for c in sc.commands if c.script == "start" and c.failure]
        assert checked, "the guide's start script has no command whose failure it reports"
        for lang in LANGS:
            script = render_scripts(kb, guide, lang, project.snippets)["start.sh"]
            env = {"CLP_EVENT": "START", "CLP_DISK": "SUCCESS", "CLP_SERVER": "HOME"}
            want = next(o for e, o in declared_cases(kb.family_of(guide), guide, "start", lang) if e == env)
            cut = want.calls.index(command_argv(sc, checked[0])) + 1
            calls, rc = run_case(tmp_path / f"{guide.id}-{lang}", script.data, env, _programs(guide),
                                 script.encoding, failing={_program_of(guide, checked[0])})
            assert rc == 1
            assert calls == want.calls[:cut] + (log_call(guide.message(checked[0].failure)(lang), "ERR"),)


def test_stop_script_ignores_a_failed_stop_as_the_original_does(project, tmp_path):
    kb = project.knowledge
    for guide in _linux_guides(project):
        script = render_scripts(kb, guide, "en", project.snippets)["stop.sh"]
        env = {"CLP_EVENT": "FAILOVER", "CLP_DISK": "SUCCESS", "CLP_SERVER": "OTHER"}
        want = next(o for e, o in declared_cases(kb.family_of(guide), guide, "stop", "en") if e == env)
        stops = {_program_of(guide, c) for c in guide.scripts.commands if c.script == "stop" and not c.failure}
        assert stops, "the guide's stop script has no command whose failure it ignores"
        got = run_case(tmp_path / guide.id, script.data, env, _programs(guide), script.encoding, failing=stops)
        assert got == (want.calls, 0)


def _mutants(text: str, guide, lang: str):
    """(what was changed, mutated text): one command line dropped from the FAILOVER branch only,
    the HOME and OTHER messages swapped in the START branch, the disk check inverted, exit 0
    after the not-running message."""
    lines = text.split("\n")
    fo = next(i for i, l in enumerate(lines) if l.startswith("elif") and "FAILOVER" in l)
    from runbook_engine.artifacts.shell import command_line

    rendered = [command_line(c) for c in guide.scripts.commands]
    cmd = next(i for i in range(fo, len(lines)) if any(lines[i].strip().startswith(r) for r in rendered))
    yield "a command dropped from the FAILOVER branch", "\n".join(lines[:cmd] + lines[cmd + 1:])
    home, other = (guide.message(m)(lang) for m in ("start-home", "start-other"))
    yield "HOME and OTHER messages swapped", text.replace(home, "\0").replace(other, home).replace("\0", other)
    yield "the disk check inverted", text.replace('"${CLP_DISK:-}" = "SUCCESS"', '"${CLP_DISK:-}" = "FAILURE"')
    tail = text.rsplit("    exit 1\nfi\n", 1)
    yield "exit 0 when not run by CLUSTERPRO", tail[0] + "    exit 0\nfi\n" + tail[1]


def test_a_wrong_start_script_is_caught_by_the_bash_proof(project, tmp_path):
    """The comparison is not vacuous: each mutant of the English start.sh differs from the
    declared table in at least one case."""
    kb = project.knowledge
    for guide in _linux_guides(project):
        family = kb.family_of(guide)
        script = render_scripts(kb, guide, "en", project.snippets)["start.sh"]
        cases = declared_cases(family, guide, "start", "en")
        for n, (what, text) in enumerate(_mutants(script.text, guide, "en")):
            assert text != script.text, what
            caught = False
            for i, (env, want) in enumerate(cases):
                got = run_case(tmp_path / f"{guide.id}-{n}-{i}", text.encode("ascii"), env, _programs(guide), "ascii")
                if got != (want.calls, want.exit_code):
                    caught = True
                    break
            assert caught, f"mutant not caught: {what}"
