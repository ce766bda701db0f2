"""`runbook pdf` and `runbook report`: printable outputs. A guide (or the manual for one cluster)
as one PDF, and the evidence report (作業記録) of an executed run as HTML and PDF; both printed by
Debian's Chromium (publish/pdf.py says why). A PDF shows the stages of its build and its print as
they come (cli/site.py); every line is in the operator's language (``--lang`` is the document's
language too)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from runbook_engine.cli.arguments import BadArgument, about, default_lang, in_place, known_guide, lang_option, unknown_run
from runbook_engine.cli.base import EXIT_DRIFT, EXIT_OK, check_project, error, fail_input, messages_for, project_of
from runbook_engine.cli.display import Display
from runbook_engine.cli.site import BuildProgress
from runbook_engine.engine.messages import Said, plain


def _pdf_file(value: str | None, default: str) -> Path:
    """The PDF to write: *value* (``--out``) or *default* in the current folder; never a folder."""
    out = Path(value) if value else Path.cwd() / default
    if out.is_dir():
        raise BadArgument(Said.of("error-out-folder-pdf", path=out))
    if not out.parent.is_dir():
        raise BadArgument(Said.of("error-out-no-folder", path=out, folder=out.parent))
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
            raise BadArgument(about(f"--inventory {args.inventory}", str(exc))) from None
        if deployment.guide != guide.id:
            raise BadArgument(Said.of("error-inventory-other-guide", path=args.inventory, other=deployment.guide,
                                      guide=guide.id))
        name = f"{guide.id}-{deployment.cluster}.{args.lang}.pdf"
    out = _pdf_file(args.out, name)
    say = messages_for(project, args.lang)
    with Display(quiet=args.json) as display:
        try:
            report = guide_pdf(project, guide.id, args.lang, out, on_stage=BuildProgress(say, display),
                               inventory=Path(args.inventory) if args.inventory else None)
        except (PdfError, SiteBuildError) as exc:
            display.stop()
            print(say.text(error(str(exc))), file=sys.stderr)
            return EXIT_DRIFT
    if args.json:
        print(json.dumps({"pdf": str(report.path), "pages": report.pages, "seconds": round(report.seconds, 2),
                          "build_seconds": round(report.build_seconds, 2),
                          "print_seconds": round(report.print_seconds, 2), "prints": report.prints}, indent=2))
    else:
        s = lambda v: say.L("seconds", s=f"{v:.1f}")  # noqa: E731
        print(plain(say.L("pdf-done", lang=args.lang, pages=report.pages, seconds=s(report.seconds),
                          built=s(report.build_seconds), printed=s(report.print_seconds), path=report.path)))
    return EXIT_OK


def cmd_report(args) -> int:
    project = project_of(args)
    from runbook_engine.publish.evidence import UnknownRun, write_report
    from runbook_engine.publish.pdf import PdfError

    state = project.state
    out = Path(args.out) if args.out else state / "runs" / args.run_id
    if out.exists() and not out.is_dir():
        raise BadArgument(Said.of("error-out-file-report", path=out))
    say = messages_for(project, args.lang)
    with Display(quiet=args.json) as display:
        try:
            written = write_report(project.knowledge, state, args.run_id, args.lang, out,
                                   on_stage=BuildProgress(say, display))
        except UnknownRun as exc:
            raise BadArgument(about("RUN_ID", unknown_run(exc.run_id, exc.known, in_place(state / "runs")))) from None
        except PdfError as exc:
            print(say.text(error(str(exc))), file=sys.stderr)
            return EXIT_DRIFT
    if args.json:
        print(json.dumps({"run_id": args.run_id, "html": str(written.html), "pdf": str(written.pdf),
                          "pages": written.pages, "seconds": round(written.seconds, 2)}, indent=2))
    else:
        print(plain(say.L("report-written", run_id=args.run_id, lang=args.lang, path=written.html)))
        print(plain(say.L("report-pdf", pages=written.pages, seconds=say.L("seconds", s=f"{written.seconds:.1f}"),
                          path=written.pdf)))
    return EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("pdf", help="write a guide (or the manual for one cluster) as one PDF: cover, contents, "
                                   "page numbers, figures")
    p.add_argument("guide", metavar="GUIDE", help="the guide's id (kb/guides/GUIDE)")
    lang_option(p, default_lang(), "the language of the PDF and of what the command says (default: from the locale)")
    p.add_argument("--inventory", "-i", metavar="INV",
                   help="print the manual for this inventory's cluster (its values, a parameter sheet)")
    p.add_argument("--out", metavar="FILE",
                   help="the PDF to write (default: GUIDE.LANG.pdf, or GUIDE-CLUSTER.LANG.pdf, in the current folder)")
    p.add_argument("--json", action="store_true", help="print the file, its pages and the times as JSON")
    p.set_defaults(func=cmd_pdf)
    r = sub.add_parser("report", help="write the evidence report of a run (who, when, each step, the changes, the "
                                      "confirmations, rollbacks) as HTML and PDF, from its journal and confirmations")
    r.add_argument("run_id", metavar="RUN_ID", help="the run (`runbook runs` lists them)")
    lang_option(r, default_lang(), "the language of the report and of what the command says (default: from the locale)")
    r.add_argument("--out", metavar="DIR",
                   help="the folder to write report.LANG.html and report.LANG.pdf into (default: the run's folder)")
    r.add_argument("--json", action="store_true", help="print the files written and the PDF's pages as JSON")
    r.set_defaults(func=cmd_report)
