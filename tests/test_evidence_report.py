"""`runbook report RUN_ID`: the evidence report (作業記録) of a run that really happened on the Wine
sandbox. A notebook run applies the procedure on sv1 up to its first unanswered manual step
(`runbook run --apply --answers`: five manual steps confirmed with notes, the preflight check and
the services step run by the engine), the run is rolled back (`runbook rollback`), and the report
of it, made by the command in both languages, must say who ran it, when, on which cluster and
node, each step's result, every change with its before and after, every confirmation with its
note and the rollback, agreeing record for record with the journal and the confirmation files.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.wine, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[1]
OPERATOR = "yamada-taro"
ANSWERS = {
    "failover-group": "フェイルオーバーグループ failover1 を作成した (FIP 192.0.2.10)",
    "iis-home-directory": "既定の Web サイトのホームを切替パーティションに変更",
    "install-surfnavi": "セットアップカードに従ってインストール、ExpressMail は外した",
    "local-install-dir": "C:\\SURFNAVI にインストール",
    "install-expressmail": "データ保存用ディレクトリを切替パーティションに指定",
}


def runbook(*argv: str, state: Path, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(REPO / "src"), "RUNBOOK_STATE": str(state),
               "NO_MKDOCS_2_WARNING": "1", "RUNBOOK_OPERATOR": OPERATOR, **(env or {})}
    environ.pop("RUNBOOK_ROOT", None)
    return subprocess.run([sys.executable, "-m", "runbook_engine", "--root", str(REPO), *argv],
                          capture_output=True, text=True, env=environ, timeout=timeout)


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """A notebook run applied on the sandbox's sv1 and rolled back, and its report in both languages."""
    from plugins.cluster import destroy, make_sandbox
    from plugins.components import require_executable

    for tool in ("pdfinfo", "pdffonts", "pdftotext"):
        require_executable(tool, "poppler-utils")
    state = tmp_path_factory.mktemp("evidence-state")
    sb = make_sandbox(state, nodes=2, dns=False)
    try:
        answers = state / "answers.yaml"
        answers.write_text(json.dumps(ANSWERS, ensure_ascii=False), encoding="utf-8")
        before = set((state / "runs").iterdir()) if (state / "runs").exists() else set()
        proc = runbook("run", "surfnavi", "--node", "sv1", "--apply", "--answers", str(answers), "--lang", "ja",
                       "--operator", OPERATOR, "-i", str(sb.inventory), state=state)
        assert proc.returncode == 3, proc.stdout + proc.stderr  # waits at the next manual step
        (run_dir,) = [p for p in (state / "runs").iterdir() if p not in before]
        run_id = run_dir.name
        proc = runbook("rollback", run_id, "-i", str(sb.inventory), state=state)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = tmp_path_factory.mktemp("report")
        made = {}
        for lang in ("ja", "en"):
            proc = runbook("report", run_id, "--lang", lang, "--out", str(out), "--json", state=state)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            made[lang] = json.loads(proc.stdout)
        default = runbook("report", run_id, "--lang", "ja", state=state)
        assert default.returncode == 0, default.stderr
        yield {"state": state, "run_id": run_id, "out": out, "made": made, "sb": sb}
    finally:
        destroy(sb)
        shutil.rmtree(state / "sandbox" / "nodes", ignore_errors=True)


def _text(path: Path) -> str:
    page = re.sub(r"<style\b.*?</style>", "", path.read_text(encoding="utf-8"), flags=re.S)
    page = re.sub(r"<br\s*/?>|</t[dh]>", " ", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _journal(state: Path, run_id: str) -> list[dict]:
    from runbook_engine.engine.journal import Journal

    return Journal.read(state, run_id)


def test_the_report_says_who_when_where_and_with_which_guide(reported):
    from runbook_engine.model.project import Project

    kb = Project.find(REPO).knowledge
    ja = _text(Path(reported["made"]["ja"]["html"]))
    en = _text(Path(reported["made"]["en"]["html"]))
    run_id = reported["run_id"]
    for text in (ja, en):
        assert run_id in text and OPERATOR in text and "sandbox" in text and "sv1" in text
    assert f"作業者 {OPERATOR}" in ja and f"Operator {OPERATOR}" in en
    assert f"クラスタ sandbox" in ja and "ガイド " + kb.guides["surfnavi"].meta.title("ja") in ja
    head = next(r for r in _journal(reported["state"], run_id) if r["event"] == "run")
    assert head["operator"] == OPERATOR  # the journal itself names the operator
    started = re.search(r"開始 (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", ja).group(1)
    import datetime
    first = min(r["t"] for r in _journal(reported["state"], run_id))
    confirmed = min(datetime.datetime.strptime(c, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
                    for c in re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ja))
    expected = datetime.datetime.fromtimestamp(int(min(first, confirmed)), datetime.timezone.utc)
    assert started == expected.strftime("%Y-%m-%d %H:%M:%S")
    assert "成功" in ja or "失敗" in ja  # the run has an end record


def test_the_report_lists_each_step_and_every_change_with_before_and_after(reported):
    """One row per result record of the journal, and one row per intent with its done record."""
    page = Path(reported["made"]["ja"]["html"]).read_text(encoding="utf-8")
    records = _journal(reported["state"], reported["run_id"])
    results = [r for r in records if r["event"] == "result"]
    intents = [r for r in records if r["event"] == "intent"]
    assert {r["step"] for r in results} >= {"preflight", "services-manual"}
    assert intents, "the services step changed something on sv1"
    steps_table = re.search(r'<table class="rb-record rb-steps">.*?</table>', page, flags=re.S).group(0)
    changes_table = re.search(r'<table class="rb-record rb-changes">.*?</table>', page, flags=re.S).group(0)
    assert steps_table.count("<tr>") - 1 == len(results)
    assert changes_table.count("<tr>") - 1 == len(intents)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", changes_table)).split())
    for i in intents:
        assert i["target"] in text
    assert "→" in text and "完了 (読み直して一致を確認)" in text
    steps_text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", steps_table)).split())
    assert "0-2. 動作環境の確認" in steps_text and "E. サービスのスタートアップの種類を手動に" in steps_text
    assert "変更済み" in steps_text  # the services step's status, in Japanese


def test_the_report_holds_every_confirmation_with_its_note_and_the_rollback(reported):
    page = _text(Path(reported["made"]["ja"]["html"]))
    en = _text(Path(reported["made"]["en"]["html"]))
    lines = [json.loads(line) for p in sorted((reported["state"] / "confirmations").glob("*.jsonl"))
             for line in p.read_text(encoding="utf-8").splitlines()]
    mine = [c for c in lines if c["run_id"] == reported["run_id"]]
    assert {c["step"] for c in mine} == set(ANSWERS)
    for step, note in ANSWERS.items():
        assert note in page and note in en
    assert "0-1. フェイルオーバーグループの作成" in page
    assert "にロールバックしました" in page and "Rolled back at" in en
    restored = [r for r in _journal(reported["state"], reported["run_id"] + ".rollback") if r["event"] == "restored"]
    assert restored and all(r["node"] in page for r in restored)


def test_the_report_names_its_sources_with_their_digests(reported):
    import hashlib

    page = _text(Path(reported["made"]["ja"]["html"]))
    journal = reported["state"] / "runs" / reported["run_id"] / "journal.jsonl"
    assert str(journal) in page and hashlib.sha256(journal.read_bytes()).hexdigest() in page


def test_the_report_pdf_has_pages_fonts_and_the_text(reported):
    for lang, heading in (("ja", "作業記録"), ("en", "Evidence report")):
        made = reported["made"][lang]
        pdf = Path(made["pdf"])
        assert made["pages"] >= 1 and pdf.is_file()
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
        assert fonts and all(re.search(r"\byes\s+yes\s+yes\b", f) for f in fonts) and not [f for f in fonts if "Type 3" in f]
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert heading in text and reported["run_id"] in text and OPERATOR in text
        assert re.search(rf"^1\s*/\s*{made['pages']}$", text, re.M)
    # without --out: beside the journal
    folder = reported["state"] / "runs" / reported["run_id"]
    assert (folder / "report.ja.html").is_file() and (folder / "report.ja.pdf").is_file()
