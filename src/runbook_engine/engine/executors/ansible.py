"""Executor ``ansible``: each round trip of a run is ONE ansible-runner call for all its nodes.

The runner's targets hand their batches to a :class:`~runbook_engine.engine.executors.RoundBarrier`;
when the round is complete, one ``ansible-playbook`` run (through ansible-runner, forks = hosts)
carries every node's batch with ``ansible.builtin.raw`` and the output comes back to the same
facts, plans, journal and reports as with the native executor:

* **what travels** is the engine's own batch, in the form its native transport sends it: for a
  cmd.exe node (``ssh``) the SSH transport's one-line ``cmd /d /v:on /c "…"`` (several lines when
  the batch exceeds one cmd.exe line: a loop over them, each one exec request and one round trip,
  as natively); for a POSIX node (``ssh-posix``) ``posix.wrap_batch`` under
  ``env -i PATH=… LANG=… /bin/sh -c '…'`` (raw has no stdin; the login shell hands the quoted batch
  to sh). Each host's lines are a host variable (``rb_lines``, tagged ``!unsafe``: never templated).
* **what comes back**: each host's stdout, split by the engine's markers (exit codes come from the
  markers, not from SSH, whose codes are cut to 8 bits). Ansible hands non-UTF-8 output over as
  surrogate escapes; ``.encode("utf-8", "surrogateescape")`` gives the node's bytes back, decoded
  as the native transport decodes them (CP932 for cmd.exe nodes, UTF-8 for POSIX ones).
* **an unreachable host** (connection refused, host key not accepted, authentication failed) is a
  ``TransportError`` for that target only; the other hosts of the round go on.
* **round trips** are counted as the native transports count them: one per exec request a node
  took part in (one per round, or one per cmd.exe line of a long batch).

The hosts come from the runbook inventory (``ssh`` / ``ssh-posix`` options become ``ansible_host``,
``ansible_port``, ``ansible_user``, ``ansible_ssh_private_key_file``, host keys checked against the
node's ``known_hosts`` with ``StrictHostKeyChecking=yes``) or from the user's own Ansible inventory
(*inventory_file*: its hosts named as the runbook nodes, its connection variables, groups, vault
and plugins as they are). DNS servers (``rfc2136``) are reached in-process as natively: Ansible's
own ``nsupdate`` module runs on the controller too.

Secrets: nothing secret is written for ansible-runner. Its private data dir (one per round, deleted
afterwards) holds the playbook and the hosts' variables only; the environment handed to it (which
ansible-runner records in that dir) is this process's minus every variable an inventory names as a
secret (``environ.secret_names``); a TSIG key file (``key_secret_file``) is read in-process by the
DNS update, never named to ansible-runner. An SSH password (``password_env``) is typed into Ansible's
``--ask-pass`` prompt by ansible-runner's pexpect from memory.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from runbook_engine.engine.executors import Executor, RoundBarrier, register_executor
from runbook_engine.engine.targets import Target
from runbook_engine.engine.transports import posix, transport_class
from runbook_engine.engine.transports.base import BatchResult, CommandResult, Transport, TransportError, split_output, wrap_batch
from runbook_engine.engine.transports.environ import secret_names
from runbook_engine.engine.transports.ssh import oneline_chunks, oneline_command
from runbook_engine.model.errors import unknown

#: the runbook transports whose options say how Ansible reaches the node over SSH
SSH_TRANSPORTS = ("ssh", "ssh-posix")
#: how the node's output is decoded, by its shell (as the ssh and ssh-posix transports decode it)
ENCODINGS = {"cmd": "cp932", "sh": "utf-8"}
#: what the raw command runs on a POSIX node: a clean environment, then sh with the batch
POSIX_PREFIX = "env -i " + " ".join(f"{k}={shlex.quote(v)}" for k, v in posix.BATCH_ENV.items()) + " /bin/sh -c "
#: one argument of a Linux exec is at most 128 KiB (MAX_ARG_STRLEN); the login shell gets the whole line
POSIX_LIMIT = 120_000
#: the prompt of ``ansible-playbook --ask-pass`` that ansible-runner answers from memory
ASK_PASS = r"SSH password:\s*?$"
#: the variable that carries a host's command lines
LINES_VAR = "rb_lines"


class _Unsafe(str):
    """A value Ansible must never template (dumped as ``!unsafe``)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Unsafe, lambda d, v: d.represent_scalar("!unsafe", str(v), style='"'))

PLAYBOOK = [{
    "name": "runbook_engine: one round trip",
    "hosts": "all",
    "gather_facts": False,
    "tasks": [{
        "name": "The engine's batch (raw, with the engine's markers)",
        "ansible.builtin.raw": "{{ item }}",
        "loop": "{{ " + LINES_VAR + " }}",
        "loop_control": {"index_var": "rb_index", "label": "{{ rb_index }}"},
        # stdout and stderr apart, as the native transports read them (a pty would merge them)
        "vars": {"ansible_ssh_use_tty": False},
    }],
}]


def node_bytes(text: str | None) -> bytes:
    """The bytes a node wrote, from the text Ansible reports (non-UTF-8 bytes as surrogate escapes)."""
    return (text or "").encode("utf-8", "surrogateescape")


def raw_lines(shell: str, commands: list[str]) -> tuple[list[str], list[list[str]]]:
    """The raw command line(s) that run *commands* on a node of *shell*, and the commands each one
    carries (a cmd.exe batch longer than one command line is several lines, as natively)."""
    if shell == "cmd":
        if not all(c.isascii() for c in commands):
            # natively such a batch travels on stdin in the node's code page; raw has no stdin and
            # its command line reaches the node as UTF-8
            raise ValueError("a command with non-ASCII text cannot travel through ansible raw to a cmd.exe node "
                             "(use the native executor for this node)")
        chunks = oneline_chunks(commands)
        return [oneline_command(c) for c in chunks], chunks
    if shell == "sh":
        line = POSIX_PREFIX + shlex.quote(posix.wrap_batch(commands))
        if len(line.encode("utf-8")) > POSIX_LIMIT:
            raise ValueError(f"the batch ({len(line)} characters) is longer than one command line may be "
                             f"({POSIX_LIMIT}); use the native executor (ssh-posix sends it on stdin)")
        return [line], [list(commands)]
    raise ValueError(f"no raw form for a node whose shell is {shell!r}")


def host_vars(target: Target, shell: str) -> dict[str, Any]:
    """How Ansible reaches an ``ssh`` / ``ssh-posix`` node of the runbook inventory."""
    o = target.options
    args = [f"-o UserKnownHostsFile={shlex.quote(str(o.known_hosts))}", "-o StrictHostKeyChecking=yes"]
    out: dict[str, Any] = {"ansible_connection": "ssh", "ansible_host": str(o.host), "ansible_port": o.port,
                           "ansible_user": o.user, "ansible_host_key_checking": True, "ansible_timeout": 15}
    if o.key is not None:
        out["ansible_ssh_private_key_file"] = str(o.key)
        args.append("-o IdentitiesOnly=yes")  # the inventory's key only, as the native transport uses it
    out["ansible_ssh_common_args"] = " ".join(args)
    # one SSH connection per node, kept between rounds (ControlPersist) as the native transport keeps
    # its own: keyed by everything that was checked when it was opened, so that a node with another
    # known_hosts file or key never rides on a connection another node's check opened
    key = "|".join(map(str, (target.name, o.host, o.port, o.user, o.known_hosts, o.key)))
    out["ansible_control_path"] = "%(directory)s/" + hashlib.sha256(key.encode()).hexdigest()[:12]
    if shell == "cmd":
        out["ansible_shell_type"] = "cmd"
    else:
        out["ansible_shell_type"] = "sh"
        out["ansible_python_interpreter"] = "/usr/bin/python3"  # never discovered (raw needs none)
    return out


def ansible_bin_dir() -> Path:
    """Where this Python's Ansible programs are (the [ansible] extra's venv)."""
    return Path(sys.executable).parent


def _path() -> str:
    return f"{ansible_bin_dir()}{os.pathsep}{os.environ.get('PATH', os.defpath)}"


def _program(name: str) -> str:
    found = shutil.which(name, path=_path())
    if found is None:
        raise ValueError(f"executor 'ansible' needs {name}: install the [ansible] extra (pip install '.[ansible]')")
    return found


def inventory_hosts(inventory_file: Path) -> set[str]:
    """The host names of an Ansible inventory (file, folder or plugin config), as ``ansible-inventory``
    reads it."""
    res = subprocess.run([_program("ansible-inventory"), "-i", str(inventory_file), "--list"],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                         env={**clean_environ(), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"})
    if res.returncode != 0:
        why = (res.stderr.strip().splitlines() or ["no message"])[-1]
        raise ValueError(f"--ansible-inventory {inventory_file}: ansible-inventory cannot read it: {why}")
    data = json.loads(res.stdout)
    hosts = set(data.get("_meta", {}).get("hostvars", {}))
    for group in data.values():
        if isinstance(group, dict):
            hosts.update(group.get("hosts", []))
    return hosts


def clean_environ() -> dict[str, str]:
    """This process's environment without any variable an inventory names as a secret."""
    secret = secret_names()
    return {k: v for k, v in os.environ.items() if k not in secret}


def _one_line(msg: str) -> str:
    """Ansible's (ssh's) message as one line: its first line and, when there are more, its last."""
    lines = [ln.strip() for ln in re.sub(r"@{3,}", "", msg).splitlines() if ln.strip()]
    first = re.sub(r"^Task failed:\s*", "", lines[0]) if lines else "unreachable"
    return first if len(lines) < 2 else f"{first} ... {lines[-1]}"


class _Node(Transport):
    """A node whose batches go through the executor's round (one ansible-runner call per round)."""

    kind = "ansible"

    def __init__(self, node: str, shell: str, executor: "AnsibleExecutor"):
        super().__init__(node)
        self.shell = shell
        self.executor = executor
        self.encoding = ENCODINGS[shell]

    def wrap(self, commands: list[str]) -> str:
        return posix.wrap_batch(commands) if self.shell == "sh" else wrap_batch(commands)

    def run(self, commands: list[str]) -> BatchResult:
        if not commands:
            return BatchResult(results=[])
        lines, chunks = raw_lines(self.shell, commands)
        t0 = time.perf_counter()
        answers = self.executor.submit(self.node, lines)
        self.round_trips += len(lines)  # one exec request per line, as the native transport counts
        results: list[CommandResult] = []
        errors: list[str] = []
        for chunk, (out, err) in zip(chunks, answers):
            results.extend(split_output(chunk, node_bytes(out).decode(self.encoding, errors="replace")))
            if err:
                errors.append(node_bytes(err).decode(self.encoding, errors="replace"))
        return BatchResult(results=results, stderr="".join(errors), seconds=time.perf_counter() - t0)


@register_executor("ansible")
class AnsibleExecutor(Executor):
    """One ansible-runner call per round trip for every node of the round.

    Args:
        opener: the native transport factory, for targets Ansible does not carry (DNS servers).
        inventory_file: the user's Ansible inventory (hosts named as the runbook nodes); without
            it the hosts are made from the runbook inventory's ``ssh`` / ``ssh-posix`` options.
        timeout: seconds one round may take.
    """

    def __init__(self, opener: Callable[[Target], Transport] | None = None, *,
                 inventory_file: str | os.PathLike[str] | None = None, timeout: float = 900.0):
        try:
            import ansible_runner  # noqa: F401 - the optional extra, needed from the first round
        except ModuleNotFoundError as exc:
            raise ValueError(f"executor 'ansible' needs {exc.name}: install the [ansible] extra "
                             "(pip install '.[ansible]')") from None
        super().__init__(opener)
        self.playbook_program = _program("ansible-playbook")
        self.inventory_file = Path(inventory_file).resolve() if inventory_file is not None else None
        self.user_hosts = inventory_hosts(self.inventory_file) if self.inventory_file else set()
        self.timeout = timeout
        self.work = Path(tempfile.mkdtemp(prefix="rb-ansible-"))  # control sockets, local temp
        self.hosts: dict[str, tuple[str, dict[str, Any], str | None]] = {}  # name -> (shell, vars, password_env)
        self.barrier: RoundBarrier | None = None
        self.calls = 0  # ansible-runner calls made (one per round a node of this executor took part in)
        self._lock = threading.Lock()
        self._closed = False

    # -- which targets go through Ansible --------------------------------------------------------
    def problems(self, targets: list[Target]) -> list[str]:
        """Why some of *targets* cannot go through Ansible (one line each; none when all can)."""
        out = []
        for t in targets:
            if t.node is None or (t.name in self.user_hosts if self.inventory_file else t.transport in SSH_TRANSPORTS):
                continue  # a DNS server (in-process, as natively), a host of the user's inventory, an SSH node
            if self.inventory_file:
                out.append("--ansible-inventory: " + unknown("host", t.name, sorted(self.user_hosts),
                                                             where=f"in {self.inventory_file}"))
            else:
                out.append(f"--executor ansible: node '{t.name}' uses transport {t.transport}, which Ansible does "
                           "not reach from the runbook inventory: give it an ssh or ssh-posix transport, or pass "
                           "--ansible-inventory with a host of that name")
        envs = sorted({t.options.password_env for t in targets if t.node is not None and not self.inventory_file
                       and t.transport in SSH_TRANSPORTS and t.options.password_env})
        if len(envs) > 1:
            out.append(f"--executor ansible: the nodes log in with different passwords ({', '.join(envs)}); Ansible's "
                       "--ask-pass takes one: use keys, one password_env, or --ansible-inventory")
        return out

    def open(self, target: Target) -> Transport:
        if target.node is None:
            return super().open(target)  # DNS servers: the rfc2136 transport, in-process
        shell = transport_class(target.transport).shell
        if self.inventory_file and target.name in self.user_hosts:
            spec: tuple[str, dict[str, Any], str | None] = (shell, {}, None)  # the user's inventory says how
        elif not self.inventory_file and target.transport in SSH_TRANSPORTS:
            spec = (shell, host_vars(target, shell), target.options.password_env)
        else:
            raise TransportError(self.problems([target])[0])
        with self._lock:
            self.hosts[target.name] = spec
        return _Node(target.name, shell, self)

    # -- rounds ---------------------------------------------------------------------------------
    @contextmanager
    def round(self, names: list[str]) -> Iterator[RoundBarrier]:
        barrier = RoundBarrier(names, self._flush)
        self.barrier = barrier
        try:
            yield barrier
        finally:
            self.barrier = None

    def submit(self, name: str, lines: list[str]) -> list[tuple[str, str]]:
        """Hand a node's raw lines to the round (or send them alone outside of one)."""
        barrier = self.barrier
        if barrier is not None and name in barrier.active:
            return barrier.submit(name, lines)
        answer = self._flush({name: lines})[name]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def _flush(self, batch: dict[str, list[str]]) -> dict[str, Any]:
        """ONE ansible-runner call for every host of *batch*: {name: [(stdout, stderr) per line] or
        the exception for that host}."""
        from ansible_runner.config.runner import RunnerConfig
        from ansible_runner.runner import Runner as AnsibleRunner

        names = sorted(batch)
        with self._lock:
            if self._closed:
                raise TransportError("the ansible executor is closed")
            self.calls += 1
            specs = {n: self.hosts[n] for n in names}
        passwords = {env for _s, _v, env in specs.values() if env}
        if len(passwords) > 1:
            raise TransportError(f"nodes of one round log in with different passwords ({', '.join(sorted(passwords))}): "
                                 "Ansible's --ask-pass takes one; use keys, or one password_env")
        secret = None
        if passwords:
            env_name = next(iter(passwords))
            secret = os.environ.get(env_name)
            if secret is None:
                raise TransportError(f"password environment variable {env_name} is not set")
        private = Path(tempfile.mkdtemp(prefix="round-", dir=self.work))
        try:
            hosts = {n: {**specs[n][1], LINES_VAR: [_Unsafe(line) for line in batch[n]]} for n in names}
            inventories = [str(self.inventory_file)] if self.inventory_file else []
            (private / "inventory").mkdir()
            (private / "project").mkdir()
            ours = private / "inventory" / "hosts.yml"
            ours.write_text(yaml.dump({"all": {"hosts": hosts}}, Dumper=_Dumper, allow_unicode=True, width=1 << 30),
                            encoding="utf-8")
            inventories.append(str(ours))
            (private / "project" / "main.yml").write_text(yaml.safe_dump(PLAYBOOK, sort_keys=False), encoding="utf-8")
            envvars = {
                "PATH": _path(), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_HOST_KEY_CHECKING": "True",
                "ANSIBLE_RETRY_FILES_ENABLED": "False", "ANSIBLE_LOCAL_TEMP": str(self.work / "local"),
                "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.work / "cp"), "ANSIBLE_DEPRECATION_WARNINGS": "False",
                "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
            }
            events: list[dict] = []
            said: list[str] = []

            def on_event(ev: dict) -> bool:
                if ev.get("stdout"):
                    said.append(ev["stdout"])
                events.append(ev)
                return False  # kept in memory only

            rc = RunnerConfig(private_data_dir=str(private), playbook="main.yml", inventory=inventories,
                              limit=",".join(names), forks=len(names), quiet=True, suppress_output_file=True,
                              envvars=envvars, timeout=int(self.timeout),
                              cmdline="--ask-pass" if secret is not None else None,
                              passwords={ASK_PASS: secret} if secret is not None else None)
            rc.prepare()
            for name in secret_names():  # ansible-runner writes its environment into the private dir
                rc.env.pop(name, None)
            runner = AnsibleRunner(config=rc, event_handler=on_event)
            status, code = runner.run()
            return self._answers(names, batch, events, status, code, said)
        except TransportError:
            raise
        except Exception as exc:  # noqa: BLE001 - ansible-runner could not run at all: every host of the round
            raise TransportError(f"ansible-runner: {type(exc).__name__}: {exc}") from None
        finally:
            self._discard(private)

    def _discard(self, private: Path) -> None:
        """Remove a round's private data dir (its playbook, the hosts' variables, ansible-runner's
        artifacts)."""
        shutil.rmtree(private, ignore_errors=True)

    @staticmethod
    def _answers(names: list[str], batch: dict[str, list[str]], events: list[dict], status: str, code: int,
                 said: list[str]) -> dict[str, Any]:
        items: dict[str, dict[int, dict]] = {n: {} for n in names}
        unreachable: dict[str, str] = {}
        for ev in events:
            data = ev.get("event_data") or {}
            host, res = data.get("host"), data.get("res") or {}
            if host not in items:
                continue
            kind = ev.get("event")
            if kind in ("runner_item_on_ok", "runner_item_on_failed") and "rb_index" in res:
                items[host][int(res["rb_index"])] = res
            elif kind == "runner_on_unreachable" or res.get("unreachable"):
                # in a loop the task's message is "All items completed": the item says why
                msgs = [r.get("msg") for r in res.get("results", []) if isinstance(r, dict) and r.get("unreachable")]
                unreachable.setdefault(host, _one_line(str((msgs or [res.get("msg")])[0] or "unreachable")))
        tail = " | ".join(line.strip() for line in "".join(said).splitlines()[-6:] if line.strip())
        out: dict[str, Any] = {}
        for n in names:
            if n in unreachable:
                out[n] = TransportError(f"ansible {n}: unreachable: {unreachable[n]}")
                continue
            got = items[n]
            if len(got) != len(batch[n]):
                out[n] = TransportError(f"ansible {n}: no result for {len(batch[n]) - len(got)} of {len(batch[n])} "
                                        f"command line(s) (ansible-runner {status}, rc {code}): {tail[-400:]}")
                continue
            out[n] = [(got[i].get("stdout", ""), got[i].get("stderr", "")) for i in range(len(batch[n]))]
        return out

    # -- lifetime -------------------------------------------------------------------------------
    def close(self) -> None:
        """End the SSH connections Ansible keeps open between rounds (ControlPersist) and remove the
        executor's folder; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        cp = self.work / "cp"
        if cp.is_dir():
            for sock in cp.iterdir():
                subprocess.run(["ssh", "-O", "exit", "-o", f"ControlPath={sock}", "rb-control"], capture_output=True,
                               stdin=subprocess.DEVNULL, timeout=15, check=False)
        shutil.rmtree(self.work, ignore_errors=True)


__all__ = ["AnsibleExecutor", "host_vars", "inventory_hosts", "node_bytes", "raw_lines"]
