"""`runbook check` beyond the schema: lint every guide's generated scripts in every language."""
from __future__ import annotations

from runbook_engine.batch.simulator import simulate
from runbook_engine.model.errors import KbError
from runbook_engine.model.project import Project
from runbook_engine.model.rules import LANGS
from runbook_engine.model.schema import KnowledgeBase
from runbook_engine.batch.lint import ServiceUse, check_reverse_order, lint_script
from runbook_engine.artifacts.scripts import SCRIPT_NAMES, render_scripts


def lint_guides(project: Project, kb: KnowledgeBase) -> list[KbError]:
    errors: list[KbError] = []
    for guide in kb.guides.values():
        # script messages are checked by the loader (model.rules), with the line of each text
        services = [ServiceUse(s.watch_id, s.service) for s in guide.scripted_services()]
        bindings = {s.watch_id: s.service for s in guide.services}
        forbidden = [s.service for s in guide.services if s.forbid_kill]
        for lang in LANGS:
            scripts = render_scripts(kb, guide, lang, project.snippets)
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
