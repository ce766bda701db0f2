"""Table 1: the full build (notebooks + both MkDocs builds) against a bare MkDocs build of the same
rendered Markdown (same theme, extensions and per-language config; no macros, no hook), and the
cost per page of synthetic knowledge bases of 10, 50 and 200 generated guides."""
from __future__ import annotations

import logging
import os
import re
import shutil
import time
from pathlib import Path

import yaml

from .common import MERMAID, Row, Table, copy_project, interleaved, log, median, temp_dir, verdict

GOAL_RATIO = 1.1


def _quiet() -> None:
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    os.environ.setdefault("RUNBOOK_MERMAID_JS", str(MERMAID))
    logging.getLogger("mkdocs").setLevel(logging.ERROR)
    logging.getLogger("mkdocs_macros").setLevel(logging.ERROR)


def full_build(root: Path, out: Path) -> dict:
    """`runbook build` minus its check: write_notebooks + build_site, on a fresh Project."""
    from runbook_engine.model.project import Project
    from runbook_engine.artifacts.notebooks import write_notebooks
    from runbook_engine.publish.site import build_site

    project = Project(root)
    t0 = time.perf_counter()
    write_notebooks(project)
    t1 = time.perf_counter()
    report = build_site(project, out)
    t2 = time.perf_counter()
    return {"seconds": t2 - t0, "notebooks": t1 - t0, "site": t2 - t1,
            "pages": {k: v.pages for k, v in report.languages.items()},
            "per_lang": {k: v.seconds for k, v in report.languages.items()}}


def check_only(root: Path) -> float:
    """What `runbook build` runs before building: check_project (kb validation + script lint)."""
    from runbook_engine.cli import check_project
    from runbook_engine.model.project import Project

    t0 = time.perf_counter()
    errors = check_project(Project(root))
    if errors:
        raise RuntimeError(f"check failed: {errors[:3]}")
    return time.perf_counter() - t0


def count_kb_loads(root: Path, out: Path) -> int:
    from runbook_engine.model import loader

    orig, n = loader.load, [0]

    def load(r="kb"):
        n[0] += 1
        return orig(r)
    loader.load = load
    try:
        full_build(root, out)
    finally:
        loader.load = orig
    return n[0]


# --- the floor ---------------------------------------------------------------------------------

def _strip_macros_and_hooks(text: str) -> str:
    """mkdocs.yml without the macros plugin and the hooks block (text edit: the file has python tags)."""
    out: list[str] = []
    skip_indent: int | None = None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if skip_indent is not None:
            if line.strip() == "" or indent > skip_indent or (indent == skip_indent and not line.lstrip().startswith("- ") and skip_indent > 0):
                continue
            skip_indent = None
        if re.match(r"^hooks:\s*$", line):
            skip_indent = 0
            continue
        if re.match(r"^\s*-\s*macros\b", line):
            skip_indent = indent
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def render_pages(root: Path, floor: Path) -> dict[str, int]:
    """Build once with the macros and capture each page's Markdown after them (page_markdown runs
    the macros first: our handler is appended last). Writes floor/<lang>/docs/ with the rendered
    pages and the generated downloads as plain files, and floor/<lang>/mkdocs.yml without macros
    and hook, with the nav the hook would set. Returns pages per language."""
    from mkdocs.commands.build import build

    from runbook_engine.model.project import Project
    from runbook_engine.publish.config import site_nav
    from runbook_engine.publish.site import LANGS, generated_files, language_config

    project = Project(root)
    counts = {}
    plain = _strip_macros_and_hooks((root / "mkdocs.yml").read_text(encoding="utf-8"))
    for lang in LANGS:
        docs = floor / lang / "docs"
        pages: dict[str, str] = {}

        def capture(markdown, page, config, files):  # noqa: ARG001 - MkDocs event signature
            pages[page.file.src_uri] = markdown
            return markdown

        cfg = language_config(project, lang, floor / "capture-site")
        cfg.plugins.events["page_markdown"].append(capture)
        build(cfg)
        shutil.rmtree(floor / "capture-site", ignore_errors=True)
        for uri, md in pages.items():
            p = docs / uri
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(md, encoding="utf-8")
        for uri, content in generated_files(project, lang).items():
            p = docs / uri
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, p)
            else:
                p.write_bytes(content)
        # without the hook the nav must be written out: the same one the hook sets from kb/
        nav = yaml.safe_dump({"nav": site_nav(project.knowledge, lang)}, allow_unicode=True, sort_keys=False)
        (floor / lang / "mkdocs.yml").write_text(plain + nav, encoding="utf-8")
        (floor / lang / "overrides").symlink_to(root / "overrides", target_is_directory=True)
        counts[lang] = len(pages)
    return counts


def floor_build(root: Path, floor: Path, out: Path) -> float:
    """Both languages from the rendered pages with the same per-language config, no macros."""
    from mkdocs.commands.build import build

    from runbook_engine.model.project import Project
    from runbook_engine.publish.site import LANG_DIRS, LANGS, language_config

    project = Project(root)  # nav sections and site names come from kb/, as in the real build
    t0 = time.perf_counter()
    for lang in LANGS:
        site_dir = out / LANG_DIRS[lang] if LANG_DIRS[lang] else out
        build(language_config(project, lang, site_dir, config_file=floor / lang / "mkdocs.yml"))
    return time.perf_counter() - t0


# --- synthetic knowledge bases -----------------------------------------------------------------

def make_synthetic(dest: Path, n: int) -> Path:
    """A project with surfnavi plus *n* clones g001..gNNN (kb guide folder and family index only:
    the hook makes their pages and nav from kb/, as for any guide)."""
    root = copy_project(dest)
    fam_file = next((root / "kb" / "family").glob("*.yaml"))
    fam = fam_file.read_text(encoding="utf-8")
    entries = []
    src_kb = root / "kb" / "guides" / "surfnavi"
    for i in range(1, n + 1):
        gid = f"g{i:03d}"
        shutil.copytree(src_kb, root / "kb" / "guides" / gid)
        meta = root / "kb" / "guides" / gid / "guide.yaml"
        meta.write_text(re.sub(r"(?m)^id: surfnavi$", f"id: {gid}", meta.read_text(encoding="utf-8")), encoding="utf-8")
        entries.append(f"  - id: {gid}\n    title: {{ja: 合成ガイド {gid}, en: Synthetic guide {gid}}}\n    in_kb: true\n")
    fam = re.sub(r"(?m)^guides:\n", "guides:\n" + "".join(entries), fam, count=1)
    fam_file.write_text(fam, encoding="utf-8")
    return root


# --- the table ----------------------------------------------------------------------------------

def run(quick: bool) -> Table:
    _quiet()
    from runbook_engine.model.project import Project

    reps = 3 if quick else 7
    t = Table("1. Build", "a bare `mkdocs build` (both languages) of the same Markdown pages, "
              "rendered once through the macros, same theme/extensions/per-language config, "
              "same downloads as static files; no macros plugin, no hook")
    with temp_dir("rb-bench-build-") as tmp:
        root = copy_project(tmp / "project")
        log("build: rendering the pages once through the macros")
        counts = render_pages(root, tmp / "floor")
        details: list[dict] = []

        def full():
            r = full_build(root, tmp / "out-full")
            details.append(r)
            return r["seconds"]

        def floor():
            return floor_build(root, tmp / "floor", tmp / "out-floor")

        def check():
            return check_only(root)


        log(f"build: full vs floor, {reps} interleaved runs")
        res = interleaved({"full": full, "floor": floor, "check": check}, reps)
        loads = count_kb_loads(root, tmp / "out-count")
        base = median(res["floor"])
        full_med = median(res["full"])
        ratio = full_med / base
        dets = details[1:]
        t.rows.append(Row("floor: bare mkdocs build, ja + en", base, 1.0,
                          note=f"{counts['ja']} + {counts['en']} pages"))
        t.rows.append(Row("full build: write_notebooks + build_site (ja + en)", full_med, ratio,
                          f"≤ {GOAL_RATIO}×", verdict(ratio <= GOAL_RATIO),
                          note=f"of which notebooks {median([d['notebooks'] for d in dets]):.3f} s, "
                               f"ja {median([d['per_lang']['ja'] for d in dets]):.3f} s, "
                               f"en {median([d['per_lang']['en'] for d in dets]):.3f} s"))
        t.rows[1].note += f"; loader.load called {loads}× per build (parsed once, then cached)"
        chk = median(res["check"])
        t.rows.append(Row("(info) check_project, which `runbook build` runs first", chk, chk / base,
                          note="kb validation + script lint; not part of the ratio above"))
        kb_load = []
        for _ in range(reps):
            t0 = time.perf_counter()
            Project(root).knowledge
            kb_load.append(time.perf_counter() - t0)
        t.rows.append(Row("(info) loading kb/ once (Project.knowledge)", median(kb_load), median(kb_load) / base))

        sizes = (10, 50) if quick else (10, 50, 200)
        syn_reps = 1 if quick else 2
        per_page = {}
        for n in sizes:
            log(f"build: synthetic knowledge base, surfnavi + {n} generated guides")
            sroot = make_synthetic(tmp / f"syn{n}", n)
            runs = []
            for _ in range(syn_reps if n < 200 else 1):  # 200 guides: ≈ 3600 pages, one run
                runs.append(full_build(sroot, tmp / f"syn{n}-out"))
                shutil.rmtree(tmp / f"syn{n}-out", ignore_errors=True)
            pages = runs[0]["pages"]["ja"]
            site = median([r["site"] for r in runs])
            nbs = median([r["notebooks"] for r in runs])
            pp = site / (pages * 2)
            per_page[n] = pp
            t.rows.append(Row(f"synthetic: surfnavi + {n} guides, site build per page per language", pp, None,
                              value=f"{pp * 1000:.1f} ms",
                              note=f"{pages} pages/lang, site {site:.1f} s, notebooks {nbs:.1f} s "
                                   f"({nbs / ((n + 1) * 2) * 1000:.0f} ms/notebook)"))
            shutil.rmtree(tmp / f"syn{n}", ignore_errors=True)
        first, last = per_page[sizes[0]], per_page[sizes[-1]]
        growth = last / first
        t.rows.append(Row(f"per-page cost at {sizes[-1]} guides vs {sizes[0]} guides", None, growth,
                          "flat (≤ 1.5×)", verdict(growth <= 1.5), value="—"))
        t.notes.append("Build timings are in-process (imports paid once), after one untimed warm-up, "
                       f"medians of {reps} interleaved runs (full, floor, check). Synthetic builds: "
                       f"median of {syn_reps} run(s) (200 guides: 1 run), no warm-up beyond the main table's.")
    return t
