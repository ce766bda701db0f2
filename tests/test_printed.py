"""`runbook pdf`: the guide as one PDF, and the manual for the Wine sandbox's cluster in both
languages, made by the command itself (a process of its own) and read back with poppler-utils:
pages, fonts (embedded, CJK, no Type 3), the text layer (title, a step title, the cluster, the
figures' labels), page numbers on every page but the cover, and a table of contents whose page
numbers lead to the headings they name. The first pages are rendered to PNG in
test-artifacts/pdf/ (kept by CI; look at them) and checked not to be blank.

Under CI=true a missing Chromium or poppler fails (tests/plugins/components.py).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_deployment_manual import CANARIES, sandbox_inventory

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "pdf"
STEP = {"ja": "3-1. 構成情報フォルダへのスクリプトの配置", "en": "3-1. Put the scripts into the configuration folder"}
TITLE = {"ja": "SURFNAVI を CLUSTERPRO X で二重化する", "en": "Running SURFNAVI on a CLUSTERPRO X failover cluster"}


def _tools() -> None:
    from plugins.components import require, require_executable

    for tool in ("pdfinfo", "pdffonts", "pdftotext", "pdftoppm"):
        require_executable(tool, "poppler-utils")
    require(os.access("/usr/bin/chromium", os.X_OK), "/usr/bin/chromium not found (Debian package chromium)")


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def page_text(pdf: Path, n: int, layout: bool = False) -> str:
    return _run("pdftotext", *(["-layout"] if layout else []), "-f", str(n), "-l", str(n), str(pdf), "-")


def _squeezed(text: str) -> str:
    """*text* without white space (a line may break inside a Japanese word)."""
    return re.sub(r"\s+", "", text)


def pages_of(pdf: Path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", _run("pdfinfo", str(pdf)), re.M).group(1))


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory):
    """`runbook pdf surfnavi` in Japanese (the guide) and, for the sandbox's inventory, in both
    languages (its manual), each timed; the environment holds canary secrets."""
    from plugins.components import require
    from runbook_engine.model.project import Project
    from runbook_engine.publish.site import SiteBuildError, mermaid_js

    _tools()
    try:
        mermaid_js(Project.find(REPO))
    except SiteBuildError as exc:
        require(False, str(exc))
    tmp = tmp_path_factory.mktemp("pdf")
    inv = sandbox_inventory(tmp)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "NO_MKDOCS_2_WARNING": "1", **CANARIES}
    made, times = {}, {}
    for key, lang, extra in (("guide-ja", "ja", []), ("sandbox-ja", "ja", ["--inventory", str(inv)]),
                             ("sandbox-en", "en", ["--inventory", str(inv)])):
        out = tmp / f"{key}.pdf"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "runbook_engine", "--root", str(REPO), "pdf", "surfnavi",
                               "--lang", lang, *extra, "--out", str(out), "--json"],
                              capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        times[key] = {**json.loads(proc.stdout), "wall_seconds": round(time.perf_counter() - t0, 2)}
        made[key] = out
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "timings.json").write_text(json.dumps(times, indent=2) + "\n", encoding="utf-8")
    for key, pdf in made.items():  # the first pages as images, to look at
        subprocess.run(["pdftoppm", "-r", "50", "-f", "1", "-l", "3", "-png", str(pdf), str(ARTIFACTS / key)], check=True)
    return made, times


@pytest.mark.parametrize("key,lang", [("guide-ja", "ja"), ("sandbox-ja", "ja"), ("sandbox-en", "en")])
def test_the_pdf_has_pages_embedded_cjk_fonts_and_a_text_layer_with_the_title_and_the_steps(pdfs, key, lang):
    pdf = pdfs[0][key]
    pages = pages_of(pdf)
    assert pages > 10
    fonts = _run("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts and all(re.search(r"\byes\s+yes\s+yes\b", f) for f in fonts), fonts  # embedded, subset, ToUnicode
    assert not [f for f in fonts if "Type 3" in f], fonts
    assert any("BIZUDPGothic" in f and "CID TrueType" in f for f in fonts), fonts  # the Japanese font
    text = _run("pdftotext", str(pdf), "-")
    assert _squeezed(TITLE[lang]) in _squeezed(page_text(pdf, 1))
    assert STEP[lang] in text
    if lang == "ja":
        assert "切替パーティション" in text and "フェイルオーバーグループ" in text


@pytest.mark.parametrize("key", ["guide-ja", "sandbox-en"])
def test_every_page_but_the_cover_is_numbered(pdfs, key):
    pdf = pdfs[0][key]
    total = pages_of(pdf)
    assert f"/ {total}" not in page_text(pdf, 1)  # the cover
    for n in range(2, total + 1):
        lines = [line.strip() for line in page_text(pdf, n).splitlines() if line.strip()]
        assert f"{n} / {total}" in lines, (n, lines[-3:])


def test_the_contents_page_numbers_lead_to_the_headings_they_name(pdfs):
    pdf = pdfs[0]["guide-ja"]
    entries = []
    for n in (2, 3):
        for line in page_text(pdf, n, layout=True).splitlines():
            m = re.match(r"^\s*(\S.*?\S)[\s_.]{2,}(\d+)\s*$", line)
            if m:
                entries.append((m.group(1).strip("_ "), int(m.group(2))))
    assert len(entries) > 20, entries
    assert [p for _, p in entries] == sorted(p for _, p in entries)  # in page order
    for title, page in entries:
        assert _squeezed(title) in _squeezed(page_text(pdf, page)), (title, page)


def test_the_manuals_pdf_names_the_cluster_and_draws_its_nodes_in_the_figures(pdfs):
    for key, cluster, state in (("sandbox-ja", "対象のクラスタ", "構築中"), ("sandbox-en", "Cluster", "Being installed")):
        pdf = pdfs[0][key]
        cover = " ".join(page_text(pdf, 1).split())
        assert cluster in cover and "sandbox" in cover and "sv1" in cover and "sv4" in cover
        text = _run("pdftotext", str(pdf), "-")
        # the figure of the cluster now, rendered by Mermaid before printing: its labels are text
        figure = next(n for n in range(2, pages_of(pdf) + 1) if "192.0.2.14" in page_text(pdf, n)
                      and state in page_text(pdf, n))
        assert figure > 3
        assert "SV1" not in text and "<構成情報フォルダ>" not in text and "<configuration folder>" not in text
        assert r"C:\clusterpro-config" in text and "failover1" in text
        for canary in CANARIES.values():
            assert canary not in text


def test_the_first_pages_rendered_to_images_are_not_blank(pdfs):
    """pdftoppm renders the cover and the contents; each has ink (dark pixels) between the page
    margins, where the running header and the page number are not."""
    for key, pdf in pdfs[0].items():
        for n in (1, 2, 3):
            ppm = subprocess.run(["pdftoppm", "-r", "30", "-gray", "-f", str(n), "-l", str(n), str(pdf)],
                                 capture_output=True, check=True).stdout
            header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", ppm)
            width, height = int(header.group(1)), int(header.group(2))
            body = ppm[header.end():][width * (height * 8 // 100):width * (height * 92 // 100)]
            dark = sum(1 for b in body if b < 128) / len(body)
            assert dark > 0.0005, (key, n, dark)
        assert (ARTIFACTS / f"{key}-1.png").is_file() or (ARTIFACTS / f"{key}-01.png").is_file()


def test_a_pdf_is_made_in_reasonable_time(pdfs):
    """Building the pages and printing them twice: well under a minute each (measured values
    are in test-artifacts/pdf/timings.json)."""
    for key, t in pdfs[1].items():
        assert t["seconds"] < 60, (key, t)
        assert t["prints"] >= 2  # the contents' numbers come from a first print
