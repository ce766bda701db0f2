"""Build the sandbox's native Windows programs with MinGW-w64.

The C sources next to this module are compiled with ``x86_64-w64-mingw32-gcc -O2 -s`` into
``out_dir``. Each result is cached by a hash of its source, flags and compiler version: a program
whose stamp matches is not rebuilt. Results are written to a temporary name and renamed into
place, so an interrupted build never leaves a half-written .exe behind.

What each program is for, and where the sandbox installs it:

* ``armstub.exe`` - copied as every name in :data:`ARM_STUB_NAMES` into ``C:\\CLUSTERPRO\\bin``;
  appends a trace line to ``%RB_ARM_TRACE%``.
* ``cmdstub.exe`` (:data:`COMMAND_STUB`, built on demand, not part of a template) - armstub
  under another ``main``: copied into ``C:\\CLUSTERPRO\\bin`` of a proof node as each program a
  guide's scripts run from its data (``appctl.exe``...); traces like the ARM stubs and exits with
  ``%RB_STUB_EXIT_<NAME>%``.
* ``clpgrp.exe`` - CLUSTERPRO's group command (``-n`` / ``-m … -a``), copied into
  ``C:\\CLUSTERPRO\\bin`` of a node only where the cluster is "installed" (the operation phase).
* ``rbsvc.exe`` - a real service executable (``C:\\CLUSTERPRO\\sandbox``).
* ``sc.exe``, ``certutil.exe``, ``fsutil.exe`` - replace Wine's builtins in ``system32``
  (:data:`SYSTEM32_TOOLS`), selected with ``WINEDLLOVERRIDES``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from runbook_engine.engine.transports.wineprefix import SYSTEM32_TOOLS  # the programs that replace Wine builtins

NATIVE_DIR = Path(__file__).resolve().parent
CC = "x86_64-w64-mingw32-gcc"
CFLAGS: tuple[str, ...] = ("-O2", "-s", "-Wall")


@dataclass(frozen=True)
class NativeProgram:
    """One executable: its source file and the libraries it links."""

    name: str
    source: str
    libs: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()  # other sources it #includes (part of its hash)


PROGRAMS: tuple[NativeProgram, ...] = (
    NativeProgram("armstub", "armstub.c"),
    NativeProgram("rbsvc", "rbsvc.c", ("-ladvapi32",)),
    NativeProgram("sc", "sc.c", ("-ladvapi32",)),
    NativeProgram("certutil", "certutil.c"),
    NativeProgram("fsutil", "fsutil.c"),
    NativeProgram("clpgrp", "clpgrp.c"),
)

#: The stand-in for the programs a guide's Windows scripts run (not in :data:`PROGRAMS`: a
#: template never holds it; :func:`runbook_engine.sandbox.wine.install_command_stubs` builds it).
COMMAND_STUB = NativeProgram("cmdstub", "cmdstub.c", includes=("armstub.c",))

#: Names the ARM stub is installed under (CLUSTERPRO's script commands).
ARM_STUB_NAMES: tuple[str, ...] = (
    "ARMLOAD", "ARMKILL", "ARMBCAST", "ARMFOVER", "ARMSTOP", "ARMGSTRT", "ARMGSTOP",
    "ARMLOG", "ARMSLEEP", "ARMWAITX", "ARMNSADD", "ARMNSDEL", "ARMEM", "ARMDRIVE",
)



class NativeBuildError(RuntimeError):
    """The MinGW compiler is missing or a source failed to compile."""


def find_compiler(cc: str = CC) -> str:
    """Path of the MinGW-w64 C compiler, or a :class:`NativeBuildError` saying how to get it."""
    path = shutil.which(cc)
    if path is None:
        raise NativeBuildError(
            f"{cc} not found: install the Debian package gcc-mingw-w64-x86-64 "
            "(apt-get install gcc-mingw-w64-x86-64)"
        )
    return path


def _compiler_version(cc_path: str) -> str:
    out = subprocess.run([cc_path, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.splitlines()[0] if out.stdout else ""


def program_hash(program: NativeProgram, compiler_version: str = "") -> str:
    """Hash of what determines *program*'s binary: source bytes, flags, libs, compiler."""
    h = hashlib.sha256()
    h.update((NATIVE_DIR / program.source).read_bytes())
    for include in program.includes:
        h.update((NATIVE_DIR / include).read_bytes())
    h.update("\0".join((*CFLAGS, *program.libs, compiler_version)).encode())
    return h.hexdigest()


def sources_hash() -> str:
    """One hash over every native source and the build flags (for caches built on top)."""
    h = hashlib.sha256()
    for program in PROGRAMS:
        h.update(program.name.encode() + b"\0" + program_hash(program).encode())
    return h.hexdigest()


def build_natives(out_dir: Path, *, cc: str = CC,
                  programs: tuple[NativeProgram, ...] = PROGRAMS) -> dict[str, Path]:
    """Compile every program of *programs* into *out_dir*; returns ``{name: path of name.exe}``.

    A program is rebuilt only when its ``.exe`` is missing or its ``.exe.sha256`` stamp does not
    match :func:`program_hash`. Raises :class:`NativeBuildError` if the compiler is missing or a
    compilation fails (with the compiler's messages).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cc_path: str | None = None
    version = ""
    built: dict[str, Path] = {}
    for program in programs:
        exe = out_dir / f"{program.name}.exe"
        stamp = out_dir / f"{program.name}.exe.sha256"
        if cc_path is None:
            cc_path = find_compiler(cc)
            version = _compiler_version(cc_path)
        digest = program_hash(program, version)
        if exe.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
            built[program.name] = exe
            continue
        tmp = out_dir / f".{program.name}.{os.getpid()}.exe"
        cmd = [cc_path, *CFLAGS, "-o", str(tmp), str(NATIVE_DIR / program.source), *program.libs]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not tmp.is_file():
            tmp.unlink(missing_ok=True)
            raise NativeBuildError(
                f"compiling {program.source} failed (rc {proc.returncode}):\n{proc.stderr}"
            )
        os.replace(tmp, exe)
        stamp.write_text(digest + "\n")
        built[program.name] = exe
    return built
