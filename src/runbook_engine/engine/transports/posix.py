"""Batches for nodes whose shell is POSIX sh (Linux): the same markers as the cmd.exe batches, so
:func:`~.base.split_output` splits both.

Each command runs in a subshell with stdin from ``/dev/null``::

    printf '%s\\n' '::rb:begin:0'
    ( systemctl show -p UnitFileState -- 'myapp.service' ) </dev/null
    printf '\\n::rb:end:0:%s\\n' "$?"

* The subshell keeps one command's ``exit``, ``cd`` or ``set`` from reaching the next one.
* The batch itself travels on the shell's stdin (``sh -s``); ``</dev/null`` keeps a command that
  reads stdin from eating the rest of the batch (a pipe inside the command still feeds it).
* Every value from data reaches a command through :func:`q` (``shlex.quote``) after the same
  validation as for cmd.exe (:func:`runbook_engine.engine.cmdline.arg` patterns).
* Batches on one node never overlap: each first takes an exclusive ``flock`` on
  :data:`LOCK_FILE` and holds it until its shell exits. An engine killed (kill -9) while its batch
  runs leaves that batch to finish on the node; the next run's first batch waits for it instead of
  reading a state that is still changing. The commands do not inherit the lock's descriptor
  (``9>&-``): a daemon a command starts never holds it.
"""
from __future__ import annotations

import shlex

from runbook_engine.engine.cmdline import UnsafeArgument
from runbook_engine.engine.transports.base import MARK_BEGIN, MARK_END
from runbook_engine.model.rules import PATTERNS

SHELL = "sh"
#: the environment every POSIX batch starts with (nothing of this process's: no secret leaks)
BATCH_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def command_lines(index: int, command: str) -> list[str]:
    """The lines that run one command of a POSIX batch and mark its output and exit code."""
    if "\r" in command or "\n" in command or "\0" in command:
        raise ValueError(f"command {index} contains a line break")
    # the end marker starts on a line of its own even after output with no final line break
    # (`base64 -w 0`, a file's last line): the empty line it may add is stripped by split_output
    return [f"printf '%s\\n' '{MARK_BEGIN}{index}'", f"( {command}\n) </dev/null 9>&-",
            f"printf '\\n{MARK_END}{index}:%s\\n' \"$?\""]


LOCK_FILE = "/run/lock/runbook-batch.lock"
#: the batch's first line: wait for any other batch on the node (without flock or a writable
#: /run/lock, a batch runs unserialised rather than not at all)
LOCK_LINE = (f"if command exec 9>>{LOCK_FILE}; then command -v flock >/dev/null 2>&1 && flock 9; fi 2>/dev/null")


def wrap_batch(commands: list[str]) -> str:
    """The sh text (LF) that runs *commands* in order and marks each one's output and exit code."""
    lines: list[str] = [LOCK_LINE]
    for i, cmd in enumerate(commands):
        lines.extend(command_lines(i, cmd))
    lines.append("exit 0")
    return "\n".join(lines) + "\n"


def q(value: str, kind: str) -> str:
    """Validate *value* as a *kind* (model.rules) and return it quoted for sh (``shlex.quote``)."""
    pattern = PATTERNS[kind]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise UnsafeArgument(f"refusing {kind} {value!r}: it does not match {pattern.pattern}")
    return shlex.quote(value)
