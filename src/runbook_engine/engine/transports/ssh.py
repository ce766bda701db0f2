"""SSH transport: run a batch on a Windows node whose OpenSSH server uses cmd.exe as its shell.

Delivery (one exec request = one round trip)
--------------------------------------------
OpenSSH on Windows runs an exec request as ``cmd.exe /c <command>`` (older releases wrap the
command in quotes, newer ones do not). A multi-line batch cannot be passed as that one command
line: cmd.exe would run it line-less, ``%ERRORLEVEL%`` would expand once for the whole line and
the 8191-character limit applies. So the batch travels on the channel's **stdin** and the command
line only saves it and runs it::

    more > "%TEMP%\\rb-<random>.cmd" && "%TEMP%\\rb-<random>.cmd"

* ``more`` copies stdin to the file. It exists on every Windows (``more.com``) and as a builtin of
  Wine's cmd.exe; ``findstr "^"`` (byte-exact on Windows) is selectable with ``reader="findstr"``
  but Wine 8's findstr writes nothing, so it cannot be proved here. Windows' ``more`` expands tabs,
  so with the ``more`` reader a batch containing a tab is refused.
* The command line does not start with a quote, so cmd.exe's ``/c`` quote stripping leaves it
  alone, and it is also correct when the server wraps it in quotes. ``%TEMP%`` expands the same
  in a command line and in a batch file (the test node runs it from a batch file).
* The saved file wraps the caller's batch as a subroutine, prints the batch's exit code as a
  marker line (``::rb:exit:N``) and deletes itself::

      @echo off
      call :rb_main_<random>
      (echo ::rb:exit:%ERRORLEVEL%) & del "%~f0" & exit /b %ERRORLEVEL%
      :rb_main_<random>
      <batch>

  ``del "%~f0" & exit /b`` on one line is parsed before it runs, so cmd.exe never reads the
  deleted file again. The marker carries the exit code even where the process exit status of
  nested batch files is unreliable (Wine 8 reports 1 after ``call other.cmd`` ending in
  ``exit /b 5``); the SSH exit status is the fallback.
* The batch is encoded in the node's OEM code page (``cp932`` by default) before it is sent,
  stdout and stderr are decoded with the same code page.

One-line delivery (the default, ``delivery="oneline"``)
-------------------------------------------------------
Measured here: Wine's ``more`` inserts a ``-- More... --`` line every 24 lines even when its output
is a file, which breaks any batch longer than a screen. The default delivery therefore sends the
batch as ONE command line with delayed expansion, each command in parentheses::

    cmd /d /v:on /c "(echo ::rb:begin:0) & (call ) & (sc qc "W3SVC") & (echo ::rb:end:0:!ERRORLEVEL!) & ..."

``!ERRORLEVEL!`` expands when each command has run. Command lines are limited to 8191
characters, so a long batch is sent as several such lines, each one exec request (and one round
trip); commands never contain ``!`` (every value is validated before it reaches a command).
The stdin delivery above stays available as ``delivery="stdin"``.

Connection
----------
One asyncssh connection per transport, kept open on a private event loop running in a daemon
thread: connect + authentication costs about twice a command on an open connection. Host keys
are always checked against ``known_hosts``; there is no way to turn that off. Secrets (password,
key passphrase) are read from environment variables whose *names* are given, at connect time, and
are never stored on the object.
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeoutError
from pathlib import Path
from typing import Any, Coroutine, Literal, TypeVar

import asyncssh

from runbook_engine.model.rules import EnvName, Login, NetHost, Port
from runbook_engine.engine.transports import register_transport
from runbook_engine.engine.transports.base import MARK_BEGIN, MARK_END, BatchResult, CommandResult, Options, Transport, TransportError, split_output

log = logging.getLogger(__name__)

T = TypeVar("T")

Reader = Literal["more", "findstr"]

EXIT_MARK = "::rb:exit:"
_EXIT_RE = re.compile(r"^::rb:exit:(-?\d+)[ \t]*\r?$", re.MULTILINE)
_READERS: dict[str, str] = {"more": "more", "findstr": 'findstr "^"'}


def delivery_command(file_name: str, reader: Reader = "more") -> str:
    """The single cmd.exe command line that saves stdin to ``%TEMP%\\<file_name>`` and runs it."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+\.cmd", file_name):
        raise ValueError(f"unsafe batch file name: {file_name!r}")
    if reader not in _READERS:
        raise ValueError(f"unknown stdin reader {reader!r} (choose from {sorted(_READERS)})")
    path = f'"%TEMP%\\{file_name}"'
    return f"{_READERS[reader]} > {path} && {path}"


def delivery_script(batch_text: str, label: str) -> str:
    """The self-deleting .cmd text (CRLF) that runs *batch_text* and reports its exit code."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", label):
        raise ValueError(f"unsafe label: {label!r}")
    body = batch_text.replace("\r\n", "\n").replace("\n", "\r\n")
    if not body.endswith("\r\n"):
        body += "\r\n"
    head = [
        "@echo off",
        f"call :{label}",
        f'(echo {EXIT_MARK}%ERRORLEVEL%) & del "%~f0" & exit /b %ERRORLEVEL%',
        f":{label}",
    ]
    return "\r\n".join(head) + "\r\n" + body


def split_exit_marker(stdout: str) -> tuple[str, int | None]:
    """Remove the last ``::rb:exit:N`` line from *stdout*; return (stdout, N or None)."""
    matches = list(_EXIT_RE.finditer(stdout))
    if not matches:
        return stdout, None
    m = matches[-1]
    end = m.end()
    if stdout[end : end + 1] == "\n":
        end += 1
    return stdout[: m.start()] + stdout[end:], int(m.group(1))


ONELINE_LIMIT = 7000  # characters; cmd.exe's limit is 8191


def _oneline_parts(i: int, command: str) -> str:
    if "!" in command or "\r" in command or "\n" in command:
        raise ValueError(f"command {i} cannot travel on one line (contains '!' or a line break)")
    return f"(echo {MARK_BEGIN}{i}) & (call ) & ({command}) & (echo {MARK_END}{i}:!ERRORLEVEL!)"


def oneline_chunks(commands: list[str]) -> list[list[str]]:
    """Split *commands* so that each chunk's one-line form stays under ONELINE_LIMIT."""
    chunks: list[list[str]] = [[]]
    size = 0
    for c in commands:
        part = len(_oneline_parts(len(chunks[-1]), c)) + 3
        if part > ONELINE_LIMIT:
            raise ValueError(f"command too long for one cmd.exe line: {c[:60]}...")
        if chunks[-1] and size + part > ONELINE_LIMIT:
            chunks.append([])
            size = 0
        chunks[-1].append(c)
        size += part
    return chunks


def oneline_command(commands: list[str]) -> str:
    """``cmd /d /v:on /c "..."``: the commands in order, each with its markers and own exit code."""
    body = " & ".join(_oneline_parts(i, c) for i, c in enumerate(commands))
    return f'cmd /d /v:on /c "{body}"'


class SshOptions(Options):
    host: NetHost
    port: Port = 22
    user: Login
    key: Path | None = None  # private key file
    known_hosts: Path  # the node's host key must be listed here
    password_env: EnvName | None = None


@register_transport("ssh")
class SshTransport(Transport):
    """Run batches on a Windows node over SSH (OpenSSH server, cmd.exe shell).

    Args:
        node: the node's name in the guide (as the inventory names it).
        host, port, username: where to log in.
        known_hosts: OpenSSH known_hosts file; the server's host key must be listed in it.
        client_key: private key file for public-key authentication.
        use_agent: authenticate with keys from the ssh-agent (``SSH_AUTH_SOCK`` or *agent_path*).
        passphrase_env: NAME of the environment variable holding *client_key*'s passphrase.
        password_env: NAME of the environment variable holding the login password.
        encoding: the node's OEM code page as a Python codec (``cp932`` for Japanese Windows).
        reader: how the command line copies stdin to the batch file (``more`` or ``findstr``).
        connect_timeout, command_timeout: seconds.
    """

    kind = "ssh"
    Options = SshOptions

    @classmethod
    def from_options(cls, name: str, options: SshOptions) -> "SshTransport":
        return cls(name, host=options.host, port=options.port, username=options.user,
                   known_hosts=options.known_hosts, client_key=options.key, password_env=options.password_env)

    def __init__(
        self,
        node: str,
        host: str,
        *,
        username: str,
        known_hosts: str | os.PathLike[str],
        port: int = 22,
        client_key: str | os.PathLike[str] | None = None,
        use_agent: bool = False,
        agent_path: str | None = None,
        passphrase_env: str | None = None,
        password_env: str | None = None,
        encoding: str = "cp932",
        reader: Reader = "more",
        delivery: str = "oneline",
        connect_timeout: float = 15.0,
        command_timeout: float = 600.0,
    ) -> None:
        super().__init__(node=node)
        if not host:
            raise ValueError("host is required")
        if not 0 < int(port) < 65536:
            raise ValueError(f"port out of range: {port}")
        if reader not in _READERS:
            raise ValueError(f"unknown stdin reader {reader!r} (choose from {sorted(_READERS)})")
        "x".encode(encoding)  # LookupError early for an unknown codec
        self.host = host
        self.port = int(port)
        self.username = username
        self.known_hosts = Path(known_hosts)
        self.client_key = Path(client_key) if client_key is not None else None
        self.use_agent = use_agent
        self.agent_path = agent_path
        self.passphrase_env = passphrase_env
        self.password_env = password_env
        self.encoding = encoding
        self.reader: Reader = reader
        if delivery not in ("oneline", "stdin"):
            raise ValueError(f"unknown delivery {delivery!r} (oneline or stdin)")
        self.delivery = delivery
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        #: seconds the last (re)connect took, for measurements
        self.last_connect_seconds: float | None = None
        self._conn: asyncssh.SSHClientConnection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- presentation -------------------------------------------------------------------------

    @property
    def target(self) -> str:
        """``user@host:port`` as used in messages."""
        return f"{self.username}@{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"SshTransport(node={self.node!r}, target={self.target!r})"

    # -- event loop ---------------------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise TransportError(f"ssh {self.target}: transport is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name=f"ssh-{self.node}", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(timeout)
        except FutureTimeoutError:
            future.cancel()
            raise TransportError(f"ssh {self.target}: no answer within {timeout:g} s") from None

    # -- connection ---------------------------------------------------------------------------

    def _connect_options(self) -> dict[str, Any]:
        if not self.known_hosts.is_file():
            raise TransportError(
                f"ssh {self.host}:{self.port}: known_hosts file not found: {self.known_hosts}"
            )
        opts: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "known_hosts": str(self.known_hosts),
            "config": None,
            "connect_timeout": self.connect_timeout,
        }
        if self.client_key is not None:
            opts["client_keys"] = [str(self.client_key)]
            opts["agent_path"] = self.agent_path if self.use_agent else None
        elif self.use_agent:
            opts["agent_path"] = self.agent_path if self.agent_path else ()
        else:
            opts["client_keys"] = None
            opts["agent_path"] = None
        if self.passphrase_env:
            opts["passphrase"] = _secret_from_env(self.passphrase_env, "key passphrase")
        if self.password_env:
            opts["password"] = _secret_from_env(self.password_env, "password")
        else:
            opts["password"] = None
        return opts

    async def _connection(self) -> asyncssh.SSHClientConnection:
        conn = self._conn
        if conn is not None and not conn.is_closed():
            return conn
        t0 = time.perf_counter()
        try:
            conn = await asyncssh.connect(**self._connect_options())
        except TransportError:
            raise
        except asyncssh.HostKeyNotVerifiable as exc:
            raise TransportError(
                f"ssh {self.host}:{self.port}: host key not accepted "
                f"(not in {self.known_hosts}): {exc.reason}"
            ) from None
        except asyncssh.PermissionDenied as exc:
            raise TransportError(
                f"ssh {self.target}: authentication failed: {exc.reason}"
            ) from None
        except asyncssh.Error as exc:
            raise TransportError(f"ssh {self.host}:{self.port}: {exc.reason}") from None
        except (OSError, asyncio.TimeoutError) as exc:
            if isinstance(exc, OSError) and exc.errno:
                reason = os.strerror(exc.errno)
            elif isinstance(exc, asyncio.TimeoutError):
                reason = f"timed out after {self.connect_timeout:g} s"
            else:
                reason = str(exc)
            raise TransportError(
                f"ssh {self.host}:{self.port}: cannot connect: {reason or type(exc).__name__}"
            ) from None
        self.last_connect_seconds = time.perf_counter() - t0
        log.debug("ssh %s: connected in %.3f s", self.target, self.last_connect_seconds)
        self._conn = conn
        return conn

    def connect(self) -> float:
        """Open the connection now (otherwise the first batch does); return the seconds it took."""
        self._call(self._connection(), self.connect_timeout + 5)
        return self.last_connect_seconds or 0.0

    # -- execution ----------------------------------------------------------------------------

    async def _exec(self, command: str, payload: bytes) -> asyncssh.SSHCompletedProcess:
        conn = await self._connection()
        try:
            return await conn.run(
                command, input=payload, encoding=None, check=False, timeout=self.command_timeout
            )
        except asyncssh.TimeoutError:
            raise TransportError(
                f"ssh {self.target}: batch did not finish within {self.command_timeout:g} s"
            ) from None
        except (asyncssh.Error, OSError) as exc:
            reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            raise TransportError(f"ssh {self.target}: batch failed: {reason}") from None

    def run(self, commands: list[str]) -> BatchResult:
        """Run *commands*: one exec request per command line of at most ONELINE_LIMIT characters."""
        if self.delivery != "oneline" or not commands or not all(c.isascii() for c in commands):
            # non-ASCII text travels on stdin in the node's code page (the exec command line
            # itself is sent as UTF-8): the stdin delivery below
            return super().run(commands)
        t0 = time.perf_counter()
        results: list[CommandResult] = []
        errors: list[str] = []
        for chunk in oneline_chunks(commands):
            line = oneline_command(chunk)
            result = self._call(self._exec(line, b""), self.connect_timeout + self.command_timeout + 10)
            self.round_trips += 1
            out_b = result.stdout if isinstance(result.stdout, bytes) else b""
            err_b = result.stderr if isinstance(result.stderr, bytes) else b""
            results.extend(split_output(chunk, out_b.decode(self.encoding, errors="replace")))
            if err_b:
                errors.append(err_b.decode(self.encoding, errors="replace"))
        return BatchResult(results=results, stderr="".join(errors), seconds=time.perf_counter() - t0)

    def _execute(self, batch_text: str) -> tuple[str, str, int]:
        """Send *batch_text* on stdin of one exec request; return (stdout, stderr, exit code)."""
        if self.reader == "more" and "\t" in batch_text:
            raise ValueError("batch contains a tab, which Windows' MORE would expand to spaces")
        tag = secrets.token_hex(8)
        script = delivery_script(batch_text, f"rb_main_{tag}")
        try:
            payload = script.encode(self.encoding)
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"batch has a character not in the node's code page {self.encoding}: "
                f"{exc.object[exc.start:exc.end]!r}"
            ) from None
        command = delivery_command(f"rb-{tag}.cmd", self.reader)
        result = self._call(
            self._exec(command, payload), self.connect_timeout + self.command_timeout + 10
        )
        out_b = result.stdout if isinstance(result.stdout, bytes) else b""
        err_b = result.stderr if isinstance(result.stderr, bytes) else b""
        stdout = out_b.decode(self.encoding, errors="replace")
        stderr = err_b.decode(self.encoding, errors="replace")
        stdout, marked_rc = split_exit_marker(stdout)
        status = result.exit_status if result.exit_status is not None else -1
        return stdout, stderr, marked_rc if marked_rc is not None else status

    # -- lifetime -----------------------------------------------------------------------------

    async def _aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            await conn.wait_closed()

    def close(self) -> None:
        """Close the connection and stop the loop thread; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._aclose(), loop).result(10)
        except Exception:  # noqa: BLE001 - closing must not raise
            log.debug("ssh %s: error while closing", self.target, exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(10)
        loop.close()


def _secret_from_env(name: str, what: str) -> str:
    """The value of environment variable *name*; the error names the variable, not the value."""
    value = os.environ.get(name)
    if value is None:
        raise TransportError(f"{what} environment variable {name} is not set")
    return value
