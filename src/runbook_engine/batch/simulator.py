"""A small interpreter for the subset of cmd.exe batch syntax that our START.BAT/STOP.BAT use.

It runs a script for a given environment (``CLP_EVENT``, ``CLP_DISK``, ``CLP_SERVER``...) and
records which external commands (``ARMLOAD``, ``ARMKILL``, ``ARMBCAST``, ``sc``, ``net``...) would
be run, with their argument vectors, in order. Nothing is executed.

Supported, with cmd.exe semantics:

* ``@`` prefixes, ``echo`` (ignored), ``rem`` (with or without text), ``::`` comments, blank
  lines, labels ``:NAME`` (the name is the first token after ``:``);
* ``GOTO NAME`` / ``GOTO :NAME``: the FIRST label with that name (case-insensitive) searching
  forward from the line after the GOTO, wrapping round to the top of the file; ``GOTO :EOF``
  ends the script (``GOTO EOF`` without the colon looks for a label ``:EOF``, as in cmd); a
  GOTO to a missing label aborts the script (:attr:`Trace.aborted`);
* ``EXIT`` / ``EXIT /B [n]``;
* ``IF [/I] [NOT] string1==string2 command`` (any simple command after the condition, including
  GOTO, SET, EXIT and another IF), ``IF [/I] [NOT] DEFINED var command`` and ``IF [NOT]
  ERRORLEVEL n command`` (true when the exit code of the last external command is n or more:
  0 for every command unless :func:`simulate` is given ``exit_codes``); the compared strings
  include their quotes, exactly as cmd compares them; an IF that cmd cannot parse (typically an
  unquoted empty variable: ``IF %NOPE% == X ...`` becomes ``IF  == X ...``) aborts the script
  like cmd's ``== was unexpected at this time.``;
* ``SET NAME=value`` and ``SET "NAME=value"`` (``SET NAME=`` removes the variable);
  ``SETLOCAL`` / ``ENDLOCAL`` save and restore the environment;
* phase-1 percent expansion of each line before it is parsed: ``%VAR%`` (names are
  case-insensitive; an undefined variable expands to nothing, as in a batch file), ``%%`` →
  ``%``, ``%0`` → the script name, ``%1``..``%9`` and ``%*`` → nothing, a lone ``%`` is dropped;
* phase-2 escapes: outside double quotes ``^x`` is a literal ``x`` and the caret is removed;
  inside quotes a caret is literal. cmd's quote state is naive: every ``"`` toggles it;
* any other command is an external command and is recorded as ``(NAME, arg1, ...)`` with the
  upper-cased name (quotes and a directory part removed, ``.EXE``/``.COM`` dropped) and its
  arguments split as the Microsoft C runtime splits ``argv`` (see :func:`split_argv`).

Not supported, raising :class:`UnsupportedSyntax` instead of guessing: ``FOR``, ``CALL``,
parenthesised blocks, ``&``/``&&``/``|``/``||`` and redirection (``<``, ``>``) outside quotes, a
caret at the end of a line (line continuation), ``%~`` modifiers, ``%VAR:...%`` substring and
substitution, ``SET /A`` and ``SET /P``, ``SETLOCAL ENABLEDELAYEDEXPANSION``, ``IF EXIST``,
``IF CMDEXTVERSION``, ``%ERRORLEVEL%`` (expanded as an undefined variable), the ``EQU``/``NEQ``/... comparison operators, other cmd built-ins (``CD``,
``COPY``, ``START``...) and running another ``.bat``/``.cmd``.

Deliberate differences from cmd.exe (see also :func:`simulate`):

* ``rem`` and label lines are recognised before percent expansion, so a malformed ``%`` in a
  comment is ignored (cmd would expand it first and may fail);
* an external command's exit code is what ``exit_codes`` says for its name (0 by default); only
  external commands set ``ERRORLEVEL`` (cmd's built-ins that would also set it - a failing SET,
  a GOTO to a missing label - are not used before an ``IF ERRORLEVEL`` in our scripts);
* a script that loops for ``max_steps`` lines is stopped and marked aborted (cmd would hang).
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_RECORDED",
    "UNSET",
    "Trace",
    "UnsupportedSyntax",
    "cases",
    "check_syntax",
    "labels",
    "parse_line",
    "simulate",
    "simulate_all",
    "split_argv",
    "split_lines",
    "Command",
    "External",
    "Goto",
    "Exit",
    "SetVar",
    "If",
    "Nop",
    "SetLocal",
    "EndLocal",
]

#: The ARM commands our scripts use. Any command that is not a cmd built-in is recorded whatever
#: this set says, unless :func:`simulate` is given an explicit ``recorded`` collection.
DEFAULT_RECORDED: frozenset[str] = frozenset(
    {"ARMLOAD", "ARMKILL", "ARMBCAST", "ARMFOVER", "ARMSTOP", "ARMNSADD", "ARMNSDEL", "ARMDRIVE"}
)

#: A value of :func:`cases` meaning "the variable is not set at all".
UNSET: None = None

_WS = " \t\x0b\x0c"
#: cmd's token delimiters (besides white space) at the start of a command.
_LEAD = _WS + ";,=@"
#: Characters that end a built-in command's name (``echo.``, ``goto:eof``, ``set/a``...).
_NAME_END = re.compile(r"[\s/(.:;,=+\[\]\"\\]")

#: cmd built-ins that we model.
_MODELLED = {"ECHO", "REM", "SET", "SETLOCAL", "ENDLOCAL", "GOTO", "EXIT", "IF", "CLS", "TITLE",
             "PAUSE", "VER"}
#: cmd built-ins that we refuse rather than guess.
_REFUSED = {"FOR", "CALL", "CD", "CHDIR", "PUSHD", "POPD", "SHIFT", "START", "COPY", "DEL",
            "ERASE", "MD", "MKDIR", "RD", "RMDIR", "MOVE", "REN", "RENAME", "TYPE", "DIR",
            "COLOR", "PROMPT", "PATH", "VERIFY", "VOL", "DATE", "TIME", "BREAK", "ASSOC",
            "FTYPE", "MKLINK", "DPATH", "KEYS", "ELSE"}


_WORD_OPS = {"EQU", "NEQ", "LSS", "LEQ", "GTR", "GEQ"}


class UnsupportedSyntax(Exception):
    """The script uses syntax outside the supported subset; nothing is guessed."""

    def __init__(self, line_no: int, text: str, reason: str = "unsupported syntax") -> None:
        self.line_no = line_no
        self.text = text
        self.reason = reason
        super().__init__(f"line {line_no}: {reason}: {text.strip()!r}")


@dataclass(frozen=True)
class Trace:
    """What one run of a script did.

    ``calls[i]`` is ``(NAME, arg1, ...)`` of the i-th external command and ``lines[i]`` its
    1-based source line. ``aborted`` says why the script stopped early (``None`` if it ended
    normally) and ``aborted_line`` where. ``exit_code`` is the code given to ``EXIT`` (``None``
    if the script ended without one); ``end_line`` is the line where execution ended (the
    EXIT/GOTO :EOF/aborting line, or the number of lines + 1 when it ran off the end).
    """

    calls: tuple[tuple[str, ...], ...]
    aborted: str | None
    lines: tuple[int, ...]
    exit_code: int | None = None
    aborted_line: int | None = None
    end_line: int = 0


# ---------------------------------------------------------------------------------------------
# Parsed commands


@dataclass(frozen=True)
class Nop:
    """A line that does nothing here (blank, comment, label, ECHO, CLS...)."""


@dataclass(frozen=True)
class External:
    """An external command: upper-cased name and C-runtime argv (without argv[0])."""

    name: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Goto:
    """``GOTO target``; ``target`` is without the leading colon, ``""`` if none was given."""

    target: str


@dataclass(frozen=True)
class Exit:
    """``EXIT`` or ``EXIT /B [n]``."""

    code: int | None


@dataclass(frozen=True)
class SetVar:
    """``SET name=value``; ``value`` ``None`` removes the variable."""

    name: str
    value: str | None


@dataclass(frozen=True)
class SetLocal:
    """``SETLOCAL``: save the environment."""


@dataclass(frozen=True)
class EndLocal:
    """``ENDLOCAL``: restore the environment saved by the last SETLOCAL."""


@dataclass(frozen=True)
class If:
    """``IF [/I] [NOT] a==b then`` or ``IF [/I] [NOT] DEFINED a then``.

    ``error`` is set when cmd could not parse the condition: running it aborts the script.
    """

    negate: bool
    icase: bool
    op: str  # "==", "DEFINED" or "ERRORLEVEL" (left: the number)
    left: str
    right: str
    then: "Command | None"
    error: str | None = None


Command = Nop | External | Goto | Exit | SetVar | SetLocal | EndLocal | If


# ---------------------------------------------------------------------------------------------
# Lines and labels


def split_lines(text: str) -> list[str]:
    """The script's lines as cmd reads them: split at LF, every CR removed.

    A final line terminator does not start another line.
    """
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [p.replace("\r", "") for p in parts]


def _label_name(line: str) -> str | None:
    """The label name if *line* is a label (or ``::`` comment), else ``None``."""
    s = line.lstrip(_WS)
    if not s.startswith(":"):
        return None
    rest = s[1:]
    m = re.match(r"[^\s]*", rest)
    return m.group(0) if m else ""


def labels(text: str) -> dict[str, list[int]]:
    """Every label of *text*: upper-cased name → 1-based lines where it is defined."""
    out: dict[str, list[int]] = {}
    for i, line in enumerate(split_lines(text), start=1):
        name = _label_name(line)
        if name is not None and name and not name.startswith(":"):
            out.setdefault(name.upper(), []).append(i)
    return out


def _is_rem(s: str) -> bool:
    """True if the (left-stripped, ``@``-stripped) line is a REM comment."""
    return re.match(r"rem(?:$|[\s/.:,;=+(\[\]\\])", s, re.IGNORECASE) is not None


# ---------------------------------------------------------------------------------------------
# Phase 1: percent expansion


def _expand(line: str, lookup: Callable[[str], str | None], script: str, line_no: int) -> str:
    """cmd's phase-1 percent expansion of one batch line."""
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        nxt = line[i + 1] if i + 1 < n else ""
        if nxt == "%":
            out.append("%")
            i += 2
        elif nxt == "*":
            i += 2  # no arguments
        elif nxt.isdigit():
            out.append(script if nxt == "0" else "")
            i += 2
        elif nxt == "~":
            raise UnsupportedSyntax(line_no, line, "%~ parameter modifiers are not supported")
        else:
            j = line.find("%", i + 1)
            if j < 0:
                i += 1  # a lone % is dropped
                continue
            name = line[i + 1 : j]
            if ":" in name:
                raise UnsupportedSyntax(
                    line_no, line, f"%{name}% substring/substitution is not supported")
            value = lookup(name)
            if value is not None:
                out.append(value)
            i = j + 1
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Phase 2: special characters


def _unescape(line: str, line_no: int, raw: str) -> str:
    """cmd's phase-2 scan: refuse operators and redirection, remove escaping carets.

    Quote state toggles on every ``"`` (escaped ones excepted), as in cmd.
    """
    out: list[str] = []
    quoted = False
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == '"':
            quoted = not quoted
            out.append(c)
        elif quoted:
            out.append(c)
        elif c == "^":
            if i + 1 >= n:
                raise UnsupportedSyntax(line_no, raw, "a caret at the end of a line (continuation)")
            out.append(line[i + 1])
            i += 1
        elif c in "&|":
            raise UnsupportedSyntax(line_no, raw, f"command operator {c!r} is not supported")
        elif c in "<>":
            raise UnsupportedSyntax(line_no, raw, "redirection is not supported")
        else:
            out.append(c)
        i += 1
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# argv splitting


def split_argv(s: str) -> tuple[str, ...]:
    """Split a command line tail into arguments as the Microsoft C runtime does.

    * arguments are separated by spaces and tabs outside double quotes;
    * a ``"`` toggles quoting and is removed;
    * 2n backslashes followed by ``"`` give n backslashes and the quote toggles;
      2n+1 backslashes followed by ``"`` give n backslashes and a literal ``"``;
      backslashes not followed by ``"`` are literal;
    * inside quotes, ``""`` gives a literal ``"`` and quoting continues (the rule of the
      Visual C++ 2008+ runtime and the UCRT; older runtimes ended the quoted part there).

    ``""`` as a whole argument gives an empty argument.
    """
    args: list[str] = []
    cur: list[str] = []
    have = False
    quoted = False
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c in " \t" and not quoted:
            if have:
                args.append("".join(cur))
                cur, have = [], False
            i += 1
            continue
        have = True
        if c == "\\":
            j = i
            while j < n and s[j] == "\\":
                j += 1
            count = j - i
            if j < n and s[j] == '"':
                cur.append("\\" * (count // 2))
                if count % 2:
                    cur.append('"')
                    i = j + 1
                else:
                    i = j  # the quote is processed next
            else:
                cur.append("\\" * count)
                i = j
            continue
        if c == '"':
            if quoted and i + 1 < n and s[i + 1] == '"':
                cur.append('"')
                i += 2
                continue
            quoted = not quoted
            i += 1
            continue
        cur.append(c)
        i += 1
    if have:
        args.append("".join(cur))
    return tuple(args)


# ---------------------------------------------------------------------------------------------
# Parsing one (expanded) command


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in _WS:
        i += 1
    return i


def _word(s: str, i: int) -> tuple[str, int]:
    """A white-space-delimited word starting at *i* (after skipping white space)."""
    i = _skip_ws(s, i)
    j = i
    while j < len(s) and s[j] not in _WS:
        j += 1
    return s[i:j], j


def _if_token(s: str, i: int) -> tuple[str, int]:
    """One operand of IF: up to white space or ``=``, quoted parts kept whole (with quotes)."""
    j = i
    quoted = False
    while j < len(s):
        c = s[j]
        if c == '"':
            quoted = not quoted
        elif not quoted and (c in _WS or c in "=,;"):
            break
        j += 1
    return s[i:j], j


def _parse_if(rest: str, line_no: int, raw: str) -> If:
    icase = negate = False
    i = 0
    while True:
        word, j = _word(rest, i)
        up = word.upper()
        if up == "/I" and not icase:
            icase, i = True, j
        elif up == "NOT" and not negate:
            negate, i = True, j
        else:
            break
    word, j = _word(rest, i)
    up = word.upper()
    if up in {"EXIST", "CMDEXTVERSION"}:
        raise UnsupportedSyntax(line_no, raw, f"IF {up} is not supported")
    if up == "ERRORLEVEL" and icase:
        raise UnsupportedSyntax(line_no, raw, "IF /I ERRORLEVEL is not supported")
    if up == "ERRORLEVEL":
        number, k = _word(rest, j)
        if not re.fullmatch(r"[+-]?\d+", number):
            raise UnsupportedSyntax(line_no, raw, f"IF ERRORLEVEL needs a number, not {number!r}")
        then_text = rest[_skip_ws(rest, k):]
        if not then_text:
            return If(negate, False, "ERRORLEVEL", number, "", None,
                      "The syntax of the command is incorrect.")
        return If(negate, False, "ERRORLEVEL", number, "", _parse_command(then_text, line_no, raw))
    if up == "DEFINED":
        name, k = _word(rest, j)
        if not name:
            return If(negate, icase, "DEFINED", "", "", None,
                      "The syntax of the command is incorrect.")
        then_text = rest[_skip_ws(rest, k):]
        if not then_text:
            return If(negate, icase, "DEFINED", name, "", None,
                      "The syntax of the command is incorrect.")
        return If(negate, icase, "DEFINED", name, "",
                  _parse_command(then_text, line_no, raw))
    i = _skip_ws(rest, i)
    left, i = _if_token(rest, i)
    for w in ([left] if left else []) + rest[i:].split(None, 2)[:2]:
        if w.upper() in _WORD_OPS:
            raise UnsupportedSyntax(line_no, raw, f"IF comparison operator {w.upper()} is not "
                                    "supported (use ==)")
    if not left:
        nxt, _ = _word(rest, i)
        return If(negate, icase, "==", "", "", None,
                  f"{nxt or 'IF'} was unexpected at this time.")
    i = _skip_ws(rest, i)
    if not rest.startswith("==", i):
        return If(negate, icase, "==", left, "", None, "The syntax of the command is incorrect.")
    i = _skip_ws(rest, i + 2)
    right, i = _if_token(rest, i)
    if not right:
        nxt, _ = _word(rest, i)
        return If(negate, icase, "==", left, "", None,
                  f"{nxt or 'IF'} was unexpected at this time.")
    then_text = rest[_skip_ws(rest, i):]
    if not then_text:
        return If(negate, icase, "==", left, right, None,
                  "The syntax of the command is incorrect.")
    return If(negate, icase, "==", left, right, _parse_command(then_text, line_no, raw))


def _parse_set(rest: str, line_no: int, raw: str) -> Command:
    s = rest[_skip_ws(rest, 0):] if rest[:1] in _WS else rest
    if s[:2].upper() in {"/A", "/P"}:
        raise UnsupportedSyntax(line_no, raw, f"SET {s[:2].upper()} is not supported")
    if s.startswith('"'):
        end = s.rfind('"')
        s = s[1:end] if end > 0 else s[1:]
    if "=" not in s:
        return Nop()  # SET / SET prefix: displays variables
    name, value = s.split("=", 1)
    if not name:
        raise UnsupportedSyntax(line_no, raw, "SET without a variable name")
    return SetVar(name, value if value != "" else None)


def _parse_exit(rest: str) -> Exit:
    word, j = _word(rest, 0)
    if word.upper() == "/B":
        word, j = _word(rest, j)
    if not word:
        return Exit(None)
    m = re.match(r"[+-]?\d+", word)
    return Exit(int(m.group(0)) if m else 0)


def _parse_command(s: str, line_no: int, raw: str) -> Command:
    """Parse one expanded, unescaped command (a line, or the tail of an IF)."""
    s = s.lstrip(_LEAD)
    if not s.strip():
        return Nop()
    if s[0] in "()":
        raise UnsupportedSyntax(line_no, raw, "parenthesised blocks are not supported")
    if s[0] == ":":
        return Nop()  # a label in command position does nothing
    m = _NAME_END.search(s)
    head = s[: m.start()] if m else s
    up = head.upper()
    rest = s[len(head):]
    if up == "REM" and _is_rem(s):
        return Nop()
    if up in _REFUSED:
        raise UnsupportedSyntax(line_no, raw, f"{up} is not supported")
    if up in _MODELLED:
        if up == "IF":
            return _parse_if(rest, line_no, raw)
        if up == "GOTO":
            target, _ = _word(rest.lstrip(_WS + "=,;"), 0)
            if target.startswith(":"):
                target = target[1:]
                if target.upper() == "EOF":
                    return Goto(":EOF")
            return Goto(target)
        if up == "EXIT":
            return _parse_exit(rest)
        if up == "SET":
            return _parse_set(rest, line_no, raw)
        if up == "SETLOCAL":
            opts = {w.upper() for w in rest.split()}
            if "ENABLEDELAYEDEXPANSION" in opts:
                raise UnsupportedSyntax(line_no, raw, "delayed expansion is not supported")
            return SetLocal()
        if up == "ENDLOCAL":
            return EndLocal()
        return Nop()  # ECHO, CLS, TITLE, PAUSE, VER
    # External command: the first token, quotes allowed.
    i, quoted = 0, False
    while i < len(s) and (quoted or s[i] not in _WS):
        if s[i] == '"':
            quoted = not quoted
        i += 1
    token = s[:i].replace('"', "")
    base = token.rsplit("\\", 1)[-1]
    name = base.upper()
    if name.endswith((".BAT", ".CMD")):
        raise UnsupportedSyntax(line_no, raw, "running another batch file is not supported")
    if name.endswith((".EXE", ".COM")):
        name = name[:-4]
    if not name:
        raise UnsupportedSyntax(line_no, raw, "empty command name")
    return External(name, split_argv(s[i:]))


def parse_line(
    raw: str,
    line_no: int,
    lookup: Callable[[str], str | None] = lambda _name: None,
    *,
    script: str = "SCRIPT.BAT",
) -> Command:
    """Parse one source line (without its terminator) as cmd would just before running it.

    *lookup* gives a variable's value (``None`` if undefined) for percent expansion.
    Raises :class:`UnsupportedSyntax` for anything outside the supported subset.
    """
    s = raw.lstrip(_LEAD)
    if not s.strip() or s.startswith(":") or _is_rem(s):
        return Nop()
    expanded = _expand(raw, lookup, script, line_no)
    return _parse_command(_unescape(expanded, line_no, raw), line_no, raw)


def check_syntax(text: str) -> None:
    """Raise :class:`UnsupportedSyntax` for the first line (reachable or not) outside the subset.

    Lines are parsed with every variable undefined; syntax that only appears once variables
    are expanded is still found when :func:`simulate` runs that line.
    """
    for no, line in enumerate(split_lines(text), start=1):
        parse_line(line, no)


# ---------------------------------------------------------------------------------------------
# Running


def simulate(
    text: str,
    env: Mapping[str, str],
    *,
    recorded: Collection[str] | None = None,
    script: str = "SCRIPT.BAT",
    max_steps: int = 100_000,
    exit_codes: Mapping[str, int] | None = None,
) -> Trace:
    """Run *text* (CRLF or LF lines) with environment *env* and return what it would do.

    Variable names are case-insensitive, as in cmd. *recorded*: ``None`` records every
    external command; otherwise an external command whose upper-cased name is not in it raises
    :class:`UnsupportedSyntax`. The whole script is syntax-checked first
    (:func:`check_syntax`), so an unsupported line raises even if this run would not reach it.
    *script* is what ``%0`` expands to. After *max_steps* executed lines the run stops and is
    marked aborted (cmd would loop for ever). *exit_codes*: the exit code of an external
    command by its upper-cased name (0 for a name not in it), which ``IF ERRORLEVEL`` reads.
    """
    lines = split_lines(text)
    check_syntax(text)
    allowed = None if recorded is None else {r.upper() for r in recorded}
    vars_: dict[str, str] = {k.upper(): v for k, v in env.items()}
    saved: list[dict[str, str]] = []
    calls: list[tuple[str, ...]] = []
    call_lines: list[int] = []
    label_at = [_label_name(line) for line in lines]
    codes = {k.upper(): v for k, v in (exit_codes or {}).items()}
    errorlevel = 0

    def lookup(name: str) -> str | None:
        return vars_.get(name.upper())

    def find_label(target: str, after: int) -> int | None:
        """Index of the first label *target* after line index *after*, wrapping round."""
        want = target.upper()
        n = len(lines)
        for k in itertools.chain(range(after + 1, n), range(0, after + 1)):
            name = label_at[k]
            if name is not None and name.upper() == want:
                return k
        return None

    def finish(end: int, aborted: str | None = None, code: int | None = None) -> Trace:
        return Trace(tuple(calls), aborted, tuple(call_lines), code,
                     end if aborted is not None else None, end)

    pc = 0
    steps = 0
    while pc < len(lines):
        steps += 1
        line_no = pc + 1
        if steps > max_steps:
            return finish(line_no, f"step limit of {max_steps} lines exceeded (endless loop?)")
        cmd: Command | None = parse_line(lines[pc], line_no, lookup, script=script)
        jump: int | None = None
        while cmd is not None:
            current = cmd
            cmd = None
            if isinstance(current, If):
                if current.error is not None:
                    return finish(line_no, f"IF syntax error: {current.error}")
                if current.op == "DEFINED":
                    hit = lookup(current.left) is not None
                elif current.op == "ERRORLEVEL":
                    hit = errorlevel >= int(current.left)
                elif current.icase:
                    hit = current.left.casefold() == current.right.casefold()
                else:
                    hit = current.left == current.right
                if hit != current.negate:
                    cmd = current.then
            elif isinstance(current, External):
                if allowed is not None and current.name not in allowed:
                    raise UnsupportedSyntax(line_no, lines[pc],
                                            f"command {current.name} is not a recorded command")
                calls.append((current.name, *current.args))
                call_lines.append(line_no)
                errorlevel = codes.get(current.name, 0)
            elif isinstance(current, Goto):
                if current.target == ":EOF":
                    return finish(line_no)
                if not current.target:
                    return finish(line_no, "GOTO without a label")
                k = find_label(current.target, pc)
                if k is None:
                    return finish(line_no, f"GOTO target not found: {current.target}")
                jump = k + 1
            elif isinstance(current, Exit):
                return finish(line_no, None, current.code if current.code is not None else 0)
            elif isinstance(current, SetVar):
                if current.value is None:
                    vars_.pop(current.name.upper(), None)
                else:
                    vars_[current.name.upper()] = current.value
            elif isinstance(current, SetLocal):
                saved.append(dict(vars_))
            elif isinstance(current, EndLocal):
                if saved:
                    vars_ = saved.pop()
        pc = jump if jump is not None else pc + 1
    return finish(len(lines) + 1)


def cases(variables: Mapping[str, Sequence[str | None]]) -> list[dict[str, str]]:
    """The cartesian product of *variables*' values, as environments.

    Keys vary in the order given, the last fastest; a value :data:`UNSET` (``None``) leaves the
    variable out of that environment.
    """
    keys = list(variables)
    out: list[dict[str, str]] = []
    for combo in itertools.product(*(variables[k] for k in keys)):
        out.append({k: v for k, v in zip(keys, combo) if v is not None})
    return out


def simulate_all(
    text: str,
    variables: Mapping[str, Sequence[str | None]],
    **kwargs: object,
) -> list[tuple[dict[str, str], Trace]]:
    """:func:`simulate` for every environment of :func:`cases` (same order).

    Keyword arguments are passed on to :func:`simulate`.
    """
    return [(env, simulate(text, env, **kwargs)) for env in cases(variables)]  # type: ignore[arg-type]
