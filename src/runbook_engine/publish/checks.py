"""`runbook check` beyond the schema: guide ids the site can hold, script messages the templates
need, and a lint of every guide's generated scripts in every language."""
from __future__ import annotations

import re
from pathlib import Path

from runbook_engine.batch.simulator import simulate
from runbook_engine.model.errors import KbError
from runbook_engine.model.project import Project
from runbook_engine.model.rules import LANGS
from runbook_engine.model.schema import KnowledgeBase
from runbook_engine.model.yamlio import locate, read_yaml, rel
from runbook_engine.publish.config import LANG_DIRS
from runbook_engine.publish.labels import SITE_LABELS
from runbook_engine.batch.lint import ServiceUse, check_reverse_order, lint_script
from runbook_engine.batch.shlint import lint_shell_script
from runbook_engine.artifacts.scripts import SCRIPT_NAMES, render_scripts


#: Folders at the root of each language's site that are not guides (a guide's pages live in a folder
#: named by its id, so a guide may not take one of these names).
SITE_FOLDERS = frozenset({"assets", "search", "downloads", "runbooks", *(d for d in LANG_DIRS.values() if d)})


def _guide_file(project: Project, guide_id: str, name: str) -> tuple[str, object]:
    path = project.kb / "guides" / guide_id / name
    return rel(path, project.kb), read_yaml(path, project.kb)


def site_conflicts(project: Project, kb: KnowledgeBase) -> list[KbError]:
    """A guide id that is also a folder of the site would overwrite it (or be overwritten)."""
    errors = []
    for gid in kb.guides:
        if gid in SITE_FOLDERS:
            name, raw = _guide_file(project, gid, "guide.yaml")
            errors.append(KbError(name, locate(raw, ("id",)), f"id: '{gid}' is a folder of the site "
                                  f"({', '.join(sorted(SITE_FOLDERS))}): choose another guide id"))
    return errors


def _missing_message(project: Project, guide, exc: KeyError) -> KbError:
    """The script templates broadcast messages by id: one the guide's scripts.yaml lacks."""
    name, raw = _guide_file(project, guide.id, "scripts.yaml")
    return KbError(name, locate(raw, ("messages",)), f"messages: no message '{exc.args[0]}': "
                   "the script templates (snippets/scripts/) broadcast it")


#: a label the code, the page templates or the snippets ask for by its id, as L(<quoted id>),
#: label(<quoted id>), label(kb, <quoted id>) (publish/labels.py) or Said.of(<quoted id>)
#: (engine/messages.py: worded where it is shown)
_LABEL_USE = re.compile(r"(?:\bL|\blabel|\bSaid\.of)\(\s*(?:kb\s*,\s*)?[\"']([a-z0-9]+(?:-[a-z0-9]+)*)[\"']")


def used_labels(project: Project) -> dict[str, str]:
    """Every label id asked for by name in the package, docs/ and snippets/: id -> where (file:line)."""
    import runbook_engine

    roots = [Path(runbook_engine.__file__).parent, project.root / "docs", project.snippets]
    out: dict[str, str] = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if path.suffix not in (".py", ".md", ".j2", ".html") or not path.is_file():
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                for label_id in _LABEL_USE.findall(line):
                    out.setdefault(label_id, f"{path.name}:{n}")
    return out


def label_errors(project: Project, kb: KnowledgeBase) -> list[KbError]:
    """A label the site, the notebooks or the scripts use that neither kb/site.yaml nor the
    site's own labels (publish/labels.py, until kb/ takes them) define: one located error each
    (the build would otherwise stop on a KeyError)."""
    missing = {k: v for k, v in used_labels(project).items() if k not in kb.site.labels and k not in SITE_LABELS}
    if not missing:
        return []
    path = project.kb / "site.yaml"
    raw = read_yaml(path, project.kb)
    line = locate(raw, ("labels",))
    return [KbError(rel(path, project.kb), line, f"labels: no label '{k}' (used at {where})")
            for k, where in sorted(missing.items())]


def lint_guides(project: Project, kb: KnowledgeBase) -> list[KbError]:
    errors: list[KbError] = site_conflicts(project, kb) + label_errors(project, kb)
    for guide in kb.guides.values():
        if guide.scripts is None:  # the cluster starts the application itself (service resources)
            continue
        if kb.family_of(guide).os == "linux":
            errors += _lint_shell_scripts(project, kb, guide)
            continue
        # script messages are checked by the loader (model.rules), with the line of each text
        services = [ServiceUse(s.watch_id, s.service) for s in guide.scripted_services()]
        bindings = {s.watch_id: s.service for s in guide.services}
        forbidden = [s.service for s in guide.services if s.forbid_kill]
        for lang in LANGS:
            try:
                scripts = render_scripts(kb, guide, lang, project.snippets)
            except KeyError as exc:  # a message id the templates use but the guide lacks
                errors.append(_missing_message(project, guide, exc))
                break
            for name in SCRIPT_NAMES:
                sc = scripts[name]
                label = f"generated:{guide.id}/{lang}/{name}"
                for e in lint_script(sc.data, name=label, kind=sc.kind, encoding=sc.encoding,
                                     services=services, forbidden_kill=forbidden, bindings=bindings):
                    if e.severity == "error":
                        errors.append(KbError(e.file, e.line, e.message))
            env = {"CLP_EVENT": "START", "CLP_DISK": "SUCCESS", "CLP_SERVER": "HOME"}
            start = simulate(scripts["START.BAT"].text, env)
            stop = simulate(scripts["STOP.BAT"].text, env)
            for e in check_reverse_order(start, stop, name=f"generated:{guide.id}/{lang}/STOP.BAT"):
                errors.append(KbError(e.file, e.line, e.message))
    return errors


def _lint_shell_scripts(project: Project, kb: KnowledgeBase, guide) -> list[KbError]:
    """start.sh / stop.sh of a Linux guide in every language: bash's parser and the bytes."""
    errors: list[KbError] = []
    for lang in LANGS:
        try:
            scripts = render_scripts(kb, guide, lang, project.snippets)
        except KeyError as exc:  # a message id the templates use but the guide lacks
            return [_missing_message(project, guide, exc)]
        for name, sc in scripts.items():
            for e in lint_shell_script(sc.data, name=f"generated:{guide.id}/{lang}/{name}", encoding=sc.encoding):
                errors.append(KbError(e.file, e.line, e.message))
    return errors
