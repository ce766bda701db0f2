"""Rules written once: the languages, the value patterns, what is safe in a script message, the
watch-id rule and the placeholder marker of a scaffolded guide.

The schema's types, the loader's checks, the script linter (``batch.lint``), ``runbook check``
(``publish.checks``), the command-line quoting of the engine (``engine.cmdline``) and the
inventory all read these; none of them writes a pattern of its own.
"""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints
from pydantic import Strict as PydanticStrict

#: Every human text is written in these languages, in this order.
LANGS: tuple[str, ...] = ("ja", "en")

#: The byte encoding of a generated script per language (cmd.exe reads the OEM code page).
SCRIPT_ENCODINGS: dict[str, str] = {"ja": "cp932", "en": "ascii"}

#: The same for a Linux family's start.sh / stop.sh. bash passes the bytes of a quoted message to
#: clplogcmd unchanged whatever they are; UTF-8 is what reads them back: the ja_JP.UTF-8 locale of
#: a Japanese RHEL-like node, its journal and syslog, and the editor an operator opens the
#: script in. A CP932 or EUC-JP file would show as mojibake there. English scripts stay ASCII.
SHELL_SCRIPT_ENCODINGS: dict[str, str] = {"ja": "utf-8", "en": "ascii"}

#: What `runbook new` writes where a fact or a text is still to be written; `runbook check`
#: refuses every value equal to it.
PLACEHOLDER = "TODO"

# --------------------------------------------------------------------------------------------
# Value patterns, by name. Anchored, for pydantic (which searches) and for re.fullmatch.
# --------------------------------------------------------------------------------------------

PATTERNS: dict[str, re.Pattern[str]] = {
    # kb/ ids: lower-case kebab-case (dots allowed for versions such as x2.0)
    "id": re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$"),
    # Windows service names may hold spaces (ExpressMail's do); they are always quoted in commands
    "service": re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}$"),
    # watch ids are bare tokens on ARMLOAD / ARMKILL command lines
    "watch-id": re.compile(r"^[A-Za-z0-9_.-]{1,255}$"),
    # a Windows path with no component that ends in a dot or a space: no `.` or `..` (a path never
    # leaves the folder it names) and no name that Windows would silently trim into another one
    "path": re.compile(r"^[A-Za-z]:\\(?:(?![^\\]*[. ](?:\\|$))[A-Za-z0-9 _.()-]+\\?)*$"),
    # the cluster's name for a failover group or a resource: a bare token on a command line
    "cluster-name": re.compile(r"^[A-Za-z0-9_.-]{1,31}$"),
    "regkey": re.compile(r"^HKLM\\(?:[A-Za-z0-9 _.-]+\\)*[A-Za-z0-9 _.-]+$"),
    "regvalue": re.compile(r"^[A-Za-z0-9 _.-]{1,64}$"),
    "drive": re.compile(r"^[A-Za-z]:$"),
    "token": re.compile(r"^[A-Za-z0-9_.-]{1,64}$"),
    "start": re.compile(r"^(auto|demand|disabled)$"),
    # a cluster server's name in a guide's topology (upper or lower case; a Windows family also limits
    # it to 15 characters, the NetBIOS length: model/xref.py)
    "server-name": re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$"),
    # an absolute POSIX path with no `.` or `..` component and nothing a shell would read
    "posix-path": re.compile(r"^/(?:(?!\.\.?(?:/|$))[A-Za-z0-9_.+-]+/?)*$"),
    # a systemd unit a guide names (myapp.service, myapp@main.service)
    "unit": re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_.@-]{0,200}\.(?:service|socket|timer|target|mount|path)$"),
    # an nftables table of ours (runbook_<guide id>): a bare identifier in nft's grammar
    "nft-name": re.compile(r"^[a-z][a-z0-9_]{0,63}$"),
    # a block device of a Linux node (/dev/sdb2, /dev/mapper/vg-lv)
    "device": re.compile(r"^/dev/[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+.-]+)*$"),
    # inventory
    "node-name": re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$"),
    "env-name": re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$"),
    "host-name": re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"),
    "domain-name": re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$"),
    "ipv4": re.compile(r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$"),
    # a host to connect to: a host name, an FQDN or an IPv4 address (nothing a shell would read)
    "net-host": re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"),
    # a run id as the journal makes them (UTC time and 6 hex digits)
    "run-id": re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$"),
    # a login: user, DOMAIN\user or user@domain
    "login": re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9.-]{0,14}\\)?[A-Za-z0-9][A-Za-z0-9._-]{0,63}(?:@[A-Za-z0-9.-]{1,253})?$"),
}


def fits(kind: str, value: object) -> bool:
    """True if *value* is a string matching the whole of the *kind* pattern."""
    return isinstance(value, str) and PATTERNS[kind].fullmatch(value) is not None


def _typed(kind: str, **extra):
    return StringConstraints(pattern=PATTERNS[kind].pattern, **extra)


# --------------------------------------------------------------------------------------------
# Bare tokens and watch ids
# --------------------------------------------------------------------------------------------

#: CLUSTERPRO reserves watch ids starting with this (compared case-insensitively).
RESERVED_WATCH_PREFIX = "NEC_"


def bare_token_problem(value: str, *, what: str = "name") -> str | None:
    """Why *value* is not a safe bare cmd token (1-255 of ``A-Z a-z 0-9 _ . -``), or ``None``."""
    if not value:
        return f"{what} is empty"
    if len(value) > 255:
        return f"{what} is {len(value)} characters long (at most 255)"
    if not fits("watch-id", value):
        bad = sorted({c for c in value if not fits("watch-id", c)})
        return f"{what} {value!r} has characters outside [A-Za-z0-9_.-]: " + " ".join(repr(c) for c in bad)
    return None


def watch_id_problem(value: str) -> str | None:
    """Why *value* is not a usable ARM watch id (a bare token not starting with ``NEC_``), or ``None``."""
    err = bare_token_problem(value, what="watch id")
    if err:
        return err
    if value.upper().startswith(RESERVED_WATCH_PREFIX):
        return f"watch id {value!r} must not start with {RESERVED_WATCH_PREFIX} (reserved for CLUSTERPRO)"
    return None


def _cmd_text(value: str) -> str:
    problem = cmd_text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _watch_id(value: str) -> str:
    problem = watch_id_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# --------------------------------------------------------------------------------------------
# Message safety: text inside ARMBCAST /MSG "..."
# --------------------------------------------------------------------------------------------

_TEXT_UNSAFE = frozenset('"%^&|<>!')


def cmd_text_problem(value: str) -> str | None:
    """Why *value* is unsafe inside a double-quoted cmd argument (``ARMBCAST /MSG "..."``), or ``None``.

    Refused: ``"`` (ends the quoted part), ``%`` (expanded even inside quotes), ``!`` (expanded
    under delayed expansion), ``^ & | < >`` (harmless only while cmd's naive quote state holds,
    so refused outright), control characters (including CR/LF, which end the line), and a
    trailing backslash or a trailing character whose CP932 form ends in the byte 0x5C (such as
    ``ソ`` or ``表``): before the closing quote that backslash byte makes ``\\"``, which the C
    runtime reads as a literal quote.
    """
    bad = sorted({c for c in value if c in _TEXT_UNSAFE})
    if bad:
        return "unsafe in a quoted cmd argument: " + " ".join(repr(c) for c in bad)
    ctl = sorted({c for c in value if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F})
    if ctl:
        return "control characters are not allowed: " + " ".join(repr(c) for c in ctl)
    if value.endswith("\\"):
        return "a trailing backslash escapes the closing quote (C runtime \\\" rule)"
    if value:
        try:
            last = value[-1].encode("cp932")
        except UnicodeEncodeError:
            last = b""
        if len(last) == 2 and last[1:] == b"\\":
            return (f"the last character {value[-1]!r} ends in byte 0x5C in CP932, which escapes "
                    "the closing quote (C runtime \\\" rule); add a character after it")
    return None


def script_message_problem(value: str, lang: str) -> str | None:
    """:func:`cmd_text_problem`, and the text must be representable in *lang*'s script encoding."""
    return cmd_text_problem(value) or _encoding_problem(value, SCRIPT_ENCODINGS[lang], lang)


def _encoding_problem(value: str, encoding: str, lang: str) -> str | None:
    """Why *value* cannot be written in *lang*'s script *encoding* (None if it can)."""
    try:
        value.encode(encoding)
    except UnicodeEncodeError as exc:
        return f"not representable in {encoding.upper()} (the {lang} script encoding): {exc.object[exc.start:exc.end]!r}"
    return None


# --------------------------------------------------------------------------------------------
# Shell words: the settings and argv tokens of a Linux script (batch/shell.py renders them)
# --------------------------------------------------------------------------------------------

#: the characters Python's shlex.quote leaves bare: a word made of them means the same to every
#: POSIX shell, inside double quotes too (no $ ` \ " ! * ? [ ~ ; & | < > ( ) space or quote)
SHELL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@%+=:,./_-")
#: a setting's name: an upper-case shell variable of our own (not CLUSTERPRO's CLP_*, not one the
#: shell or su reads)
SHELL_RESERVED = frozenset({"PATH", "HOME", "IFS", "PS1", "PS2", "PS4", "ENV", "BASH_ENV", "SHELL", "USER",
                            "LOGNAME", "CDPATH", "LANG", "LC_ALL", "PWD", "OLDPWD", "SHELLOPTS", "UID", "EUID"})
SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
#: ``{NAME}`` inside an argv token: the value of the setting NAME
SETTING_REF = re.compile(r"\{([^{}]*)\}")


def setting_name_problem(value: str) -> str | None:
    if not SETTING_NAME.fullmatch(value):
        return f"setting name {value!r} must be upper-case letters, digits and _ (a shell variable)"
    if value.startswith("CLP_"):
        return f"setting name {value!r}: CLP_ names are CLUSTERPRO's own variables"
    if value in SHELL_RESERVED:
        return f"setting name {value!r} is a variable the shell or su reads"
    return None


def shell_word_problem(value: str, *, what: str = "value") -> str | None:
    """Why *value* is not a plain shell word (empty, or a character outside :data:`SHELL_SAFE`)."""
    if not value:
        return f"{what} is empty"
    bad = sorted({c for c in value if c not in SHELL_SAFE})
    if bad:
        return (f"{what} {value!r} has shell metacharacters or spaces: " + " ".join(repr(c) for c in bad)
                + " (one word per token, no shell syntax)")
    if value.startswith("-") and what == "setting value":
        return f"{what} {value!r} would read as an option"
    return None


def shell_token_problem(value: str) -> str | None:
    """An argv token: plain-word text with ``{NAME}`` references to settings."""
    problem = _token_shape_problem(value)
    if problem:
        return problem
    literal = SETTING_REF.sub("", value)
    if literal:
        problem = shell_word_problem(literal, what="argv token")
        if problem:
            return problem.replace(repr(literal), repr(value), 1)
    return None


def _control_problem(value: str, what: str) -> str | None:
    ctl = sorted({c for c in value if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F})
    if ctl:
        return f"{what} {value!r} has control characters: " + " ".join(repr(c) for c in ctl)
    return None


def script_token_problem(value: str) -> str | None:
    """What is wrong with an argv token whatever the family: empty, an unbalanced brace, a
    ``{NAME}`` that is no setting name, a control character. The shell's rules
    (:func:`shell_token_problem`) or cmd's (:func:`cmd_token_problem`) are checked by the
    cross-references, which know the family (model/xref.py)."""
    return _token_shape_problem(value) or _control_problem(value, "argv token")


def _token_shape_problem(value: str) -> str | None:
    """Empty, an unbalanced brace, or a ``{NAME}`` that is no setting name."""
    if not value:
        return "argv token is empty"
    literal = SETTING_REF.sub("", value)
    if "{" in literal or "}" in literal:
        return f"argv token {value!r}: an unbalanced brace (a setting is written {{NAME}})"
    for name in SETTING_REF.findall(value):
        problem = setting_name_problem(name)
        if problem:
            return f"argv token {value!r}: {problem}"
    return None


def setting_value_problem(value: str) -> str | None:
    """A setting's value whatever the family: not empty, no control character."""
    if not value:
        return "setting value is empty"
    return _control_problem(value, "setting value")


# --------------------------------------------------------------------------------------------
# cmd words: the settings and argv tokens of a Windows START.BAT / STOP.BAT (artifacts/cmdwords.py)
# --------------------------------------------------------------------------------------------

#: what cmd.exe expands, splits on or treats as syntax on a command line, even (for % and, under
#: delayed expansion, !) inside double quotes: refused in a Windows token or setting value
CMD_UNSAFE = frozenset('%!^&|<>"()')
#: a Windows setting's name must not be a variable cmd, Windows or the C runtime gives a meaning
#: (compared upper-case: cmd's variables are case-insensitive)
CMD_RESERVED = frozenset({
    "PATH", "PATHEXT", "COMSPEC", "ERRORLEVEL", "CD", "DATE", "TIME", "RANDOM", "CMDEXTVERSION",
    "CMDCMDLINE", "HIGHESTNUMANODENUMBER", "PROMPT", "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "TEMP",
    "TMP", "USERNAME", "USERPROFILE", "USERDOMAIN", "COMPUTERNAME", "PROGRAMFILES", "PROGRAMDATA",
    "APPDATA", "LOCALAPPDATA", "ALLUSERSPROFILE", "HOMEDRIVE", "HOMEPATH", "PUBLIC", "OS",
    "PROCESSOR_ARCHITECTURE", "NUMBER_OF_PROCESSORS", "COMMONPROGRAMFILES", "PSMODULEPATH"})
#: cmd built-ins: a command's first word must name a program, not one of these
CMD_BUILTINS = frozenset({
    "ASSOC", "BREAK", "CALL", "CD", "CHDIR", "CLS", "COLOR", "COPY", "DATE", "DEL", "DIR", "DPATH",
    "ECHO", "ENDLOCAL", "ERASE", "EXIT", "FOR", "FTYPE", "GOTO", "IF", "KEYS", "MD", "MKDIR", "MKLINK",
    "MOVE", "PATH", "PAUSE", "POPD", "PROMPT", "PUSHD", "RD", "REM", "REN", "RENAME", "RMDIR", "SET",
    "SETLOCAL", "SHIFT", "START", "TIME", "TITLE", "TYPE", "VER", "VERIFY", "VOL"})


def cmd_word_problem(value: str, *, what: str = "value") -> str | None:
    """Why *value* cannot be a cmd word of a START.BAT / STOP.BAT (quoted if it holds a space):
    empty, a character of :data:`CMD_UNSAFE`, a tab or control character, a character outside
    ASCII (the English script is ASCII, and one token serves both languages), a leading or
    trailing space, or a trailing backslash (before the closing quote it would make ``\"``)."""
    if not value:
        return f"{what} is empty"
    bad = sorted({c for c in value if c in CMD_UNSAFE})
    if bad:
        return (f"{what} {value!r} has characters cmd.exe expands or reads as syntax: "
                + " ".join(repr(c) for c in bad) + " (one word per token, no cmd syntax)")
    ctl = _control_problem(value, what)
    if ctl:
        return ctl
    other = sorted({c for c in value if ord(c) > 0x7E})
    if other:
        return f"{what} {value!r} has characters outside ASCII: " + " ".join(repr(c) for c in other)
    if value != value.strip(" "):
        return f"{what} {value!r} starts or ends with a space"
    if value.endswith("\\"):
        return f"{what} {value!r} ends in a backslash, which escapes a closing quote (C runtime \\\" rule)"
    return None


def cmd_token_problem(value: str) -> str | None:
    """A Windows argv token: :func:`script_token_problem`, then its literal text by
    :func:`cmd_word_problem` (``{NAME}`` references are checked where the settings are known)."""
    problem = script_token_problem(value)
    if problem:
        return problem
    literal = SETTING_REF.sub("x", value)  # a reference stands for a word checked with its setting
    problem = cmd_word_problem(literal, what="argv token")
    return problem.replace(repr(literal), repr(value), 1) if problem else None


def cmd_setting_name_problem(value: str) -> str | None:
    if value.upper() in CMD_RESERVED:
        return f"setting name {value!r} is a variable cmd.exe or Windows gives a meaning"
    return None


def cmd_program_problem(value: str) -> str | None:
    """A Windows command's first word: a bare program name found on PATH (no folder, no
    setting), not a cmd built-in."""
    problem = bare_token_problem(value, what="program name")
    if problem:
        return problem + " (a bare program name on PATH)"
    name = value.upper()
    for ext in (".EXE", ".COM"):
        if name.endswith(ext):
            name = name[:-len(ext)]
    if name.endswith((".BAT", ".CMD")):
        return f"program name {value!r}: a batch file would need CALL (not supported)"
    if name in CMD_BUILTINS:
        return f"program name {value!r} is a cmd.exe built-in, not a program"
    return None


def shell_message_problem(value: str, lang: str) -> str | None:
    """Why *value* cannot be a clplogcmd message of a *lang* script: control characters (a line
    break would end the command), or not representable in the script's encoding."""
    ctl = sorted({c for c in value if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F})
    if ctl:
        return "control characters are not allowed: " + " ".join(repr(c) for c in ctl)
    return _encoding_problem(value, SHELL_SCRIPT_ENCODINGS[lang], lang)


def _shell_check(problem_of):
    def check(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value
    return check


SettingName = Annotated[str, AfterValidator(_shell_check(setting_name_problem))]
#: a setting's value and an argv token: what holds for every family; the family's own rules
#: (shell_word_problem / shell_token_problem, cmd_word_problem / cmd_token_problem) are checked by
#: model/xref.py, which knows the family
SettingValue = Annotated[str, StringConstraints(max_length=255), AfterValidator(_shell_check(setting_value_problem))]
ShellToken = Annotated[str, StringConstraints(max_length=255), AfterValidator(_shell_check(script_token_problem))]


#: the characters of a Windows path; the models check this (pydantic's regex engine has no
#: look-ahead), then :func:`_windows_path` the whole "path" rule
_PATH_CHARS = r"^[A-Za-z]:\\(?:[A-Za-z0-9 _.()-]+\\?)*$"


def _windows_path(value: str) -> str:
    if not PATTERNS["path"].fullmatch(value):
        raise ValueError(f"'{value}': a path component ends in a dot or a space ('.' and '..' are refused)")
    return value


def _posix_path(value: str) -> str:
    if not PATTERNS["posix-path"].fullmatch(value):
        raise ValueError(f"'{value}': not an absolute path of plain names ('.' and '..' are refused)")
    return value


# --------------------------------------------------------------------------------------------
# Typed values for the models
# --------------------------------------------------------------------------------------------

Id = Annotated[str, _typed("id", max_length=64)]
ServiceName = Annotated[str, _typed("service")]
WatchId = Annotated[str, _typed("watch-id"), AfterValidator(_watch_id)]
WindowsPath = Annotated[str, StringConstraints(pattern=_PATH_CHARS), AfterValidator(_windows_path)]
ClusterName = Annotated[str, _typed("cluster-name")]
#: the posix-path pattern uses a look-ahead, which pydantic's regex engine lacks: checked after
PosixPath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9_.+/-]*$"),
                      AfterValidator(lambda v: _posix_path(v))]
Device = Annotated[str, _typed("device")]
UnitName = Annotated[str, _typed("unit")]


def _node_path(value: str) -> str:
    """A Windows path (C:\\...) or, starting with /, a POSIX one: one error either way."""
    if value.startswith("/"):
        return _posix_path(value)
    if not re.fullmatch(_PATH_CHARS, value):
        raise ValueError(f"'{value}': neither a Windows path (C:\\folder) nor an absolute POSIX path")
    return _windows_path(value)


#: an installation folder on a node of either platform
NodePath = Annotated[str, StringConstraints(min_length=2, max_length=260), AfterValidator(_node_path)]
Drive = Annotated[str, _typed("drive")]
#: a text that reaches a quoted cmd argument (a service's display name: ``sc create ... DisplayName= "..."``)
CmdText = Annotated[str, StringConstraints(min_length=1, max_length=256), AfterValidator(lambda v: _cmd_text(v))]
RegistryKey = Annotated[str, _typed("regkey")]
ServerName = Annotated[str, _typed("server-name")]
NodeName = Annotated[str, _typed("node-name")]
EnvName = Annotated[str, _typed("env-name")]
HostName = Annotated[str, _typed("host-name")]
DomainName = Annotated[str, _typed("domain-name")]
IPv4 = Annotated[str, _typed("ipv4")]
NetHost = Annotated[str, _typed("net-host", max_length=253)]
Login = Annotated[str, _typed("login")]
#: a TCP/UDP port: an integer, never a string, a boolean or a float that YAML would coerce
Port = Annotated[int, PydanticStrict(), Field(ge=1, le=65535)]
