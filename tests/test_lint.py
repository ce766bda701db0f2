"""The script linter catches each defect it promises to, and is quiet on good scripts."""
from __future__ import annotations

from pathlib import Path

import pytest

from runbook_engine.batch.simulator import simulate
from runbook_engine.batch.lint import (
    LintError,
    ServiceUse,
    armload_parts,
    check_cmd_name,
    check_cmd_text,
    check_reverse_order,
    check_watch_id,
    lint_script,
)

DATA = Path(__file__).parent / "data" / "batch"
SPOOL = ServiceUse("W_SPOOL", "Spooler")
WEB = ServiceUse("W_WEB", "W3SVC")
BOTH = [SPOOL, WEB]
FORBIDDEN = {"MSSQLSERVER"}


def crlf(*lines: str, encoding: str = "ascii") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def start_script(*body: str) -> list[str]:
    """A minimal START.BAT whose START and FAILOVER paths run *body*."""
    return ["@echo off",
            'IF "%CLP_EVENT%" == "START" GOTO NORMAL',
            'IF "%CLP_EVENT%" == "FAILOVER" GOTO NORMAL',
            "GOTO NO_ARM",
            ":NORMAL",
            'IF "%CLP_DISK%" == "FAILURE" GOTO ERROR_DISK',
            *body,
            "GOTO EXIT",
            ":ERROR_DISK",
            'ARMBCAST /MSG "Disk error" /A',
            "GOTO EXIT",
            ":NO_ARM",
            'ARMBCAST /MSG "The cluster is not running" /A',
            ":EXIT",
            "EXIT /B 0"]


GOOD_START = start_script("ARMLOAD W_SPOOL /S /M Spooler", "ARMLOAD W_WEB /S /M W3SVC")


def lint(data: bytes, kind: str = "start", *, encoding: str = "ascii",
         services: list[ServiceUse] = BOTH, **kw: object) -> list[LintError]:
    return lint_script(data, name="START.BAT" if kind == "start" else "STOP.BAT",
                       kind=kind, encoding=encoding, services=services,  # type: ignore[arg-type]
                       forbidden_kill=FORBIDDEN, **kw)  # type: ignore[arg-type]


def errors(found: list[LintError]) -> list[str]:
    return [str(e) for e in found if e.severity == "error"]


# --- good scripts are clean -----------------------------------------------------------------


def test_good_crafted_start_script_is_clean() -> None:
    assert lint(crlf(*GOOD_START)) == []


@pytest.mark.parametrize(("name", "kind", "encoding"), [
    ("start_ja.bat", "start", "cp932"),
    ("stop_ja.bat", "stop", "cp932"),
    ("start_en.bat", "start", "ascii"),
])
def test_good_fixture_scripts_are_clean(name: str, kind: str, encoding: str) -> None:
    assert lint((DATA / name).read_bytes(), kind, encoding=encoding) == []


def test_lint_error_prints_as_file_line_message() -> None:
    assert str(LintError("STOP.BAT", 5, "boom")) == "STOP.BAT:5: boom"
    assert LintError("a", 1, "m").severity == "error"


# --- bytes: line ends, encoding -------------------------------------------------------------


def test_first_lf_only_line_is_reported() -> None:
    data = crlf(*GOOD_START[:3]) + b"GOTO NO_ARM\n:NORMAL\n" + crlf(*GOOD_START[5:])
    found = errors(lint(data))
    assert found == ["START.BAT:4: line ends with LF only; script resources need CRLF"]


def test_cp932_text_is_decoded_and_checked() -> None:
    lines = [*GOOD_START[:-1], "rem 終了します", GOOD_START[-1]]
    assert lint(crlf(*lines, encoding="cp932"), encoding="cp932") == []


def test_text_that_is_not_in_the_declared_encoding_is_reported() -> None:
    data = crlf(*GOOD_START[:9], 'ARMBCAST /MSG "ディスクエラー" /A', *GOOD_START[10:],
                encoding="cp932")
    found = lint(data, encoding="ascii")
    assert len(found) == 1
    assert found[0].line == 10 and "not valid ascii" in found[0].message


def test_utf8_text_declared_cp932_is_reported() -> None:
    data = crlf(*GOOD_START[:9], 'ARMBCAST /MSG "ディスクエラーです" /A', *GOOD_START[10:],
                encoding="utf-8")
    found = lint(data, encoding="cp932")
    assert [e.line for e in found] == [10]


def test_byte_order_mark_is_reported() -> None:
    found = errors(lint(b"\xef\xbb\xbf" + crlf(*GOOD_START), encoding="utf-8"))
    assert any("byte order mark" in e for e in found)


# --- GOTO targets ---------------------------------------------------------------------------


def test_missing_goto_target_is_reported_with_the_near_label() -> None:
    found = errors(lint((DATA / "stop_fallover_defect.bat").read_bytes(), "stop",
                        services=[SPOOL]))
    assert found[0] == ("STOP.BAT:5: GOTO target not found: FAILOVER; cmd aborts the script here"
                        " (labels: :FALLOVER)")
    # ...and the failover paths that abort there stop nothing.
    assert "not stopped by ARMKILL W_SPOOL" in found[1] and "CLP_EVENT=FAILOVER" in found[1]


def test_goto_targets_match_labels_case_insensitively() -> None:
    lines = [line.replace("GOTO NORMAL", "goto :normal") for line in GOOD_START]
    assert lint(crlf(*lines)) == []


def test_unreachable_goto_to_missing_label_is_still_reported() -> None:
    lines = [*GOOD_START[:-1], "GOTO NOWHERE"]
    lines.insert(len(lines) - 1, "EXIT /B 0")
    found = errors(lint(crlf(*lines)))
    assert any("GOTO target not found: NOWHERE" in e for e in found)


def test_unquoted_if_on_unset_variable_is_reported_as_an_abort() -> None:
    lines = [GOOD_START[0], "IF %CLP_EVENT% == START GOTO NORMAL", *GOOD_START[2:]]
    found = errors(lint(crlf(*lines)))
    assert any("script aborts: IF syntax error" in e for e in found)


# --- syntax the simulator does not know -----------------------------------------------------


def test_unsupported_syntax_is_one_error_at_its_line() -> None:
    lines = list(GOOD_START)
    lines[6] = "ARMLOAD W_SPOOL /S /M Spooler > nul"
    found = lint(crlf(*lines))
    assert len(found) == 1 and found[0].line == 7
    assert "redirection" in found[0].message


# --- forbidden stops ------------------------------------------------------------------------


def test_armkill_of_a_forbidden_service_is_reported() -> None:
    lines = start_script("ARMLOAD W_SPOOL /S /M Spooler", "ARMLOAD W_WEB /S /M W3SVC",
                         "ARMLOAD W_SQL /S MSSQLSERVER", "ARMKILL W_SQL")
    found = errors(lint(crlf(*lines)))
    assert found == ["START.BAT:10: ARMKILL W_SQL stops 'MSSQLSERVER', which must never be "
                     "stopped"]


def test_armload_of_a_forbidden_service_is_allowed() -> None:
    lines = start_script("ARMLOAD W_SPOOL /S /M Spooler", "ARMLOAD W_WEB /S /M W3SVC",
                         "ARMLOAD W_SQL /S MSSQLSERVER")
    assert lint(crlf(*lines)) == []


def test_armkill_of_a_forbidden_service_bound_outside_the_script_is_reported() -> None:
    stop = crlf("ARMKILL W_WEB", "ARMKILL W_SPOOL", "ARMKILL w_sql")
    found = errors(lint(stop, "stop", bindings={"W_SQL": "MSSQLServer"}))
    assert found == ["STOP.BAT:3: ARMKILL w_sql stops 'MSSQLServer', which must never be "
                     "stopped"]


@pytest.mark.parametrize("line", ["sc stop MSSQLSERVER", "SC \\\\node1 stop mssqlserver",
                                  'net stop "MSSQLSERVER" /y', "NET.EXE STOP MSSQLSERVER"])
def test_sc_or_net_stop_of_a_forbidden_service_is_reported(line: str) -> None:
    lines = start_script("ARMLOAD W_SPOOL /S /M Spooler", "ARMLOAD W_WEB /S /M W3SVC", line)
    found = errors(lint(crlf(*lines)))
    assert len(found) == 1 and found[0].startswith("START.BAT:9: ")
    assert "must never be stopped" in found[0]


def test_forbidden_stop_through_a_variable_is_found_by_simulation() -> None:
    lines = ["set S=MSSQLSERVER", *start_script("ARMLOAD W_SPOOL /S /M Spooler",
                                                "ARMLOAD W_WEB /S /M W3SVC", "net stop %S%")]
    found = errors(lint(crlf(*lines)))
    assert len(found) == 1 and "net stop 'MSSQLSERVER'" in found[0]


# --- required services on every path --------------------------------------------------------


def test_service_missing_on_one_server_is_reported_with_the_paths() -> None:
    lines = start_script("ARMLOAD W_SPOOL /S /M Spooler",
                         'IF "%CLP_SERVER%" == "OTHER" GOTO EXIT',
                         "ARMLOAD W_WEB /S /M W3SVC")
    found = errors(lint(crlf(*lines)))
    assert len(found) == 1
    assert "service 'W3SVC' is not started by ARMLOAD W_WEB /S" in found[0]
    assert "CLP_EVENT=START CLP_DISK=SUCCESS CLP_SERVER=OTHER" in found[0]
    assert "CLP_SERVER=HOME" not in found[0]


def test_service_loaded_without_slash_s_is_reported() -> None:
    lines = start_script("ARMLOAD W_SPOOL /S /M Spooler", "ARMLOAD W_WEB /M W3SVC")
    found = errors(lint(crlf(*lines)))
    assert len(found) == 1 and "without /S" in found[0]


def test_disk_failure_paths_need_not_start_services() -> None:
    # The good script starts nothing with CLP_DISK=FAILURE; asking for those paths fails.
    assert lint(crlf(*GOOD_START)) == []
    found = errors(lint(crlf(*GOOD_START), disks=("SUCCESS", "FAILURE")))
    assert found and all("CLP_DISK=FAILURE" in e for e in found)


def test_stop_script_must_kill_every_service_on_every_path() -> None:
    stop = crlf('IF "%CLP_EVENT%" == "FAILOVER" GOTO :EOF', "ARMKILL W_WEB", "ARMKILL W_SPOOL")
    found = errors(lint(stop, "stop"))
    assert len(found) == 2
    assert all("CLP_EVENT=FAILOVER" in e and "not stopped" in e for e in found)


def test_fall_through_fixture_still_starts_its_service() -> None:
    assert lint((DATA / "start_disk_fallthrough.bat").read_bytes(), services=[SPOOL]) == []


# --- watch ids ------------------------------------------------------------------------------


def test_same_watch_id_for_two_services_is_reported() -> None:
    lines = start_script("ARMLOAD W_SPOOL /S /M Spooler", "ARMLOAD W_WEB /S /M W3SVC",
                         "ARMLOAD W_WEB /S /M WAS")
    found = errors(lint(crlf(*lines)))
    assert any(e.startswith("START.BAT:9: watch id W_WEB already starts 'W3SVC'") for e in found)


def test_same_watch_id_loaded_twice_on_one_path_is_reported() -> None:
    lines = start_script("ARMLOAD W_SPOOL /S /M Spooler", "ARMLOAD W_WEB /S /M W3SVC",
                         "ARMLOAD W_WEB /S /M W3SVC")
    found = errors(lint(crlf(*lines)))
    assert any("loaded twice on one path" in e for e in found)


def test_same_watch_id_in_exclusive_branches_is_allowed() -> None:
    for name in ("start_ja.bat",):  # W_SPOOL/W_WEB appear in both NORMAL and FAILOVER
        assert lint((DATA / name).read_bytes(), encoding="cp932") == []


@pytest.mark.parametrize(("watch", "needle"), [("NEC_W1", "NEC_"), ("nec_w1", "NEC_"),
                                              ("W" * 256, "at most 255"),
                                              ("W!1", "outside")])
def test_bad_watch_ids_are_reported(watch: str, needle: str) -> None:
    lines = start_script("ARMLOAD W_SPOOL /S /M Spooler", "ARMLOAD W_WEB /S /M W3SVC",
                         f"ARMLOAD {watch} /S Other")
    found = errors(lint(crlf(*lines)))
    assert len(found) == 1 and found[0].startswith("START.BAT:9: ") and needle in found[0]


def test_fov_flag_is_a_warning() -> None:
    lines = start_script("ARMLOAD W_SPOOL /S /M /FOV Spooler", "ARMLOAD W_WEB /S /M W3SVC")
    found = lint(crlf(*lines))
    assert [(e.line, e.severity) for e in found] == [(7, "warning")]
    assert "/FOV" in found[0].message


def test_armload_parts_reads_options_with_values() -> None:
    assert armload_parts(("ARMLOAD", "W1", "/U", "user", "/S", "/fov", "Svc")) == (
        "W1", frozenset({"/U", "/S", "/FOV"}), "Svc")
    assert armload_parts(("ARMKILL", "W1")) is None


# --- reverse order --------------------------------------------------------------------------


def _start_trace() -> object:
    return simulate(crlf(*GOOD_START).decode(), {"CLP_EVENT": "START", "CLP_DISK": "SUCCESS"})


def test_stop_in_reverse_start_order_passes() -> None:
    stop = simulate("ARMKILL W_WEB\r\nARMKILL W_SPOOL\r\n", {})
    assert check_reverse_order(_start_trace(), stop) == []  # type: ignore[arg-type]


def test_stop_in_start_order_is_reported_at_the_first_wrong_kill() -> None:
    stop = simulate("ARMBCAST x\r\nARMKILL W_SPOOL\r\nARMKILL W_WEB\r\n", {})
    found = check_reverse_order(_start_trace(), stop)  # type: ignore[arg-type]
    assert len(found) == 1 and found[0].line == 2
    assert "expected W_WEB W_SPOOL" in found[0].message


def test_reverse_order_accepts_plain_call_lists() -> None:
    start = [("ARMLOAD", "A", "/S", "a"), ("ARMLOAD", "B", "/S", "b"), ("ARMLOAD", "C", "/S", "c")]
    assert check_reverse_order(start, [("ARMKILL", "C"), ("ARMKILL", "B"), ("ARMKILL", "A")]) == []
    bad = check_reverse_order(start, [("ARMKILL", "C"), ("ARMKILL", "A"), ("ARMKILL", "B")])
    assert len(bad) == 1 and bad[0].line == 0


# --- value checks ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["Service started", "サービスを開始しました（待機系）", "50 percent",
                                  "ソフト起動", "C:\\data\\x"])
def test_safe_message_text_passes(text: str) -> None:
    assert check_cmd_text(text) is None


@pytest.mark.parametrize("text", ['say "hi"', "100%", "a^b", "a & b", "a | b", "a < b", "a > b",
                                  "line\r\nbreak", "tab\there", "C:\\data\\", "ソ", "一覧表"])
def test_unsafe_message_text_is_refused(text: str) -> None:
    assert check_cmd_text(text) is not None


@pytest.mark.parametrize(("value", "ok"), [("W3SVC", True), ("my-svc.1_a", True), ("", False),
                                           ("a b", False), ("a\"b", False), ("x" * 255, True),
                                           ("x" * 256, False), ("サービス", False)])
def test_cmd_name_allows_only_safe_bare_tokens(value: str, ok: bool) -> None:
    assert (check_cmd_name(value) is None) is ok


def test_watch_id_may_not_start_with_nec() -> None:
    assert check_watch_id("W_WEB") is None
    assert "NEC_" in (check_watch_id("Nec_web") or "")
    assert check_watch_id("a b") is not None
