"""The knowledge base: it loads, it keeps every fact of the seed, both languages are complete, and
bad input gets one clear line per error naming file and line, with exit code 2."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from runbook_engine import cli
from runbook_engine.model import loader
from runbook_engine.model.jsonschema import render as render_schemas
from runbook_engine.model.schema import japanese_in

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "seeds" / "000_9a2ce4643962c062.txt"


@pytest.fixture(scope="module")
def kb():
    return loader.load(REPO / "kb")


@pytest.fixture(scope="module")
def seed() -> str:
    if not SEED.exists():
        pytest.fail(f"seed not found at {SEED}")
    return SEED.read_text(encoding="utf-8")


# --- the seed's facts are all in the model -------------------------------------------------------

def _seed_port_rows(seed: str) -> set[tuple[str, str, int]]:
    return {(p.lower(), d.lower(), int(n)) for p, d, n in re.findall(r"^(TCP|UDP)\t(IN|OUT)\t(\d+)", seed, re.M)}


def test_every_port_of_the_seed_is_one_record_used_by_the_guide(kb, seed):
    rows = _seed_port_rows(seed)
    assert len(rows) == 12  # the seed prints 12 distinct rows (twice)
    ports = {(p.protocol, p.direction, p.port) for p in kb.ports_for(kb.guides["surfnavi"])}
    assert ports == rows


def test_udp_623_applies_from_x20_only_and_389_is_the_domain_join_port(kb):
    fam, guide = kb.family_of("surfnavi"), kb.guides["surfnavi"]
    by = {(p.protocol, p.port, p.direction): p for p in kb.ports_for(guide)}
    ipmi = by[("udp", 623, "in")]
    assert kb.port_versions(guide, ipmi) == ["x2.0", "x2.1"] and ipmi.condition is not None
    assert fam.port_versions(ipmi)[0] == "x2.0"
    join = by[("udp", 389, "out")]
    assert join.side == "remote" and "ドメイン参加" in join.purpose.ja


def test_the_nine_services_of_step_e_are_set_to_manual_there(kb, seed):
    block = seed.split("「スタートアップの種類」を「手動」に設定します。", 1)[1].split("※", 1)[0]
    names = [l.strip().split(" (")[0] for l in block.strip().splitlines() if l.strip()]
    assert len(names) == 9
    guide = kb.guides["surfnavi"]
    in_step_e = [s.display_name for s in guide.services if s.manual_in == "services-manual"]
    assert sorted(n.lower() for n in names) == sorted(n.lower() for n in in_step_e)


def test_every_armload_of_the_seed_sample_is_a_scripted_service(kb, seed):
    pairs = set()
    for watch, svc in re.findall(r"^ARMLoad (\w+) /S(?: /M)? \"?([^\"\n]+?)\"?\s*$", seed, re.M | re.I):
        pairs.add((watch.lower(), svc.strip().lower()))
    guide = kb.guides["surfnavi"]
    ours = {(s.watch_id.lower(), s.service.lower()) for s in guide.scripted_services()}
    assert pairs and pairs == ours


def test_icpfsrv_is_never_stopped_and_not_scripted(kb, seed):
    assert "ICPFSrv" in seed
    svc = next(s for s in kb.guides["surfnavi"].services if s.service == "ICPFSrv")
    assert svc.forbid_kill and not svc.scripted


def test_versions_editions_os_steps_and_cautions_match_the_seed(kb, seed):
    guide = kb.guides["surfnavi"]
    versions = {v.name for v in kb.family_of(guide).versions}
    for v in re.findall(r"^CLUSTERPRO X (\d\.\d) for Windows", seed, re.M):
        assert f"X {v}" in versions
    assert "CLUSTERPRO 8.0以降" in seed and "CLUSTERPRO 8.0" in guide.meta.scope.summary.ja
    assert guide.meta.environment.operating_systems == ["Windows 2000 Server", "Windows Server 2003"]
    assert guide.meta.environment.file_system == "NTFS" and guide.meta.environment.protocol == "TCP/IP"
    supported = [e.id for e in guide.meta.scope.editions if e.supported]
    assert supported == ["intra-dmz-server"] and len(guide.meta.scope.editions) == 5
    procedure = seed.split("## インストール手順", 1)[1].split("## スクリプト作成の注意事項", 1)[0]
    seed_labels = re.findall(r"^\s*- ([A-Hl])\) ", procedure, re.M)
    assert seed_labels == list("ABCDEFGHl")
    labels = [s.label for s in guide.steps() if len(s.label) == 1]
    assert labels == list("ABCDEFGHI")  # the seed's "l)" is the ninth letter, I
    seed_cautions = re.findall(r"^\s*(?:- )?\((\d)\) ", seed.split("## 注意事項")[-1], re.M)
    assert [c.number for c in guide.cautions.items] == [int(c) for c in seed_cautions] == list(range(1, 9))
    assert [n.name for n in guide.meta.topology.nodes] == ["SV1", "SV2", "SV3", "SV4"]
    assert next(r for r in guide.resources if r.kind == "registry").key == r"HKLM\SOFTWARE\NEC\ExpressMail"
    assert [r.rtype for r in guide.dns.records] == ["A", "MX", "PTR"]


def test_the_origin_map_numbers_the_items_exactly_as_the_seed_prints_them(kb, seed):
    """origin.yaml's install section carries the seed's (1)/(2)/(3) and A)–l) as printed, and
    every step the original asks for is mapped; only steps the seed has no item for are left."""
    origin = kb.guides["surfnavi"].origin
    assert origin is not None
    procedure = seed.split("## インストール手順", 1)[1].split("## スクリプト作成の注意事項", 1)[0]
    install = next(s for s in origin.sections if s.id == "install")
    numbered = [i for i in install.items if i.label.startswith("(")]
    assert [i.label for i in numbered] == [f"({n})" for n in re.findall(r"^\s*- \((\d)\) ", procedure, re.M)] == ["(1)", "(2)", "(3)"]
    letters = re.findall(r"^\s*- ([A-Za-z])\) ", procedure, re.M)
    assert [i.label for i in numbered[0].items] == [f"{x})" for x in letters] == [f"{x})" for x in "ABCDEFGHl"]
    assert [i.label for i in install.items].count("◆") == procedure.count("- ◆ ") == 4
    # the script and registry resources became the cluster steps that keep their ids
    by_title = {i.title.ja: i for i in install.items if i.label == "◆"}
    assert any("script-files" in i.steps for i in by_title.values())
    assert any("registry-key" in i.steps for i in by_title.values())


def test_the_guidance_keeps_the_seeds_commented_commands_exactly_and_out_of_our_scripts(kb, seed):
    """The ARMRSP example and the ARMFOVER lines of the seed's samples are kept as guidance: each
    sample line is a `rem` line of the seed word for word, and none is in the generated scripts."""
    from runbook_engine.artifacts.scripts import render_scripts

    guide = kb.guides["surfnavi"]
    lines = [line for g in guide.scripts.guidance for s in g.samples for line in s.code]
    assert {"ARMLOAD watchID /R 9 /H 1 ARMRSP /A /PL 10.10.9.8 /PL 10.10.9.9", "START ARMFOVER %CLP_GROUPNAME%"} <= set(lines)
    for line in lines:
        assert re.search(r"^rem (?:rem )?(?:\(例\))?" + re.escape(line) + r"$", seed, re.M | re.I), line
    for lang in ("ja", "en"):
        for name, script in render_scripts(kb, guide, lang, REPO / "snippets").items():
            assert "ARMRSP" not in script.text and "ARMFOVER" not in script.text, (lang, name)


def _test_functions(path: Path) -> dict[str, list[str]]:
    """Top-level test functions of a test module -> the names of their pytest marks."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            marks = []
            for d in node.decorator_list:
                target = d.func if isinstance(d, ast.Call) else d
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Attribute) and target.value.attr == "mark":
                    marks.append(target.attr)
            out[node.name] = marks
    return out


def test_every_errata_proof_names_a_test_that_exists_and_runs_where_it_says(kb):
    """Each proof of errata.yaml names an existing test (tests/<file>.py::<test>); a proof in
    Wine's cmd.exe is a test marked `wine` (it runs the real cmd.exe), the others are not."""
    proofs = [(gid, e.id, p) for gid, g in kb.guides.items() if g.errata for e in g.errata.items for p in e.proofs]
    assert proofs
    for gid, erratum, proof in proofs:
        file, _, name = proof.test.partition("::")
        path = REPO / file
        assert path.is_file(), (gid, erratum, proof.test)
        functions = _test_functions(path)
        assert name in functions, (gid, erratum, proof.test)
        assert ("wine" in functions[name]) == (proof.proved_in == "wine-cmd"), (gid, erratum, proof.test, functions[name])


SPECULATIVE = {"en": (" can ", " may ", " might ", " could "), "ja": ("可能性", "おそれ", "ことがあります", "かもしれません")}
WHERE_PROVED = {"en": "Wine's cmd.exe", "ja": "Wine の cmd.exe"}


def test_errata_effects_say_where_they_were_proved_or_are_worded_as_possibilities(kb):
    """An erratum's effect that a test ran in Wine's cmd.exe says so in both languages; one that
    no test ran in a real component is worded as a possibility in both languages."""
    items = [e for g in kb.guides.values() if g.errata for e in g.errata.items]
    assert items
    for e in items:
        for lang in ("ja", "en"):
            text = " " + " ".join(e.effect(lang).split()) + " "
            if "wine-cmd" in e.proved_in("effect"):
                assert WHERE_PROVED[lang] in text, (e.id, lang)
            else:
                assert any(w in text for w in SPECULATIVE[lang]), (e.id, lang, text)
    assert any("wine-cmd" not in e.proved_in("effect") for e in items)  # the stop order is not proved


def test_errata_defects_are_what_the_seed_prints(seed):
    """The three defects of errata.yaml, read in the seed's samples."""
    start, stop = seed.split("### スタートスクリプト(START.BAT)", 1)[1].split("## ストップスクリプト(STOP.BAT)", 1)
    live = lambda text: [l.strip() for l in text.splitlines() if l.strip() and not l.strip().lower().startswith("rem")]  # noqa: E731
    stop_lines = live(stop)
    assert 'IF "%CLP_EVENT%" == "FAILOVER" GOTO FAILOVER' in stop_lines
    assert ":FALLOVER" in stop_lines and ":FAILOVER" not in stop_lines
    error_disk = live(start.split(":ERROR_DISK", 1)[1].split(":no_arm", 1)[0])
    assert error_disk and not any(l.upper().startswith("GOTO") for l in error_disk)  # falls through
    loads = [l.split()[1].upper() for l in live(start) if l.upper().startswith("ARMLOAD ")]
    kills = [l.split()[1].upper() for l in stop_lines if l.upper().startswith("ARMKILL ")]
    em = [w for w in loads if w.startswith(("EM", "SNV"))][:14]
    assert [w for w in kills if w.startswith(("EM", "SNV"))][:14] == em  # stopped in the start order


#: The seed's broadcast texts (as its samples print them) and the ids of the guide's messages that
#: say the same (scripts.yaml words them anew).
SEED_MESSAGES = {
    "最高プライオリティサーバで起動中です": "start-home",
    "プライオリティサーバ以外で起動中です": "start-other",
    "最高プライオリティサーバで起動中です(フェイルオーバー後)": "failover-home",
    "プライオリティサーバ以外で起動中です(フェイルオーバー後)": "failover-other",
    "Server の復旧が終了しました": "recovered",
    "最高プライオリティサーバで終了中です": "stop-home",
    "プライオリティサーバ以外で終了です": "stop-other",
    "最高プライオリティサーバで終了中です(フェイルオーバー後)": "stop-failover-home",
    "プライオリティサーバ以外で終了中です(フェイルオーバー後)": "stop-failover-other",
    "切替パーティションの接続に失敗しました": "disk-error",
    "CLUSTERPRO Server が動作状態にありません": "not-running",
}


def _seed_samples(seed: str) -> dict[str, str]:
    """The seed's START.BAT and STOP.BAT samples: the text of their code blocks, joined."""
    start, stop = seed.split("### スタートスクリプト(START.BAT)", 1)[1].split("## ストップスクリプト(STOP.BAT)", 1)
    stop = stop.split("## 注意事項", 1)[0]
    code = lambda text: "\n".join(part.strip("\n") for i, part in enumerate(text.split("```")) if i % 2)  # noqa: E731
    return {"START.BAT": code(start), "STOP.BAT": code(stop)}


def _comparable(calls, message_ids) -> list[tuple[str, ...]]:
    """Calls with service names in upper case and each broadcast as the id of its message."""
    ids = iter(message_ids)
    out = []
    for c in calls:
        if c[0] == "ARMBCAST":
            out.append(("ARMBCAST", next(ids)))
        elif c[0] == "ARMLOAD":
            out.append((c[0], c[1].upper(), *c[2:-1], c[-1].upper()))
        else:
            out.append((c[0], *(a.upper() for a in c[1:])))
    return out


def test_the_declared_outcomes_are_what_the_seed_samples_do_except_where_the_errata_fix_them(kb, seed):
    """batch/intent.py against the original: the seed's own START.BAT and STOP.BAT samples, run in
    the simulator in every case, start the same services with the same flags in the same order,
    and broadcast the message of the same meaning, wherever errata.yaml does not say ours differ:
    a disk failure broadcasts one message (start-disk-error-fallthrough), STOP.BAT acts on a
    failover (stop-goto-label) and stops in the exact reverse of the start (stop-order)."""
    from runbook_engine.batch.intent import declared_cases
    from runbook_engine.batch.simulator import simulate

    guide = kb.guides["surfnavi"]
    family = kb.family_of(guide)
    assert {e.id for e in guide.errata.items} == {"stop-goto-label", "start-disk-error-fallthrough", "stop-order"}
    samples = _seed_samples(seed)
    compared = 0
    for name, kind in (("START.BAT", "start"), ("STOP.BAT", "stop")):
        for env, o in declared_cases(family, guide, kind, "ja"):
            trace = simulate(samples[name], env)
            seed_ids = [SEED_MESSAGES[c[2].strip()] for c in trace.calls if c[0] == "ARMBCAST"]
            theirs = _comparable(trace.calls, seed_ids)
            ours = _comparable(o.calls, o.messages)
            event, disk = env.get("CLP_EVENT"), env.get("CLP_DISK")
            acting = event in ("START", "FAILOVER")
            if name == "START.BAT" and acting and disk == "FAILURE":  # start-disk-error-fallthrough
                assert theirs == [("ARMBCAST", "disk-error"), ("ARMBCAST", "not-running")] and ours == theirs[:1], env
            elif name == "STOP.BAT" and event == "FAILOVER":  # stop-goto-label: the seed stops nothing
                assert trace.aborted and theirs == [], env
                want = next(x for e, x in declared_cases(family, guide, kind, "ja")
                            if e == {**env, "CLP_EVENT": "START"})
                assert [c[0] for c in ours] == [c[0] for c in _comparable(want.calls, want.messages)], env
                assert o.messages == (("disk-error",) if disk == "FAILURE" else
                                      (f"stop-failover-{env['CLP_SERVER'].lower()}",)), env
            elif name == "STOP.BAT" and acting and disk != "FAILURE":  # stop-order
                assert trace.aborted is None and ours[0] == next(c for c in theirs if c[0] == "ARMBCAST"), env
                started = next(x for e, x in declared_cases(family, guide, "start", "ja") if e == env)
                loads = [c[1] for c in _comparable(started.calls, started.messages) if c[0] == "ARMLOAD"]
                assert [c[1] for c in ours[1:]] == loads[::-1], env
                assert sorted(ours[1:]) == sorted(c for c in theirs if c[0] == "ARMKILL"), env
            else:
                assert trace.aborted is None and ours == theirs, (name, env)
            compared += 1
    assert compared == 32
    # ICPFSrv: commented out in both samples, never started or stopped by ours
    assert "rem ARMKILL SNVICPF" in samples["STOP.BAT"]
    assert all("SNVICPF" not in c for _, o in declared_cases(family, guide, "stop", "ja") for c in o.calls)


# --- translations ----------------------------------------------------------------------------------

def _texts(node, path=()):
    if isinstance(node, dict):
        if set(node) == {"ja", "en"}:
            yield path, node
            return
        for k, v in node.items():
            yield from _texts(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _texts(v, path + (i,))


def test_every_text_has_both_languages_and_english_has_no_japanese(kb):
    allowed = {n for f in kb.families.values() for n in f.proper_nouns}
    count = 0
    for f in sorted((REPO / "kb").rglob("*.yaml")):
        for path, t in _texts(yaml.safe_load(f.read_text(encoding="utf-8"))):
            count += 1
            assert str(t["ja"]).strip() and str(t["en"]).strip(), (f, path)
            leftover = [r for r in japanese_in(str(t["en"])) if r not in allowed]
            assert not leftover, (f.name, path, leftover)
    assert count > 150


def test_json_schemas_are_fresh_and_referenced_from_every_yaml_file():
    for name, text in render_schemas().items():
        assert (REPO / "schema" / name).read_text(encoding="utf-8") == text, f"schema/{name} is stale: run runbook schema"
    for f in (REPO / "kb").rglob("*.yaml"):
        first = f.read_text(encoding="utf-8").splitlines()[0]
        m = re.match(r"# yaml-language-server: \$schema=(\S+)", first)
        assert m, f
        assert (f.parent / m.group(1)).resolve().exists(), (f, m.group(1))


def test_schema_validates_the_yaml_files_as_editors_see_them():
    import jsonschema  # a test dependency: never skipped
    for f in (REPO / "kb").rglob("*.yaml"):
        ref = re.match(r"# yaml-language-server: \$schema=(\S+)", f.read_text(encoding="utf-8")).group(1)
        schema = json.loads((f.parent / ref).read_text(encoding="utf-8"))
        jsonschema.validate(yaml.safe_load(f.read_text(encoding="utf-8")), schema)


# --- bad input -------------------------------------------------------------------------------------

# (name, file, old, new, expected message fragment). The reported line must be the line of `new`.
BAD_INPUT = [
    ("malformed-yaml", "guides/surfnavi/services.yaml", "feature: dns, manual_in", "feature: [dns, manual_in", "YAML syntax"),
    ("wrong-type", "family/clusterpro-x-windows.yaml", "port: 29002", "port: twenty-nine", "valid integer"),
    ("missing-en", "guides/surfnavi/cautions.yaml", "title: {ja: 設定変更は全ノードで行う, en: Make every settings change on all nodes}", "title: {ja: 設定変更は全ノードで行う}", "missing translation 'en'"),
    ("duplicate-step-id", "guides/surfnavi/procedure.yaml", "- id: driver-signing-restore", "- id: driver-signing-ignore", "duplicate step id 'driver-signing-ignore'"),
    ("port-70000", "family/clusterpro-x-windows.yaml", "port: 29106", "port: 70000", "less than or equal to 65535"),
    ("unknown-port-reference", "guides/surfnavi/guide.yaml", "  - clp-heartbeat\n", "  - clp-heartbeet\n", "unknown port 'clp-heartbeet'"),
    ("duplicate-key", "guides/surfnavi/dns.yaml", "    rtype: A\n", "    rtype: A\n    rtype: AAAA\n", "duplicate key 'rtype'"),
    ("japanese-in-english", "guides/surfnavi/cautions.yaml", "en: Also read the cautions", "en: 注意 Also read the cautions", "Japanese text in the English field"),
    ("reserved-watch-id", "guides/surfnavi/services.yaml", "watch_id: EMPOP", "watch_id: NEC_POP", "must not start with NEC_"),
    ("batch-metachar-in-message", "guides/surfnavi/scripts.yaml", "en: Server recovery has finished}", "en: Server recovery & del /q C:\\*}", "unsafe in a quoted cmd argument"),
    ("batch-metachar-in-service", "guides/surfnavi/services.yaml", "service: FMSRVC,", "service: FMSRVC&calc,", "String should match pattern"),
    ("unknown-field", "guides/surfnavi/resources.yaml", "  - id: fip\n", "  - id: fip\n    colour: blue\n", "unknown field"),
    ("never-stop-service-scripted", "guides/surfnavi/services.yaml", "    scripted: false\n", "    scripted: true\n", "cannot be scripted"),
    ("unknown-feature", "guides/surfnavi/procedure.yaml", "when: expressmail", "when: exchange", "unknown feature 'exchange'"),
    ("metachar-in-path", "family/clusterpro-x-windows.yaml", r"install_dir: 'C:\Program Files\CLUSTERPRO'", r"install_dir: 'C:\CLUSTERPRO\x&calc'", "neither a Windows path"),
    ("dotdot-in-path", "family/clusterpro-x-windows.yaml", r"install_dir: 'C:\Program Files\CLUSTERPRO'", r"install_dir: 'C:\Program Files\..\Windows'", "'.' and '..' are refused"),
    ("unknown-delivery-version", "family/clusterpro-x-windows.yaml", "versions: [x4.3, x5.0]\n", "versions: [x4.3, x4.4]\n", "unknown version 'x4.4'"),
    ("origin-unknown-step", "guides/surfnavi/origin.yaml", "steps: [local-install-dir]", "steps: [local-install-directory]", "origin item 'C)': unknown step 'local-install-directory'"),
    ("origin-unknown-phase", "guides/surfnavi/origin.yaml", "phase: other-nodes", "phase: other-node", "origin item '(2)': unknown phase 'other-node'"),
    ("origin-missing-en", "guides/surfnavi/origin.yaml", "title: {ja: インストール先にローカルディスクを指定する, en: Install to a local disk}", "title: {ja: インストール先にローカルディスクを指定する}", "missing translation 'en'"),
    ("origin-japanese-label", "guides/surfnavi/origin.yaml", 'label: "(2)"', 'label: "(2) その他"', "shown on the pages of both languages"),
    ("origin-item-going-nowhere", "guides/surfnavi/origin.yaml", "      - label: \"◆\"\n        title: {ja: フェイルオーバーグループに FIP アドレスを登録する, en: Add the FIP address to the failover group}\n        steps: [failover-group]\n",
     "      - label: \"◆\"\n        title: {ja: フェイルオーバーグループに FIP アドレスを登録する, en: Add the FIP address to the failover group}\n        steps: []\n", "item '◆': name the steps it became"),
    ("unknown-network-kind", "guides/surfnavi/guide.yaml", "kind: interconnect", "kind: heartbeat", "Input should be 'public' or 'interconnect'"),
    ("errata-proof-not-a-test", "guides/surfnavi/errata.yaml", "test: tests/test_lint.py::test_missing_goto_target_is_reported_with_the_near_label", "test: test_lint.py missing goto", "String should match pattern"),
    ("errata-proof-unknown-place", "guides/surfnavi/errata.yaml", "proved_in: simulator", "proved_in: windows", "Input should be 'wine-cmd', 'simulator' or 'lint'"),
    ("inventory-example-missing-file", "inventories/examples.yaml", "file: windows-ssh.yaml", "file: windows-sh.yaml", "example 'windows-ssh': no file 'windows-sh.yaml'"),
    ("inventory-example-missing-ja", "inventories/examples.yaml", "      - ja: DNS サーバの TSIG 鍵を環境変数 RUNBOOK_TSIG_SECRET に設定します。\n        en:", "      - en:", "missing translation 'ja'"),
    ("blank-japanese", "family/clusterpro-x-windows.yaml", "purpose: {ja: ハートビート, en: Heartbeat}", "purpose: {ja: ' ', en: Heartbeat}", "blank"),
]


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(REPO / "kb", root / "kb")
    shutil.copytree(REPO / "snippets", root / "snippets")
    return root


@pytest.mark.parametrize("name,file,old,new,expected", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_gives_one_clear_line_with_file_and_line_and_exit_2(project_copy, capsys, name, file, old, new, expected):
    path = project_copy / "kb" / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"fixture text not found: {old!r}"
    pos = text.index(old)
    text = text[:pos] + new + text[pos + len(old):]
    path.write_text(text, encoding="utf-8")
    line = text[:pos].count("\n") + 1
    new_lines = range(line, line + max(1, new.strip("\n").count("\n") + 1))
    rc = cli.main(["--root", str(project_copy), "check"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    hits = [e for e in err if expected in e]
    assert hits, f"expected {expected!r} in {err}"
    m = re.match(r"^kb/(\S+?):(\d+): .+", hits[0])
    assert m, hits[0]
    assert m.group(1) == file
    assert int(m.group(2)) in new_lines, (hits[0], list(new_lines))


def test_bad_input_corpus_is_large_enough():
    assert len(BAD_INPUT) >= 12


def test_the_check_command_passes_on_the_repository(capsys):
    assert cli.main(["--root", str(REPO), "check"]) == 0


# --- a second guide is data only -------------------------------------------------------------------

FIXTURE_GUIDE = REPO / "tests" / "data" / "guides" / "webportal"


def test_fixture_guide_passes_check_as_data_only(project_copy, capsys):
    """A guide written only as YAML, with its own services, registry key, procedure and DNS
    records, in both languages, goes through `runbook check` once copied into kb/guides/."""
    shutil.copytree(FIXTURE_GUIDE, project_copy / "kb" / "guides" / FIXTURE_GUIDE.name)
    rc = cli.main(["--root", str(project_copy), "check", "--lang", "en"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    guides_in_repo = len([p for p in (REPO / "kb" / "guides").iterdir() if p.is_dir()])
    assert f"{guides_in_repo + 1} guide(s)" in out.out

    kb = loader.load(project_copy / "kb")
    ours, seed = kb.guides["webportal"], kb.guides["surfnavi"]
    assert {s.service for s in ours.services}.isdisjoint(s.service for s in seed.services)
    assert {s.watch_id for s in ours.services}.isdisjoint(s.watch_id for s in seed.services)
    key = next(r.key for r in ours.resources if r.kind == "registry")
    assert key != next(r.key for r in seed.resources if r.kind == "registry")
    assert [r.rtype for r in ours.dns.records] == ["A", "PTR"]
    assert [n.id for n in ours.meta.topology.nodes] == ["node1", "node2"]
    assert ours.errata is None and ours.meta.topology.figures == [] and ours.meta.scope.security_reason is None
    import jsonschema  # a test dependency: never skipped
    schemas = render_schemas()
    for f in sorted((project_copy / "kb" / "guides" / "webportal").glob("*.yaml")):
        ref = re.match(r"# yaml-language-server: \$schema=(\S+)", f.read_text(encoding="utf-8")).group(1)
        assert (f.parent / ref).resolve() == (project_copy / "schema" / Path(ref).name).resolve(), (f.name, ref)
        jsonschema.validate(yaml.safe_load(f.read_text(encoding="utf-8")), json.loads(schemas[Path(ref).name]))


def test_a_guide_id_that_is_a_site_folder_is_refused_at_its_line(project_copy, capsys):
    """A guide named like a folder of the site (search/, assets/, en/ …) would overwrite it."""
    folder = project_copy / "kb" / "guides" / "search"
    shutil.copytree(FIXTURE_GUIDE, folder)
    meta = folder / "guide.yaml"
    text = meta.read_text(encoding="utf-8")
    meta.write_text(re.sub(r"^id: webportal$", "id: search", text, flags=re.M), encoding="utf-8")
    line = next(i for i, l in enumerate(meta.read_text(encoding="utf-8").splitlines(), 1) if l == "id: search")
    assert cli.main(["--root", str(project_copy), "check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"kb/guides/search/guide.yaml:{line}: id: 'search' is a folder of the site "
                   "(assets, downloads, en, runbooks, search): choose another guide id"]


def test_a_script_message_the_templates_need_but_the_guide_lacks_is_one_clear_line(project_copy, capsys):
    """The templates broadcast messages by id; a guide without one gets an error, not a KeyError."""
    folder = project_copy / "kb" / "guides" / FIXTURE_GUIDE.name
    shutil.copytree(FIXTURE_GUIDE, folder)
    scripts = folder / "scripts.yaml"
    raw = loader.read_yaml(scripts, project_copy / "kb")
    first = raw["messages"][0]["id"]
    text = scripts.read_text(encoding="utf-8")
    scripts.write_text(text.replace(f"- id: {first}\n", "- id: renamed-message\n", 1), encoding="utf-8")
    assert cli.main(["--root", str(project_copy), "check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert re.match(rf"^kb/guides/{FIXTURE_GUIDE.name}/scripts.yaml:\d+: messages: no message '{first}': ", err[0]), err


# --- parse safely: hostile files are one located line, exit 2, in bounded time ----------------------

def _hostile_cases(root: Path) -> dict[str, tuple[Path, bytes | None, int, str]]:
    """name -> (file, content or None for a special set-up, expected line, message fragment)."""
    cautions = root / "kb" / "guides" / "surfnavi" / "cautions.yaml"
    text = cautions.read_bytes()
    bomb = b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n".encode()
        for i in range(12))
    lines = text.count(b"\n")
    return {
        "alias-bomb": (cautions, bomb, 7, "more than 50 YAML aliases"),
        "nested-300": (cautions, b"intro: " + b"[" * 300 + b"]" * 300 + b"\n", 1, "nested deeper than 40 levels"),
        "nul-byte": (cautions, text.replace(b"en: Also read the cautions", b"en: Also read\x00 the cautions", 1),
                     text[: text.index(b"en: Also read the cautions")].count(b"\n") + 1, "control character '\\x00'"),
        "not-utf8": (cautions, text + b"note: caf\xe9\n", lines + 1, "not UTF-8"),
        "too-large": (cautions, text + b"#" + b"x" * (1 << 20) + b"\n", 1, "larger than 1024 KiB"),
    }


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", ["alias-bomb", "nested-300", "nul-byte", "not-utf8", "too-large"])
def test_a_hostile_yaml_file_is_one_located_line_and_exit_2(project_copy, capsys, case):
    path, content, line, fragment = _hostile_cases(project_copy)[case]
    path.write_bytes(content)
    before = sorted(p for p in project_copy.rglob("*"))
    assert cli.main(["--root", str(project_copy), "check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"kb/guides/surfnavi/cautions.yaml:{line}: "), err
    assert fragment in err[0], err
    assert sorted(p for p in project_copy.rglob("*")) == before  # nothing written


def test_a_kb_file_that_is_a_symlink_out_of_the_project_is_not_read(project_copy, tmp_path, capsys):
    outside = tmp_path / "elsewhere.yaml"
    target = project_copy / "kb" / "guides" / "surfnavi" / "cautions.yaml"
    outside.write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(outside)
    assert cli.main(["--root", str(project_copy), "check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kb/guides/surfnavi/cautions.yaml:1: resolves outside the project"), err
