"""The batch simulator behaves like cmd.exe on the subset our START.BAT/STOP.BAT use."""
from __future__ import annotations

from pathlib import Path

import pytest

from runbook_engine.batch.simulator import (
    UNSET,
    Trace,
    UnsupportedSyntax,
    cases,
    labels,
    simulate,
    simulate_all,
    split_argv,
)

DATA = Path(__file__).parent / "data" / "batch"
CLP = {"CLP_EVENT": ["START", "FAILOVER", "RECOVER", UNSET],
       "CLP_DISK": ["SUCCESS", "FAILURE"],
       "CLP_SERVER": ["HOME", "OTHER"]}


def bat(*lines: str) -> str:
    """A CRLF script from lines."""
    return "\r\n".join(lines) + "\r\n"


def fixture(name: str, encoding: str = "ascii") -> str:
    return (DATA / name).read_bytes().decode(encoding)


# --- labels and GOTO ------------------------------------------------------------------------


def test_goto_matches_labels_case_insensitively() -> None:
    t = simulate(bat("goto Normal", "ARMBCAST skipped", ":NORMAL", "ARMBCAST reached"), {})
    assert t.calls == (("ARMBCAST", "reached"),)
    assert t.aborted is None


def test_goto_with_colon_and_label_with_trailing_text() -> None:
    t = simulate(bat("GOTO :work", "X skipped", ":WORK   some comment", "X reached"), {})
    assert t.calls == (("X", "reached"),)


def test_goto_takes_first_matching_label_after_the_current_line() -> None:
    text = bat(
        "goto a",          # 1: first :a/:A after line 1 is line 2
        ":A",              # 2
        "X first-A",       # 3
        "if \"%N%\"==\"2\" goto :eof",
        "set N=2",         # 5
        "goto A",          # 6: searches forward from line 7: the :a on line 9
        ":b",              # 7
        "X b",             # 8
        ":a",              # 9
        "X second-a",      # 10
    )
    t = simulate(text, {})
    assert t.calls == (("X", "first-A"), ("X", "second-a"))
    assert t.lines == (3, 10)


def test_goto_search_wraps_round_to_the_top_of_the_file() -> None:
    text = bat(":TOP", "if \"%DONE%\"==\"1\" goto :eof", "X once", "set DONE=1", "goto top")
    t = simulate(text, {})
    assert t.calls == (("X", "once"),)


def test_goto_missing_label_aborts_and_keeps_the_calls_made_before() -> None:
    text = bat("ARMBCAST /MSG \"before\" /A", "GOTO NOWHERE", "ARMBCAST /MSG \"after\" /A",
               ":NOWHERE2")
    t = simulate(text, {})
    assert t.calls == (("ARMBCAST", "/MSG", "before", "/A"),)
    assert t.aborted == "GOTO target not found: NOWHERE"
    assert t.aborted_line == 2


def test_goto_eof_needs_the_colon() -> None:
    assert simulate(bat("goto :EOF", "X no"), {}).calls == ()
    t = simulate(bat("goto eof", "X no"), {})
    assert t.aborted == "GOTO target not found: eof"


def test_fallover_label_defect_makes_failover_stop_nothing() -> None:
    text = fixture("stop_fallover_defect.bat")
    start = simulate(text, {"CLP_EVENT": "START", "CLP_DISK": "SUCCESS"})
    assert [c[:2] for c in start.calls] == [("ARMKILL", "W_WEB"), ("ARMKILL", "W_SPOOL")]
    failover = simulate(text, {"CLP_EVENT": "FAILOVER", "CLP_DISK": "SUCCESS"})
    assert failover.calls == ()
    assert failover.aborted == "GOTO target not found: FAILOVER"
    assert failover.aborted_line == 5


def test_labels_lists_every_label_upper_cased() -> None:
    assert labels(bat(":a", ":: comment", "  :B x", ":a")) == {"A": [1, 4], "B": [3]}


# --- the disk-error fall-through ------------------------------------------------------------


def test_disk_error_branch_falls_through_into_the_not_running_message() -> None:
    t = simulate(fixture("start_disk_fallthrough.bat"),
                 {"CLP_EVENT": "START", "CLP_DISK": "FAILURE", "CLP_SERVER": "HOME"})
    assert t.calls == (("ARMBCAST", "/MSG", "Disk error", "/A"),
                       ("ARMBCAST", "/MSG", "The cluster is not running", "/A"))
    assert t.exit_code == 0


# --- variables ------------------------------------------------------------------------------


def test_undefined_variable_expands_to_nothing() -> None:
    t = simulate(bat("X [%NOPE%] \"%NOPE%\""), {})
    assert t.calls == (("X", "[]", ""),)


def test_variable_names_are_case_insensitive() -> None:
    t = simulate(bat("X %clp_event%", "set Mine=1", "X %MINE%"), {"CLP_EVENT": "START"})
    assert t.calls == (("X", "START"), ("X", "1"))


def test_double_percent_is_a_literal_percent_and_lone_percent_is_dropped() -> None:
    t = simulate(bat("X 100%% 50% off"), {})
    assert t.calls == (("X", "100%", "50", "off"),)


def test_set_and_set_empty_and_quoted_set() -> None:
    t = simulate(bat("set A=one two", "set \"B=x y\" ignored", "X \"%A%\" \"%B%\"", "set A=",
                     "X [%A%]"), {})
    assert t.calls == (("X", "one two", "x y"), ("X", "[]"))


def test_endlocal_restores_the_environment() -> None:
    t = simulate(bat("set A=1", "setlocal", "set A=2", "endlocal", "X %A%"), {})
    assert t.calls == (("X", "1"),)


def test_percent_zero_is_the_script_name() -> None:
    assert simulate(bat("X %0"), {}, script="START.BAT").calls == (("X", "START.BAT"),)


# --- IF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("event", "expected"), [("START", "yes"), ("start", "no"), ("", "no")])
def test_if_compares_case_sensitively_including_quotes(event: str, expected: str) -> None:
    text = bat("IF \"%CLP_EVENT%\" == \"START\" GOTO YES", "X no", "GOTO :EOF", ":YES", "X yes")
    assert simulate(text, {"CLP_EVENT": event}).calls == (("X", expected),)


def test_if_slash_i_compares_case_insensitively() -> None:
    text = bat("IF /I \"%CLP_EVENT%\"==\"start\" X yes")
    assert simulate(text, {"CLP_EVENT": "Start"}).calls == (("X", "yes"),)


def test_if_not_and_if_defined() -> None:
    text = bat("IF NOT \"%A%\"==\"1\" X not-one", "IF DEFINED A X defined",
               "IF NOT DEFINED B X b-undefined")
    assert simulate(text, {"A": "1"}).calls == (("X", "defined"), ("X", "b-undefined"))
    assert simulate(text, {}).calls == (("X", "not-one"), ("X", "b-undefined"))


def test_if_runs_any_simple_command_after_the_condition() -> None:
    text = bat("IF \"%S%\"==\"HOME\" set R=h", "IF \"%S%\"==\"HOME\" IF \"%D%\"==\"OK\" X both",
               "X r=%R%", "IF \"%S%\"==\"HOME\" EXIT /B 3", "X end")
    home = simulate(text, {"S": "HOME", "D": "OK"})
    assert home.calls == (("X", "both"), ("X", "r=h"))
    assert home.exit_code == 3
    other = simulate(text, {"S": "OTHER"})
    assert other.calls == (("X", "r="), ("X", "end"))
    assert other.exit_code is None


def test_unquoted_empty_variable_in_if_aborts_like_cmd() -> None:
    t = simulate(bat("X before", "IF %CLP_EVENT% == START X start", "X after"), {})
    assert t.calls == (("X", "before"),)
    assert t.aborted == "IF syntax error: == was unexpected at this time."
    assert simulate(bat("IF %CLP_EVENT% == START X start"), {"CLP_EVENT": "START"}).calls == (
        ("X", "start"),)


# --- commands, comments, exit ---------------------------------------------------------------


def test_comments_blank_lines_echo_and_at_do_nothing() -> None:
    text = bat("@echo off", "rem", "REM a comment & | > not parsed", ":: also a comment", "",
               "echo.", "echo hello", "@ARMBCAST /MSG \"m\" /A")
    t = simulate(text, {})
    assert t.calls == (("ARMBCAST", "/MSG", "m", "/A"),)
    assert t.lines == (8,)


def test_command_names_are_recorded_upper_cased() -> None:
    t = simulate(bat("armload w1 /s svc", "sc.exe stop Foo", "\"C:\\bin\\ArmKill.exe\" w1"), {})
    assert t.calls == (("ARMLOAD", "w1", "/s", "svc"), ("SC", "stop", "Foo"), ("ARMKILL", "w1"))


def test_exit_b_ends_the_script_with_its_code() -> None:
    t = simulate(bat("X a", "EXIT /B 2", "X b"), {})
    assert (t.calls, t.exit_code, t.end_line) == ((("X", "a"),), 2, 2)
    assert simulate(bat("exit"), {}).exit_code == 0


def test_accepts_lf_only_text() -> None:
    assert simulate("goto x\nX no\n:x\nX yes\n", {}).calls == (("X", "yes"),)


def test_recorded_set_restricts_external_commands() -> None:
    with pytest.raises(UnsupportedSyntax, match="NOTEPAD"):
        simulate(bat("ARMLOAD w /S s", "notepad"), {}, recorded={"ARMLOAD"})


def test_endless_loop_is_stopped_and_marked_aborted() -> None:
    t = simulate(bat(":L", "goto L"), {}, max_steps=50)
    assert t.aborted is not None and "step limit" in t.aborted


# --- argument splitting and escapes ---------------------------------------------------------


@pytest.mark.parametrize(("tail", "argv"), [
    ('/MSG "two words" /A', ("/MSG", "two words", "/A")),
    ('a"b c"d', ("ab cd",)),
    ('""', ("",)),
    (r'a\b c\\d', (r"a\b", r"c\\d")),
    (r'"a\"b"', ('a"b',)),
    (r'"a\\"b', (r"a\b",)),
    (r'a\\\"b', (r'a\"b',)),
    ('"say ""hi"""', ('say "hi"',)),
    ("  spaced \t out  ", ("spaced", "out")),
])
def test_split_argv_follows_the_c_runtime(tail: str, argv: tuple[str, ...]) -> None:
    assert split_argv(tail) == argv


def test_caret_escapes_outside_quotes_only() -> None:
    t = simulate(bat('X a^&b "c^d" ^"e f^"'), {})
    assert t.calls == (("X", "a&b", "c^d", "e f"),)


def test_backslash_quote_does_not_hide_an_ampersand_from_cmd() -> None:
    # cmd's quote state toggles on every ", so `"a\"` is closed and the & is a command
    # separator for cmd, although the C runtime would read \" as a literal quote.
    with pytest.raises(UnsupportedSyntax, match="'&'"):
        simulate(bat(r'X "a\" & b"'), {})


def test_escaped_ampersand_reaches_the_c_runtime_inside_its_quotes() -> None:
    t = simulate(bat(r'X "a\" ^& b"'), {})
    assert t.calls == (("X", 'a" & b'),)


# --- unsupported syntax ---------------------------------------------------------------------


@pytest.mark.parametrize("line", [
    "FOR %%i IN (a b) DO X %%i",
    "CALL :sub",
    "IF \"%A%\"==\"1\" (",
    "(X a)",
    "X a | more",
    "X a & X b",
    "X a && X b",
    "X a > out.txt",
    "X a 2>nul",
    "X continued ^",
    "X %~dp0",
    "X %PATH:~0,3%",
    "SET /A N=1+1",
    "SETLOCAL EnableDelayedExpansion",
    "IF EXIST C:\\x X a",
    "IF ERRORLEVEL x X a",
    "IF /I ERRORLEVEL 1 X a",
    "IF %A% EQU 1 X a",
    "cd /d C:\\",
    "other.bat",
])
def test_unsupported_syntax_is_refused_with_its_line(line: str) -> None:
    with pytest.raises(UnsupportedSyntax) as info:
        simulate(bat("X ok", line), {})
    assert info.value.line_no == 2
    assert "line 2" in str(info.value)


def test_unsupported_syntax_is_refused_even_when_unreachable() -> None:
    with pytest.raises(UnsupportedSyntax):
        simulate(bat("goto :eof", "FOR %%i IN (a) DO X"), {})


def test_if_errorlevel_reads_the_exit_code_of_the_last_external_command() -> None:
    text = bat("APP a", "IF ERRORLEVEL 1 GOTO FAIL", "IF NOT ERRORLEVEL 0 GOTO FAIL", "OK done",
               "GOTO :EOF", ":FAIL", "BAD")
    assert simulate(text, {}).calls == (("APP", "a"), ("OK", "done"))
    assert simulate(text, {}, exit_codes={"app": 1}).calls == (("APP", "a"), ("BAD",))
    assert simulate(text, {}, exit_codes={"APP": 7}).calls == (("APP", "a"), ("BAD",))
    # a negative code (an unhandled .NET exception exits with 0xE0434352) is below 1: the NOT 0 line
    assert simulate(text, {}, exit_codes={"APP": -532462766}).calls == (("APP", "a"), ("BAD",))
    # the next external command sets the level again
    again = bat("APP a", "OK b", "IF ERRORLEVEL 1 GOTO FAIL", "GOTO :EOF", ":FAIL", "BAD")
    assert simulate(again, {}, exit_codes={"APP": 1}).calls == (("APP", "a"), ("OK", "b"))


def test_operators_inside_quotes_are_not_refused() -> None:
    t = simulate(bat('ARMBCAST /MSG "a & b | c > d (e)" /A'), {})
    assert t.calls == (("ARMBCAST", "/MSG", "a & b | c > d (e)", "/A"),)


# --- cases and simulate_all -----------------------------------------------------------------


def test_cases_is_the_ordered_cartesian_product_with_unset() -> None:
    got = cases({"E": ["START", UNSET], "D": ["SUCCESS", "FAILURE"]})
    assert got == [{"E": "START", "D": "SUCCESS"}, {"E": "START", "D": "FAILURE"},
                   {"D": "SUCCESS"}, {"D": "FAILURE"}]


def test_simulate_all_is_deterministic_and_matches_simulate() -> None:
    text = fixture("start_en.bat")
    runs = simulate_all(text, CLP)
    assert [env for env, _ in runs] == cases(CLP)
    assert runs == simulate_all(text, CLP)
    for env, trace in runs:
        assert isinstance(trace, Trace)
        assert trace == simulate(text, env)


def test_english_start_script_paths() -> None:
    runs = {(e.get("CLP_EVENT"), e["CLP_DISK"], e["CLP_SERVER"]): t
            for e, t in simulate_all(fixture("start_en.bat"), CLP)}
    home = runs[("START", "SUCCESS", "HOME")]
    assert home.calls == (
        ("ARMLOAD", "W_SPOOL", "/S", "/M", "Spooler"),
        ("ARMLOAD", "W_WEB", "/S", "/M", "W3SVC"),
        ("ARMBCAST", "/MSG", "Services started on the primary server (100% ready)", "/A"))
    assert runs[("FAILOVER", "SUCCESS", "OTHER")].calls[-1][2] == (
        "Services started on a standby server")
    assert runs[("START", "FAILURE", "HOME")].exit_code == 1
    assert runs[(None, "SUCCESS", "HOME")].calls == (
        ("ARMBCAST", "/MSG", "The cluster is not running", "/A"),)


def test_cp932_script_is_simulated_with_its_japanese_messages() -> None:
    text = fixture("start_ja.bat", "cp932")
    t = simulate(text, {"CLP_EVENT": "FAILOVER", "CLP_DISK": "SUCCESS", "CLP_SERVER": "OTHER"})
    assert t.calls[-1] == ("ARMBCAST", "/MSG", "フェイルオーバによりサービスを開始しました", "/A")
    other = simulate(text, {"CLP_EVENT": "START", "CLP_DISK": "SUCCESS", "CLP_SERVER": "OTHER"})
    assert other.calls[-1][2] == "サービスを開始しました（待機系で起動）"
