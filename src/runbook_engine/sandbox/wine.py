"""The sandbox cluster: N Wine prefixes shaped like freshly installed Windows nodes.

Layout under *root* (default ``.runbook/sandbox/``)::

    natives/                 compiled helper programs (cached by source hash)
    templates/<digest>/      one template prefix per NodeImage digest (.rb-image.json stamp)
    nodes/<name>/            one prefix per node, cloned from the template
    inventory.yaml           the nodes, as ``transport: wine`` + ``prefix:``

Everything is built under a temporary name and renamed into place, so an interrupted run leaves
no half-built template or node behind; repeating a call with the same image is a no-op.

A template prefix has: Wine's ``wineboot -i`` state with locale ``ja_JP.UTF-8`` (code page 932,
compiled into the prefix, see :func:`~.transports.wine.ensure_locale`); our ``sc.exe``,
``certutil.exe`` and ``fsutil.exe`` in ``system32``; the ARM stubs in ``C:\\CLUSTERPRO\\bin``;
``rbsvc.exe`` in ``C:\\CLUSTERPRO\\sandbox``; the image's services (AUTO_START, run by
rbsvc.exe), registry keys, directories and Windows version / product name.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from runbook_engine.sandbox.native.build import ARM_STUB_NAMES, COMMAND_STUB, build_natives, sources_hash
from runbook_engine.engine.transports.wineprefix import SYSTEM32_TOOLS
from runbook_engine.engine.transports.wine import WineTransport
from runbook_engine.engine.transports.wineprefix import ARM_BIN_DIR, NO_ASLR, SERVICE_DIR, WINE, wine_argv, ensure_locale, resolve_case, ensure_wineserver, node_env, stop_wineserver, warm_log, windows_to_unix, wineserver_processes

DEFAULT_ROOT = Path(".runbook/sandbox")
#: Bump when the template recipe changes in a way the image digest cannot see.
TEMPLATE_FORMAT = 1
STAMP = ".rb-image.json"
NODE_STAMP = ".rb-node.json"
SANDBOX_SC_MARKER = "runbook-engine sandbox sc.exe"

#: The Windows Server releases a sandbox node can be, oldest first: the winecfg version Wine
#: emulates and the ProductName a real installation shows (Wine writes its own "Microsoft Windows
#: 2003"-style names, which no real server has). One winecfg version serves several releases.
SERVER_IMAGES: tuple[tuple[str, str], ...] = (
    ("win2003", "Microsoft Windows Server 2003"),
    ("win2008", "Windows Server (R) 2008 Enterprise"),
    ("win2008r2", "Windows Server 2008 R2 Enterprise"),
    ("win81", "Windows Server 2012 R2 Standard"),
    ("win10", "Windows Server 2016 Standard"),
    ("win10", "Windows Server 2019 Standard"),
    ("win10", "Windows Server 2022 Standard"),
)
#: The ProductName of a winecfg version when the image names none: its oldest release.
PRODUCT_NAMES: dict[str, str] = {version: name for version, name in reversed(SERVER_IMAGES)}

__all__ = [
    "DEFAULT_ROOT", "NodeImage", "SandboxError", "clone_prefix", "create_sandbox",
    "create_template", "destroy_sandbox", "install_clusterpro", "install_command_stubs", "node_env", "node_transport",
]

#: Where clpgrp.exe reads a failover group's active server (one file a group, see clpgrp.c).
GROUP_STATE_DIR = SERVICE_DIR + r"\groups"


class SandboxError(RuntimeError):
    """Building the template or a node failed (with the Wine output that says why)."""


@dataclass
class NodeImage:
    """What a freshly installed node looks like. Plain data: no project model import.

    ``services``: ``(name, display name)`` registered AUTO_START with rbsvc.exe.
    ``registry_keys``: ``(key, {value name: REG_SZ data})``, e.g.
    ``("HKLM\\\\SOFTWARE\\\\NEC\\\\ExpressMail", {"InstallDir": "C:\\\\ExpressMail"})``.
    ``windows_version``: a winecfg version name (``win2003``, ``win2008``, ``win2008r2``...).
    ``product_name``: the ProductName to show (default: :data:`PRODUCT_NAMES` for the version).
    ``dirs``: Windows directories to create.
    ``drives``: further drive letters (``E:``), each a folder of the prefix (``drive_e``) that
    Wine reports as a fixed NTFS drive, as a data partition is on a real server.
    """

    services: list[tuple[str, str]] = field(default_factory=list)
    registry_keys: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    windows_version: str = "win2003"
    dirs: list[str] = field(default_factory=list)
    product_name: str | None = None
    drives: list[str] = field(default_factory=list)

    def effective_product_name(self) -> str | None:
        """The ProductName written into the template (None: leave Wine's)."""
        return self.product_name or PRODUCT_NAMES.get(self.windows_version)

    def digest(self) -> str:
        """Hash of the image, the native sources, the Wine version and the template recipe."""
        payload = {
            "image": asdict(self),
            "natives": sources_hash(),
            "wine": _wine_version(),
            "format": TEMPLATE_FORMAT,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _wine_version() -> str:
    proc = subprocess.run([WINE, "--version"], capture_output=True, text=True, check=False)
    return proc.stdout.strip()


# --- batch lines for the image ---------------------------------------------------------------

def _check_text(what: str, text: str) -> None:
    bad = set(text) & set('"%\r\n')
    if bad:
        raise ValueError(f"{what} {text!r} contains characters not allowed here: {sorted(bad)}")


def _quoted_arg(text: str) -> str:
    """``"text"`` for a command-line argument; trailing backslashes doubled (``\\"`` escapes)."""
    stripped = text.rstrip("\\")
    return '"' + stripped + "\\" * (2 * (len(text) - len(stripped))) + '"'


def image_commands(image: NodeImage) -> list[str]:
    """The cmd.exe lines that shape a booted template prefix into *image*."""
    commands = []
    for name, display in image.services:
        _check_text("service name", name)
        _check_text("display name", display)
        if "/" in name or "\\" in name:
            raise ValueError(f"service name {name!r} must not contain slashes")
        # rbsvc.exe learns its name from the service manager (ServiceMain's argv[0]); the name on
        # its command line is only a fallback, left out when the name has spaces (ExpressMail's do)
        arg = "" if " " in name else f" {name}"
        commands.append(
            f'sc create "{name}" binPath= "{SERVICE_DIR}\\rbsvc.exe{arg}" start= auto '
            f'DisplayName= "{display}"'
        )
    for key, values in image.registry_keys:
        _check_text("registry key", key)
        commands.append(f'reg add {_quoted_arg(key)} /f')
        for value_name, data in values.items():
            _check_text("registry value name", value_name)
            _check_text("registry data", data)
            commands.append(
                f"reg add {_quoted_arg(key)} /v {_quoted_arg(value_name)} /t REG_SZ "
                f"/d {_quoted_arg(data)} /f"
            )
    product = image.effective_product_name()
    if product:
        _check_text("product name", product)
        commands.append(
            'reg add "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion" /v ProductName '
            f"/t REG_SZ /d {_quoted_arg(product)} /f"
        )
    return commands


# --- template --------------------------------------------------------------------------------

def _read_stamp(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _remove_prefix_dir(path: Path) -> None:
    """Stop the prefix's wineserver (if any) and delete the directory."""
    if path.is_dir():
        stop_wineserver(path)
        shutil.rmtree(path)


def _install_natives(prefix: Path, natives: dict[str, Path], image: NodeImage) -> None:
    system32 = prefix / "drive_c" / "windows" / "system32"
    for tool in SYSTEM32_TOOLS:
        shutil.copy2(natives[tool], system32 / f"{tool}.exe")
    bin_dir = windows_to_unix(prefix, ARM_BIN_DIR)
    bin_dir.mkdir(parents=True, exist_ok=True)
    for stub in ARM_STUB_NAMES:
        shutil.copy2(natives["armstub"], bin_dir / f"{stub}.exe")
    service_dir = windows_to_unix(prefix, SERVICE_DIR)
    service_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(natives["rbsvc"], service_dir / "rbsvc.exe")
    for drive in image.drives:
        if not re.fullmatch(r"[D-Zd-z]:", drive):
            raise SandboxError(f"bad drive {drive!r}: a letter D to Z and a colon")
        letter = drive[0].lower()
        (prefix / f"drive_{letter}").mkdir(exist_ok=True)
        link = prefix / "dosdevices" / f"{letter}:"
        if not link.is_symlink():
            link.symlink_to(f"../drive_{letter}")  # relative: a clone of the template keeps it
    for directory in image.dirs:
        windows_to_unix(prefix, directory).mkdir(parents=True, exist_ok=True)


def _shape(prefix: Path, image: NodeImage) -> None:
    env = node_env(prefix)
    subprocess.run(
        wine_argv("winecfg", "-v", image.windows_version), env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        timeout=120, check=False,
    )
    transport = WineTransport("template", prefix=prefix)
    commands = ["sc rbsandbox", *image_commands(image)]
    result = transport.run(commands)
    failed = [r for r in result.results if r.rc != 0]
    if failed or SANDBOX_SC_MARKER not in result.results[0].stdout:
        detail = "\n".join(f"{r.command} -> rc {r.rc}\n{r.stdout}" for r in result.results)
        raise SandboxError(f"shaping the template failed:\n{detail}\n{result.stderr}")


def create_template(root: Path, image: NodeImage) -> Path:
    """The template prefix for *image* under ``root/templates`` (built once, then reused).

    Returns the prefix path. A template whose stamp records the same :meth:`NodeImage.digest`
    is reused as is; otherwise it is built in a temporary directory (≈10-20 s, ≈700 MB) with
    its wineserver stopped at the end (registry flushed), then renamed into place. Templates
    of other digests are removed afterwards.
    """
    root = Path(root).resolve()
    digest = image.digest()
    templates = root / "templates"
    final = templates / digest[:16]
    if _read_stamp(final / STAMP).get("digest") == digest:
        return final
    templates.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(root / ".template.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)  # another process may be building the same one
        if _read_stamp(final / STAMP).get("digest") == digest:
            return final
        return _build_template(root, image, digest, final)
    finally:
        os.close(lock_fd)


def _build_template(root: Path, image: NodeImage, digest: str, final: Path) -> Path:
    templates = final.parent
    natives = build_natives(root / "natives")
    tmp = templates / f".tmp-{digest[:16]}-{os.getpid()}"
    _remove_prefix_dir(tmp)
    tmp.mkdir()
    t0 = time.perf_counter()
    try:
        ensure_locale(tmp)
        ensure_wineserver(tmp)  # first start of an empty prefix runs wineboot --init
        if not (tmp / "drive_c" / "windows" / "system32").is_dir():
            log = warm_log(tmp)
            tail = log.read_bytes()[-600:].decode("utf-8", "replace").strip() if log.exists() else "(no log)"
            raise SandboxError(f"wineboot did not initialise {tmp}; Wine said: {tail}")
        _install_natives(tmp, natives, image)
        _shape(tmp, image)
        stop_wineserver(tmp)
        registry = (tmp / "system.reg").read_text(encoding="utf-8", errors="replace")
        missing = [n for n, _ in image.services if f"\\\\Services\\\\{n}]" not in registry]
        if missing:
            raise SandboxError(f"services missing from the flushed registry: {missing}")
        stamp = {
            "digest": digest,
            "image": asdict(image),
            "wine": _wine_version(),
            "seconds": round(time.perf_counter() - t0, 2),
        }
        (tmp / STAMP).write_text(json.dumps(stamp, indent=2, ensure_ascii=False))
        _remove_prefix_dir(final)
        os.replace(tmp, final)
    except BaseException:
        _remove_prefix_dir(tmp)
        raise
    for other in templates.iterdir():
        if other != final and not other.name.startswith(".tmp-"):
            _remove_prefix_dir(other)
    return final


# --- nodes -----------------------------------------------------------------------------------

_PE_SUFFIXES = {".dll", ".exe", ".drv", ".sys", ".ocx", ".cpl", ".acm", ".ax", ".tlb", ".ds",
                ".msstyles", ".com", ".mui", ".nls", ".ttf", ".fon"}


def _link_or_copy(template: Path):
    """copy_function for copytree: hard-link immutable binaries under windows/, copy the rest."""
    windows = (template / "drive_c" / "windows").resolve()

    def copy(src: str, dst: str) -> str:
        path = Path(src)
        if path.suffix.lower() in _PE_SUFFIXES and windows in path.resolve().parents:
            os.link(src, dst)
            return dst
        return shutil.copy2(src, dst)

    return copy


def clone_prefix(template: Path, dest: Path, mode: str = "copy") -> Path:
    """Clone *template* to *dest* (which must not exist); returns *dest*.

    ``mode``: ``"copy"`` - ``cp -a --reflink=auto`` (copy-on-write where the file system can,
    a full copy on ext4: ≈2 s for 700 MB); ``"hardlink"`` - hard-link the binaries under
    ``drive_c/windows`` (dll/exe/nls/fonts..., never written by Wine at run time) and copy
    everything else, including the registry files Wine rewrites (≈0.1 s). A script that
    overwrites a system binary in place would change the template too in that mode.
    """
    template, dest = Path(template), Path(dest)
    if dest.exists():
        raise FileExistsError(dest)
    if wineserver_processes(template):
        raise SandboxError(f"template {template} has a running wineserver; refusing to clone")
    if mode == "copy":
        subprocess.run(["cp", "-a", "--reflink=auto", str(template), str(dest)], check=True)
    elif mode == "hardlink":
        shutil.copytree(template, dest, symlinks=True, copy_function=_link_or_copy(template))
    else:
        raise ValueError(f"unknown clone mode {mode!r}")
    (dest / ".rb-wineserver.lock").unlink(missing_ok=True)
    (dest / ".rb-warm").unlink(missing_ok=True)  # names the template's server, not this node's
    return dest


def create_sandbox(root: Path, image: NodeImage, nodes: list[str], *, mode: str = "copy",
                   fresh: bool = False) -> dict[str, Path]:
    """One prefix per node name under ``root/nodes``, cloned from the template; ``{name: prefix}``.

    A node already cloned from the current template is kept (its state too) unless *fresh*.
    Stale wineservers of re-created nodes are stopped first. Writes ``root/inventory.yaml``.
    """
    root = Path(root).resolve()
    template = create_template(root, image)
    digest = _read_stamp(template / STAMP)["digest"]
    nodes_dir = root / "nodes"
    nodes_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Path] = {}
    for name in nodes:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"bad node name {name!r}")
        prefix = nodes_dir / name
        if not fresh and _read_stamp(prefix / NODE_STAMP).get("template") == digest:
            result[name] = prefix
            continue
        _remove_prefix_dir(prefix)
        tmp = nodes_dir / f".tmp-{name}-{os.getpid()}"
        _remove_prefix_dir(tmp)
        try:
            clone_prefix(template, tmp, mode)
            (tmp / NODE_STAMP).write_text(json.dumps({"node": name, "template": digest}))
            os.replace(tmp, prefix)
        except BaseException:
            _remove_prefix_dir(tmp)
            raise
        result[name] = prefix
    _write_inventory(root, result)
    return result


def _write_inventory(root: Path, nodes: dict[str, Path]) -> None:
    data = {
        "nodes": [
            {"name": name, "transport": "wine", "prefix": str(prefix)}
            for name, prefix in nodes.items()
        ]
    }
    tmp = root / f".inventory.{os.getpid()}.yaml"
    tmp.write_text("# written by runbook_engine.sandbox.wine\n"
                   + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    os.replace(tmp, root / "inventory.yaml")


def destroy_sandbox(root: Path, *, templates: bool = False) -> None:
    """Stop every node's wineserver and delete the nodes and the inventory (and the templates
    too if *templates*; the compiled natives are kept)."""
    root = Path(root).resolve()
    nodes_dir = root / "nodes"
    if nodes_dir.is_dir():
        for prefix in nodes_dir.iterdir():
            _remove_prefix_dir(prefix)
        shutil.rmtree(nodes_dir, ignore_errors=True)
    (root / "inventory.yaml").unlink(missing_ok=True)
    if templates and (root / "templates").is_dir():
        for prefix in (root / "templates").iterdir():
            _remove_prefix_dir(prefix)
        shutil.rmtree(root / "templates", ignore_errors=True)


def install_clusterpro(root: Path, prefix: Path, groups: dict[str, str] | None) -> None:
    """Make CLUSTERPRO "installed" on the node at *prefix*: ``clpgrp.exe`` on its PATH and one
    state file a group naming the server it is active on (``{group: server}``; the same on every
    node). ``groups=None`` removes both: a node before the cluster is installed (clpgrp absent)."""
    exe = windows_to_unix(prefix, ARM_BIN_DIR) / "clpgrp.exe"
    state = windows_to_unix(prefix, SERVICE_DIR) / "groups"
    if groups is None:
        exe.unlink(missing_ok=True)
        shutil.rmtree(state, ignore_errors=True)
        return
    natives = build_natives(Path(root).resolve() / "natives")
    shutil.copy2(natives["clpgrp"], exe)
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    for group, server in groups.items():
        if "/" in group or "\\" in group or group.startswith("."):
            raise ValueError(f"bad group name {group!r}")
        (state / f"{group}.txt").write_bytes(server.encode("ascii") + b"\r\n")


def install_command_stubs(natives_dir: Path, prefix: Path, programs: list[str]) -> list[Path]:
    """Put a recording stub (``cmdstub.exe``) on the node's PATH (``C:\\CLUSTERPRO\\bin``) under
    each name of *programs* (the first words of a guide's commands, bare names): the programs a
    START.BAT / STOP.BAT runs from its data then append their argv to ``%RB_ARM_TRACE%`` like
    the ARM stubs and exit with ``%RB_STUB_EXIT_<NAME>%``. A name an ARM stub already has is left
    to it; a name that is a program of Wine's own Windows folder is refused (cmd.exe would find
    that one first on PATH, and the proof would watch the wrong program). Returns the files
    written. *natives_dir* is where the stub is built (cached by source hash)."""
    bin_dir = windows_to_unix(prefix, ARM_BIN_DIR)
    windows = prefix / "drive_c" / "windows"
    stub: Path | None = None
    written: list[Path] = []
    for program in programs:
        name = program[:-4] if program.lower().endswith((".exe", ".com")) else program
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name) or name.startswith("."):
            raise SandboxError(f"bad program name {program!r}: a bare name")
        for folder in (windows / "system32", windows):
            found = resolve_case(folder, [f"{name}.exe"])
            if found.exists():
                raise SandboxError(f"{program}: the node already has {found.name} in {folder.name}, "
                                   "which cmd.exe finds before the stub")
        target = resolve_case(bin_dir, [f"{name}.exe"])
        if target.exists():
            continue  # an ARM stub (ARMSLEEP...) or a stub already installed
        if stub is None:
            stub = build_natives(Path(natives_dir).resolve(), programs=(COMMAND_STUB,))["cmdstub"]
        shutil.copy2(stub, bin_dir / f"{name}.exe")
        written.append(bin_dir / f"{name}.exe")
    return written


def node_transport(name: str, prefix: Path) -> WineTransport:
    """A :class:`WineTransport` for the sandbox node *name* at *prefix*."""
    return WineTransport(name, prefix=Path(prefix))


# --- an SSH-reachable sandbox node ---------------------------------------------------------------

_FORCE_COMMAND = r"""#!/bin/sh
# ForceCommand wrapper: run the SSH command in Wine's cmd.exe, as OpenSSH on Windows does with
# cmd.exe as its shell (the command goes through a temporary .cmd file: handing it to `wine cmd /c`
# as one argument mangles inner quotes).
{exports}
if [ -z "$SSH_ORIGINAL_COMMAND" ]; then
    echo "this node only accepts exec requests" >&2
    exit 1
fi
f=$(mktemp '{spool}/c-XXXXXXXX.cmd') || exit 255
printf '@echo off\r\n%s\r\n' "$SSH_ORIGINAL_COMMAND" > "$f"
winpath="Z:$(printf '%s' "$f" | tr / '\\')"
{no_aslr} wine cmd /c "$winpath"
rc=$?
rm -f "$f"
exit $rc
"""

_WINE_VARS = ("WINEPREFIX", "WINEDEBUG", "LC_ALL", "LANG", "LOCPATH", "WINEDLLOVERRIDES", "WINEPATH")


def force_command_script(wine_env: dict[str, str], spool: Path) -> str:
    """The sshd ForceCommand script that makes a Wine prefix an SSH-reachable Windows-like node
    (used by the tests and the benchmarks)."""
    import shlex

    exports = "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in wine_env.items() if k in _WINE_VARS)
    return _FORCE_COMMAND.format(exports=exports, spool=spool, no_aslr=" ".join(NO_ASLR))
