"""Where a DNS server's TSIG secret comes from: the environment variable the inventory names
(``key_secret_env``) or a key file it names (``key_secret_file``), exactly one of them.

A key file is held to what ssh asks of a private key: a regular file owned by the user who runs
the engine, neither readable nor writable by group or others (``mode & 0o077 == 0``). It holds the
base64 secret (a trailing newline is fine), or a BIND key statement as ``tsig-keygen`` prints it
(``key "NAME" { algorithm ALG; secret "BASE64"; };``), whose name and algorithm must then be the
inventory's ``key_name`` and ``algorithm``.

The secret is read when an update is signed (:meth:`TsigSecret.read`) and checked before a run
(:meth:`TsigSecret.problem`). A message names the variable or the file, never anything of the
value; a key file's content other than a BIND statement's key name and algorithm is never shown.
"""
from __future__ import annotations

import base64
import binascii
import os
import pwd
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from runbook_engine.engine.messages import Said

#: a key file larger than this is not a key file (a tsig-keygen hmac-sha512 key is ~150 bytes)
MAX_KEY_FILE = 64 * 1024

# a BIND key statement: full-line comments (# or //) aside, nothing else in the file. "//" is
# only a comment at the start of a line: a base64 secret may hold "//".
_COMMENT_LINE = re.compile(r"^\s*(#|//).*$", re.M)
_KEY_STATEMENT = re.compile(r'\s*key\s+"?([A-Za-z0-9._-]+?)\.?"?\s*\{([^{}]*)\}\s*;?\s*')
_KEY_ALGORITHM = re.compile(r'(?:^|[\s;])algorithm\s+"?([A-Za-z0-9-]+)"?\s*;')
_KEY_SECRET = re.compile(r'(?:^|[\s;])secret\s+"([^"]*)"\s*;')


class TsigSecretError(Exception):
    """The TSIG secret cannot be used (one line naming where it is, never its value); *said*
    words the common ones (a variable unset, not base64, empty) by label for a person."""

    def __init__(self, text: str, said: Said | None = None):
        super().__init__(text)
        self.said = said


def _owner(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _open_to(mode: int) -> str:
    """What group or others may do with a file of *mode* ("readable", "readable or writable", ...)."""
    words = [w for bits, w in ((0o044, "readable"), (0o022, "writable"), (0o011, "executable")) if mode & bits]
    return " or ".join(words)


def _decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True)
class TsigSecret:
    """The name of the environment variable (*env*) or the path of the key file (*file*) that
    holds a TSIG secret. The file's path is absolute (the inventory loader resolves it)."""

    env: str | None = None
    file: Path | None = None

    def __post_init__(self):
        if (self.env is None) == (self.file is None):
            raise ValueError("a TSIG secret is named by an environment variable or by a key file, exactly one")

    @property
    def option(self) -> str:
        """The inventory key that names it."""
        return "key_secret_file" if self.file is not None else "key_secret_env"

    @property
    def where(self) -> str:
        """Where it is, for a message: the variable's name or ``key file PATH``."""
        return f"key file {self.file}" if self.file is not None else str(self.env)

    def problem(self, key_name: str, algorithm: str) -> str | None:
        """Why the secret cannot be used for key *key_name* (*algorithm*), or None."""
        try:
            self.read(key_name, algorithm)
        except TsigSecretError as exc:
            return str(exc)
        return None

    def said(self, key_name: str, algorithm: str) -> Said | str | None:
        """:meth:`problem` for a person: by label where there is one, else the English line."""
        try:
            self.read(key_name, algorithm)
        except TsigSecretError as exc:
            return exc.said or str(exc)
        return None

    def read(self, key_name: str, algorithm: str) -> bytes:
        """The secret's bytes; :class:`TsigSecretError` says why not."""
        return self._from_file(key_name, algorithm) if self.file is not None else self._from_env()

    def _from_env(self) -> bytes:
        value = os.environ.get(str(self.env))
        if not value:
            raise TsigSecretError(f"TSIG secret environment variable {self.env} is not set",
                                  Said.of("error-secret-unset", env=str(self.env)))
        raw = _decode(value)
        if raw is None:
            raise TsigSecretError(f"TSIG secret in {self.env} is not valid base64",
                                  Said.of("error-secret-not-base64", env=str(self.env)))
        if not raw:
            raise TsigSecretError(f"TSIG secret in {self.env} is empty", Said.of("error-secret-empty", env=str(self.env)))
        return raw

    def _from_file(self, key_name: str, algorithm: str) -> bytes:
        what = f"TSIG key file {self.file}"
        try:  # opened first, then checked through the descriptor: what is checked is what is read
            fd = os.open(self.file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise TsigSecretError(f"{what} does not exist") from None
        except OSError as exc:
            raise TsigSecretError(f"{what} cannot be read: {os.strerror(exc.errno) if exc.errno else exc}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise TsigSecretError(f"{what} is not a regular file")
            if st.st_uid != os.geteuid():
                raise TsigSecretError(f"{what} is owned by {_owner(st.st_uid)}, not by {_owner(os.geteuid())} "
                                      "who runs the engine; give it to that user (chown)")
            mode = stat.S_IMODE(st.st_mode)
            if mode & 0o077:
                raise TsigSecretError(f"{what} is {_open_to(mode)} by group or others (mode {mode:04o}); chmod 600 it")
            if st.st_size > MAX_KEY_FILE:
                raise TsigSecretError(f"{what} is too large for a key file ({st.st_size} bytes)")
            data = b""
            while len(data) <= MAX_KEY_FILE and (chunk := os.read(fd, 8192)):
                data += chunk
        finally:
            os.close(fd)
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            text = None
        if text is not None and not text.strip():
            raise TsigSecretError(f"{what} is empty")
        statement = _KEY_STATEMENT.fullmatch(_COMMENT_LINE.sub("", text)) if text is not None else None
        if statement is not None:
            return self._from_statement(what, statement, key_name, algorithm)
        raw = _decode(text) if text is not None else None
        if raw is None:
            raise TsigSecretError(f"{what} holds neither a base64 secret nor a BIND key statement "
                                  '(key "NAME" { algorithm ALGORITHM; secret "BASE64"; };)')
        if not raw:
            raise TsigSecretError(f"{what} holds an empty secret")
        return raw

    @staticmethod
    def _from_statement(what: str, statement: re.Match, key_name: str, algorithm: str) -> bytes:
        name, body = statement.group(1), statement.group(2)
        if name.lower() != key_name.rstrip(".").lower():
            raise TsigSecretError(f"{what} holds key '{name}', but the inventory's key_name is '{key_name}'")
        alg = _KEY_ALGORITHM.search(body)
        if alg is None or alg.group(1).lower() != algorithm.lower():
            said = f"algorithm {alg.group(1)}" if alg else "no algorithm"
            raise TsigSecretError(f"{what} says {said} for key '{name}', but the inventory's algorithm is {algorithm}")
        secret = _KEY_SECRET.search(body)
        raw = _decode(secret.group(1)) if secret else None
        if raw is None:
            raise TsigSecretError(f"{what} holds key '{name}' with no valid base64 secret")
        if not raw:
            raise TsigSecretError(f"{what} holds key '{name}' with an empty secret")
        return raw
