"""Mutation harness: break the project on purpose, one mutation at a time, and check that the
tests named for it fail.

The repository's files (tests/plugins/project.py: ``git ls-files --cached --others --exclude-standard``,
tracked files and new files not yet committed, never ignored ones such as .venv/ or .runbook/) are copied to
``<tmp>/main``; ``<tmp>/shared`` links to the repository's sibling ``shared/`` (the seed the kb
tests read). The copy's ``.runbook/`` gets links to what is not in git and costs minutes to make:
the sandbox templates (hard-linked file by file: a mutated copy can neither delete the
original's nor run nodes inside it) — mermaid.min.js is passed through ``RUNBOOK_MERMAID_JS``. The venv is reused.

Each run is ``python -m pytest -x -q -p mutation_harness <selection>`` with cwd and
``RUNBOOK_ROOT`` at the copy and ``PYTHONPATH=<copy>/src:<copy>/tests``; this module, loaded as
a pytest plugin there, writes the path of the ``runbook_engine`` actually imported, and the
harness refuses a run that imported anything but the copy's ``src/``.

First the union of all selections must pass on the unmutated copy, with nothing skipped (or a
survivor would prove nothing). In the test suite, a selection whose every test already passed
earlier in the same session (same tree, unmutated: tests/conftest.py records each test's outcome
in :data:`SESSION_OUTCOMES`) is left out of that baseline run; what has not run yet, failed or
skipped is run there as before. Then each mutation in tests/mutations.yaml (file, exact old text
found exactly once, new text, description, selection) is applied, its selection run, and the
file restored. A mutation is caught when pytest reports failed tests (exit code 1) or an
interrupted session (exit code 2, e.g. a collection error).

A mutation may name its ``class`` (the kind of slip it stands for: ``declared-outcomes``, a
script that does the wrong thing consistently; ``tables``, a table compared with nothing ...) and
``regenerate: [notebooks]``: the committed notebooks are then rebuilt from the mutated copy
before its selection runs (and put back after), so that the slip is consistent everywhere, as a
maintainer who ran ``runbook build`` would commit it, and a stale notebook cannot be what
catches it.

Run all: ``.venv/bin/python tests/mutation_harness.py`` (``--only ID`` for one, ``--class NAME``
for one class, ``--list`` to list them, ``--keep`` to keep the copy). In the test suite:
``tests/test_proofs.py::test_every_mutation_is_caught``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MUTATIONS = Path(__file__).resolve().parent / "mutations.yaml"
IMPORT_REPORT_ENV = "RUNBOOK_MUTATION_IMPORT_REPORT"
RUN_TIMEOUT = 900  # seconds for one pytest run (a selection with the Wine sandbox takes ~40 s)


@dataclass(frozen=True)
class Mutation:
    id: str
    file: str
    old: str
    new: str
    description: str
    select: list[str]
    kind: str = ""  # the class of slip (mutations.yaml: class)
    regenerate: tuple[str, ...] = ()  # committed artefacts rebuilt from the mutated copy: "notebooks"


@dataclass
class Outcome:
    mutation: Mutation
    caught: bool
    returncode: int
    seconds: float
    tail: str  # last lines of pytest's output
    error: str = ""  # the harness could not judge the run (wrong import, usage error, ...)


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    baseline_seconds: float = 0.0
    baseline_skipped: int = 0  # selections that passed earlier in the session (not run again)

    @property
    def caught(self) -> int:
        return sum(1 for o in self.outcomes if o.caught)

    @property
    def survivors(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.caught]

    def summary(self) -> str:
        lines = [f"mutation score: {self.caught}/{len(self.outcomes)} caught "
                 f"(baseline {self.baseline_seconds:.1f} s; {self.baseline_skipped} selection(s) "
                 f"passed earlier in the session)"]
        for o in self.outcomes:
            mark = "caught  " if o.caught else "SURVIVED"
            lines.append(f"  {mark} {o.mutation.id} ({o.seconds:.1f} s, rc {o.returncode}): {o.mutation.description}")
            if o.caught:
                failed = [ln for ln in o.tail.splitlines() if ln.startswith(("FAILED", "ERROR"))]
                lines.append(f"           {failed[0] if failed else o.tail.splitlines()[-1]}"[:200])
            if not o.caught:
                lines.append(f"           {o.error or (o.tail.splitlines()[-1] if o.tail else '')}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------------------------


def load_mutations(path: Path = MUTATIONS) -> list[Mutation]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for item in data["mutations"]:
        select = item["select"]
        regenerate = tuple(item.get("regenerate", ()))
        unknown = set(regenerate) - set(REGENERATE)
        assert not unknown, f"{item['id']}: unknown regenerate {sorted(unknown)} (known: {sorted(REGENERATE)})"
        out.append(Mutation(id=item["id"], file=item["file"], old=item["old"], new=item["new"],
                            description=item["description"], select=[select] if isinstance(select, str) else list(select),
                            kind=item.get("class", ""), regenerate=regenerate))
    ids = [m.id for m in out]
    assert len(ids) == len(set(ids)), f"duplicate mutation ids in {path}"
    return out


#: What ``regenerate`` may rebuild: the folder of committed artefacts, and the Python code (run in
#: the copy, with its src/ first on the path) that rewrites them from the copy's sources.
REGENERATE: dict[str, tuple[str, str]] = {
    "notebooks": ("runbooks", "import sys\n"
                  "from pathlib import Path\n"
                  "from runbook_engine.model.project import Project\n"
                  "from runbook_engine.artifacts.notebooks import write_notebooks\n"
                  "print(len(write_notebooks(Project(Path(sys.argv[1])))))\n"),
}


def regenerate(root: Path, what: str, python: str = sys.executable) -> dict[Path, bytes]:
    """Rebuild *what* (a key of :data:`REGENERATE`) in the copy at *root*; returns the folder's
    files as they were before, for :func:`restore`. Raises if the rebuild fails."""
    folder, code = REGENERATE[what]
    before = {p: p.read_bytes() for p in (root / folder).rglob("*") if p.is_file()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "RUNBOOK_")) and k != "PYTHONPATH"}
    env.update({"PYTHONPATH": str(root / "src"), "PYTHONDONTWRITEBYTECODE": "1"})
    proc = subprocess.run([python, "-c", code, str(root)], cwd=root, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, check=False)
    if proc.returncode != 0:
        restore(root, folder, before)
        raise RuntimeError(f"regenerate {what} failed (rc {proc.returncode}): {_tail(proc.stderr)}")
    return before


def restore(root: Path, folder: str, before: dict[Path, bytes]) -> None:
    """Put the files of *folder* back as *before* holds them (and remove any new one)."""
    for p in (root / folder).rglob("*"):
        if p.is_file() and p not in before:
            p.unlink()
    for p, data in before.items():
        if not p.exists() or p.read_bytes() != data:
            p.write_bytes(data)


def check_applies(root: Path, m: Mutation) -> str:
    """The file's text; raises if the old text is not found exactly once."""
    text = (root / m.file).read_text(encoding="utf-8")
    n = text.count(m.old)
    if n != 1:
        raise ValueError(f"{m.id}: old text found {n} times in {m.file} (must be exactly once)")
    return text


# --------------------------------------------------------------------------------------------
# The copy
# --------------------------------------------------------------------------------------------


def make_copy(dest_parent: Path, repo: Path = REPO) -> Path:
    """Copy the repository's files to ``dest_parent/main`` and link what the tests need."""
    from plugins.project import project_files

    root = dest_parent / "main"
    for rel in project_files(repo):
        src = repo / rel
        if not src.is_file():  # deleted in the working tree, or a submodule
            continue
        dst = root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)
    shared = repo.parent / "shared"
    if shared.is_dir():
        (dest_parent / "shared").symlink_to(shared, target_is_directory=True)
    cache = repo / ".runbook" / "sandbox-test-cache" / "cluster-templates"
    if cache.is_dir():
        mine = root / ".runbook" / "sandbox-test-cache" / "cluster-templates"
        mine.mkdir(parents=True)
        for entry in cache.iterdir():
            if entry.is_dir() and not entry.is_symlink() and not entry.name.startswith(".tmp-"):
                # hard links, never a symlink: nodes are cloned with `cp -a`, which would copy a
                # symlink as a symlink and run the nodes inside the original template
                subprocess.run(["cp", "-al", str(entry), str(mine / entry.name)], check=True)
    return root


def _mermaid(repo: Path = REPO) -> str | None:
    if os.environ.get("RUNBOOK_MERMAID_JS"):
        return os.environ["RUNBOOK_MERMAID_JS"]
    sys.path.insert(0, str(repo / "src"))
    try:
        from runbook_engine.model.project import Project
        from runbook_engine.publish.site import mermaid_js

        return str(mermaid_js(Project(repo)))
    except Exception:  # noqa: BLE001 - the runs report the missing file themselves
        return None


def run_pytest(root: Path, selection: list[str], python: str = sys.executable) -> tuple[int, str, str, float]:
    """Run pytest on *selection* in the copy at *root*: (returncode, output, imported path, seconds)."""
    report = root.parent / f"import-{time.monotonic_ns()}.txt"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "RUNBOOK_")) and k not in ("PYTHONPATH", "COV_CORE_SOURCE")}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root / "tests")]),
        "RUNBOOK_ROOT": str(root),
        "PYTHONDONTWRITEBYTECODE": "1",  # a same-size edit in the same second must not reuse a .pyc
        IMPORT_REPORT_ENV: str(report),
    })
    mermaid = _mermaid()
    if mermaid:
        env["RUNBOOK_MERMAID_JS"] = mermaid
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [python, "-m", "pytest", "-x", "-q", "-rfEs", "-p", "no:cacheprovider", "-p", "mutation_harness", *selection],
            cwd=root, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
        rc, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, output = -1, f"timed out after {RUN_TIMEOUT} s\n{exc.stdout or ''}"
    seconds = time.perf_counter() - t0
    imported = report.read_text(encoding="utf-8").strip() if report.exists() else ""
    report.unlink(missing_ok=True)
    return rc, output, imported, seconds


def _wrong_import(root: Path, imported: str) -> str:
    if not imported:
        return "the run did not report which runbook_engine it imported"
    if not Path(imported).resolve().is_relative_to((root / "src").resolve()):
        return f"the run imported {imported}, not the copy's src/"
    return ""


def _tail(output: str, lines: int = 15) -> str:
    return "\n".join(output.strip().splitlines()[-lines:])


#: outcome of each test of this pytest session by node id ("passed", "failed", "skipped"), as
#: tests/conftest.py hears them (:func:`record_outcome`); empty outside a session
SESSION_OUTCOMES: dict[str, str] = {}


def record_outcome(report) -> None:
    """Called by tests/conftest.py for each report of a test's setup, call and teardown: a test
    counts as passed only if its call passed and no phase failed or skipped."""
    now = SESSION_OUTCOMES.get(report.nodeid)
    if report.failed:
        SESSION_OUTCOMES[report.nodeid] = "failed"
    elif report.skipped and now != "failed":
        SESSION_OUTCOMES[report.nodeid] = "skipped"
    elif report.when == "call" and report.passed and now is None:
        SESSION_OUTCOMES[report.nodeid] = "passed"


def passed_in_session(nodeids: list[str]):
    """A predicate for :func:`run_all`: the selection names tests of *nodeids* (the session's
    collected items: a node id, or a test function of parametrized ones) and every one of them
    passed earlier in this session."""
    def check(selection: str) -> bool:
        matched = [n for n in nodeids if n == selection or n.startswith((selection + "[", selection + "::"))]
        return bool(matched) and all(SESSION_OUTCOMES.get(n) == "passed" for n in matched)
    return check


def run_all(mutations: list[Mutation] | None = None, *, keep: bool = False, python: str = sys.executable,
            log=print, already_passed=None) -> Report:
    """Apply each mutation alone in a copy and run its selection. *already_passed*(selection)
    true leaves that selection out of the unmutated baseline (it passed in this very tree)."""
    mutations = load_mutations() if mutations is None else mutations
    tmp = Path(tempfile.mkdtemp(prefix="rb-mutations-"))
    report = Report()
    try:
        root = make_copy(tmp)
        originals = {m.id: check_applies(root, m) for m in mutations}
        union = list(dict.fromkeys(s for m in mutations for s in m.select))
        baseline = [s for s in union if not (already_passed and already_passed(s))]
        report.baseline_skipped = len(union) - len(baseline)
        if baseline:
            rc, output, imported, seconds = run_pytest(root, baseline, python)
            report.baseline_seconds = seconds
            bad = _wrong_import(root, imported)
            last = output.strip().splitlines()[-1] if output.strip() else ""
            if bad or rc != 0 or "skipped" in last:
                raise RuntimeError(f"baseline (unmutated copy) must pass with nothing skipped: rc {rc}. "
                                   f"{bad}\n{_tail(output, 40)}")
            log(f"baseline: {len(baseline)} selections passed in {seconds:.1f} s ({imported})")
        log(f"baseline: {report.baseline_skipped} of {len(union)} selections passed earlier in this session")
        for m in mutations:
            path = root / m.file
            path.write_text(originals[m.id].replace(m.old, m.new, 1), encoding="utf-8")
            saved: dict[str, dict[Path, bytes]] = {}
            regenerate_error = ""
            try:
                for what in m.regenerate:
                    saved[what] = regenerate(root, what, python)
                rc, output, imported, seconds = run_pytest(root, m.select, python)
            except RuntimeError as exc:  # the mutated copy does not even build: no test judged it
                rc, output, imported, seconds, regenerate_error = -2, "", "", 0.0, str(exc)
            finally:
                path.write_text(originals[m.id], encoding="utf-8")
                for what, before in saved.items():
                    restore(root, REGENERATE[what][0], before)
            if regenerate_error:
                error = regenerate_error
            elif rc not in (0, 1, 2):
                error = f"pytest exit code {rc} (timeout, internal error, usage error or no tests collected)"
            elif imported or rc == 0:
                error = _wrong_import(root, imported)
            else:
                error = ""  # failed before the session started (e.g. a broken import): a failure all the same
            caught = rc in (1, 2) and not error
            o = Outcome(m, caught, rc, seconds, _tail(output), error)
            report.outcomes.append(o)
            log(f"{'caught  ' if caught else 'SURVIVED'} {m.id} in {seconds:.1f} s (rc {rc})")
    finally:
        if keep:
            log(f"copy kept at {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return report


# --------------------------------------------------------------------------------------------
# pytest plugin side (loaded in the copy with -p mutation_harness)
# --------------------------------------------------------------------------------------------


def pytest_sessionstart(session) -> None:  # noqa: ARG001 - pytest hook signature
    target = os.environ.get(IMPORT_REPORT_ENV)
    if target:
        import runbook_engine

        Path(target).write_text(str(Path(runbook_engine.__file__).resolve().parent.parent), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", help="run only this mutation id (repeatable)")
    ap.add_argument("--class", dest="kinds", action="append", metavar="NAME",
                    help="run only the mutations of this class (repeatable; mutations.yaml: class)")
    ap.add_argument("--list", action="store_true", help="list the mutations (id, class, selection) and exit")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = ap.parse_args(argv)
    mutations = load_mutations()
    if args.only:
        unknown = set(args.only) - {m.id for m in mutations}
        if unknown:
            ap.error(f"unknown mutation id(s): {', '.join(sorted(unknown))}")
        mutations = [m for m in mutations if m.id in args.only]
    if args.kinds:
        known = {m.kind for m in load_mutations() if m.kind}
        unknown = set(args.kinds) - known
        if unknown:
            ap.error(f"unknown class(es): {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
        mutations = [m for m in mutations if m.kind in args.kinds]
    if args.list:
        for m in mutations:
            print(f"{m.id}\t{m.kind or '-'}\t{' '.join(m.select)}")
        return 0
    report = run_all(mutations, keep=args.keep)
    print(report.summary())
    for o in report.survivors:
        print(f"\n--- {o.mutation.id} ---\n{o.error}\n{o.tail}")
    return 0 if not report.survivors else 1


if __name__ == "__main__":
    sys.exit(main())
