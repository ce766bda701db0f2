"""`runbook pdf` and `runbook report`: printable outputs. A guide (or the manual for one cluster)
as one PDF, and the evidence report (作業記録) of an executed run as HTML and PDF; both printed by
Debian's Chromium (publish/pdf.py says why)."""
from __future__ import annotations

import json
from pathlib import Path

from runbook_engine.cli.arguments import BadArgument, default_lang, known_guide
from runbook_engine.cli.base import EXIT_DRIFT, EXIT_OK, check_project, fail_input, project_of
from runbook_engine.model.rules import LANGS


def _pdf_file(value: str | None, default: str) -> Path:
    """The PDF to write: *value* (``--out``) or *default* in the current folder; never a folder."""
    out = Path(value) if value else Path.cwd() / default
    if out.is_dir():
        raise BadArgument(f"--out {out}: a folder, not a file (give the PDF's file name)")
    if not out.parent.is_dir():
        raise BadArgument(f"--out {out}: no folder {out.parent}")
    return out


def cmd_pdf(args) -> int:
    project = project_of(args)
    guide = known_guide(project.knowledge, args.guide)
    errors = check_project(project)
    if errors:
        return fail_input(errors)
    from runbook_engine.publish.deployment import DeploymentError, load_deployment
    from runbook_engine.publish.files import SiteBuildError
    from runbook_engine.publish.pdf import PdfError, guide_pdf

    name = f"{guide.id}.{args.lang}.pdf"
    if args.inventory:
        try:
            deployment = load_deployment(project, args.inventory)
        except DeploymentError as exc:
            raise BadArgument(f"--inventory {args.inventory}: {exc}") from None
        if deployment.guide != guide.id:
            raise BadArgument(f"--inventory {args.inventory}: the inventory is for guide '{deployment.guide}', "
                              f"not '{guide.id}'")
        name = f"{guide.id}-{deployment.cluster}.{args.lang}.pdf"
    out = _pdf_file(args.out, name)
    try:
        report = guide_pdf(project, guide.id, args.lang, out,
                           inventory=Path(args.inventory) if args.inventory else None)
    except (PdfError, SiteBuildError) as exc:
        print(f"error: {exc}")
        return EXIT_DRIFT
    if args.json:
        print(json.dumps({"pdf": str(report.path), "pages": report.pages, "seconds": round(report.seconds, 2),
                          "build_seconds": round(report.build_seconds, 2),
                          "print_seconds": round(report.print_seconds, 2), "prints": report.prints}, indent=2))
    else:
        print(f"pdf ({args.lang}): {report.pages} pages in {report.seconds:.1f} s (pages built in "
              f"{report.build_seconds:.1f} s, printed in {report.print_seconds:.1f} s) -> {report.path}")
    return EXIT_OK


def cmd_report(args) -> int:
    project = project_of(args)
    from runbook_engine.model.errors import unknown
    from runbook_engine.publish.evidence import UnknownRun, write_report
    from runbook_engine.publish.pdf import PdfError

    state = project.state
    out = Path(args.out) if args.out else state / "runs" / args.run_id
    if out.exists() and not out.is_dir():
        raise BadArgument(f"--out {out}: a file, not a folder (the report's HTML and PDF are written into it)")
    try:
        written = write_report(project.knowledge, state, args.run_id, args.lang, out)
    except UnknownRun as exc:
        ids = exc.known
        raise BadArgument("RUN_ID: " + unknown("run", exc.run_id, ids, where=f"in {state / 'runs'}", limit=5)
                          + ("" if len(ids) <= 5 else "; `runbook runs` lists them all")) from None
    except PdfError as exc:
        print(f"error: {exc}")
        return EXIT_DRIFT
    if args.json:
        print(json.dumps({"run_id": args.run_id, "html": str(written.html), "pdf": str(written.pdf),
                          "pages": written.pages, "seconds": round(written.seconds, 2)}, indent=2))
    else:
        print(f"report of run {args.run_id} ({args.lang}): {written.html}")
        print(f"pdf: {written.pages} page(s) in {written.seconds:.1f} s -> {written.pdf}")
    return EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("pdf", help="write a guide (or the manual for one cluster) as one PDF: cover, contents, "
                                   "page numbers, figures")
    p.add_argument("guide", metavar="GUIDE", help="the guide's id (kb/guides/GUIDE)")
    p.add_argument("--lang", choices=list(LANGS), default=default_lang(),
                   help="the language of the PDF (default: from the locale)")
    p.add_argument("--inventory", "-i", metavar="INV",
                   help="print the manual for this inventory's cluster (its values, a parameter sheet)")
    p.add_argument("--out", metavar="FILE",
                   help="the PDF to write (default: GUIDE.LANG.pdf, or GUIDE-CLUSTER.LANG.pdf, in the current folder)")
    p.add_argument("--json", action="store_true", help="print the file, its pages and the times as JSON")
    p.set_defaults(func=cmd_pdf)
    r = sub.add_parser("report", help="write the evidence report of a run (who, when, each step, the changes, the "
                                      "confirmations, rollbacks) as HTML and PDF, from its journal and confirmations")
    r.add_argument("run_id", metavar="RUN_ID", help="the run (`runbook runs` lists them)")
    r.add_argument("--lang", choices=list(LANGS), default=default_lang(),
                   help="the language of the report (default: from the locale)")
    r.add_argument("--out", metavar="DIR",
                   help="the folder to write report.LANG.html and report.LANG.pdf into (default: the run's folder)")
    r.add_argument("--json", action="store_true", help="print the files written and the PDF's pages as JSON")
    r.set_defaults(func=cmd_report)
