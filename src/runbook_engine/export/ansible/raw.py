"""Flavour ``raw``: ``ansible.builtin.raw`` tasks that carry the engine's own command batches.

Per step and target: one raw task sends the facts' read commands (``read_batch``, exactly what a
plan sends) in the transport's own wrapping (the SSH transport's one-line ``cmd /d /v:on /c "…"``
for a Windows node, ``posix.wrap_batch`` under ``env -i … /bin/sh -c`` for a Linux one), with the
engine's markers; a ``set_fact`` splits the output into ``[index, output, exit code]`` per command.
Each change is the commands the engine's ``plan()`` gives for that difference (computed here by
calling the action's plan with the fact value that differs), sent only ``when`` the read shows the
difference; ``changed_when: true`` when it runs, ``failed_when`` any command's exit code (from the
markers) is not 0. A second run reads the converged state, skips every change: changed=0.

Reads run in ``--check`` (``check_mode: false``; they change nothing); raw changes are skipped
there. What the engine reports as an error row (a service missing that a feature in use needs, a
running service on a standby node, a file that is not a regular file) fails an ``assert``.
"""
from __future__ import annotations

import re
import shlex

from runbook_engine.engine.actions.firewall import layout
from runbook_engine.engine.facts.base import read_batch
from runbook_engine.engine.facts.nft import NftState
from runbook_engine.engine.facts.services import ServiceState
from runbook_engine.engine.facts.shfiles import ABSENT, FILE, FileState
from runbook_engine.engine.facts.units import UnitState
from runbook_engine.engine.transports import posix
from runbook_engine.engine.transports.ssh import oneline_chunks, oneline_command
from runbook_engine.export.ansible import Export, Tasks, translator
from runbook_engine.export.ansible.jinja import any_failed, lit, marks_missing, nft_expected, nft_signature, plain, split_markers
from runbook_engine.export.steps import ExportError, StepExport, TargetPlan

READ, OUT, CHANGE = "runbook_read", "runbook_out", "runbook_change"

#: the environment every POSIX batch starts with (as the ssh-posix transport's exec request)
#: ipconfig's IPv4 line whatever the language of its label (the engine's _IPV4_LINE names them)
IPV4_ANY_LABEL = r"(?i)IP(?:v4)?[^\r\n:]*:\s*\d{1,3}(?:\.\d{1,3}){3}"

POSIX_PREFIX = "env -i " + " ".join(f"{k}={shlex.quote(v)}" for k, v in posix.BATCH_ENV.items()) + " /bin/sh -c "


def wrap(ex: Export, commands: list[str]) -> list[str]:
    """The raw command lines that run *commands* on a node of the inventory's platform, with the
    engine's markers (Windows: several lines when the batch exceeds one cmd.exe line)."""
    if ex.inventory.platform == "windows":
        lines = [oneline_command(chunk) for chunk in oneline_chunks(commands)]
    else:
        lines = [POSIX_PREFIX + shlex.quote(posix.wrap_batch(commands))]
    return [plain(line, "a command") for line in lines]


def out(i: int) -> str:
    return f"{OUT}[{i}][1]"


def rc(i: int) -> str:
    return f"{OUT}[{i}][2]"


def read_tasks(ex: Export, st: StepExport, tp: TargetPlan) -> tuple[list[dict], dict[str, tuple[int, int]]]:
    """The read of the step's facts (one raw task, as one round trip of the engine) and the split;
    and each fact's span of command indices."""
    commands, spans = read_batch(tp.facts)
    lines = wrap(ex, commands)
    if len(lines) != 1:
        raise ExportError(f"step '{st.step.id}' on {tp.target.name}: its read does not fit one command line")
    return [
        {"name": f"Read ({st.action.name}: the engine's facts batch, {len(commands)} commands)",
         "ansible.builtin.raw": lines[0], "register": READ, "changed_when": False, "check_mode": False,
         "failed_when": f"{READ}.rc != 0 or {marks_missing(READ, len(commands))}"},
        {"name": "Split the read by command", "ansible.builtin.set_fact": {OUT: split_markers(READ)}},
    ], spans


def change_tasks(ex: Export, name: str, commands: list[str], when: str) -> list[dict]:
    """The raw task(s) that send *commands* (a change of the engine's plan) when *when* holds."""
    lines = wrap(ex, commands)
    counts = [len(c) for c in oneline_chunks(commands)] if ex.inventory.platform == "windows" else [len(commands)]
    tasks = []
    for k, (line, n) in enumerate(zip(lines, counts)):
        part = f" ({k + 1}/{len(lines)})" if len(lines) > 1 else ""
        tasks.append({"name": name + part, "ansible.builtin.raw": line, "register": CHANGE, "when": when,
                      "changed_when": True,
                      "failed_when": f"{CHANGE}.rc != 0 or {marks_missing(CHANGE, n)} or {any_failed(CHANGE)}"})
    return tasks


def check(name: str, that: list[str], msg: str, when: str | None = None) -> dict:
    task = {"name": name, "ansible.builtin.assert": {"that": that, "fail_msg": msg, "quiet": True}}
    if when:
        task["when"] = when
    return task


def _search(expr: str, regex: str) -> str:
    """The first group of *regex* in *expr* ('' when it does not match)."""
    return f"(({expr} | regex_findall({lit(regex)})) + ['']) | first"


# --- Windows ----------------------------------------------------------------------------------

@translator("raw", "services-manual")
def services_manual(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks, spans = read_tasks(ex, st, tp)
    a, _ = spans["services"]
    act = st.action
    checks, config, stop = [], [], []
    for k, d in enumerate(tp.desired):
        qc = a + 1 + k
        start = _search(out(qc), r"START_TYPE\s*:\s*(\d+)")
        block = rf"(?ims)^SERVICE_NAME:\s*{re.escape(d.target)}\s*$(?:(?!^SERVICE_NAME:).)*?STATE\s*:\s*\d+\s+(\w+)"
        state = _search(out(a), block)
        running = f"({state}) not in ['', 'STOPPED', 'STOP_PENDING']"
        exists = f"{rc(qc)} == '0'"
        that = [f"{rc(qc)} in ['0', '1060']"]
        if d.data["feature_used"]:
            that.append(exists)
        if d.data.get("role") == "standby":
            that.append(f"not ({exists} and {running})")
        checks.append(check(f"Service {d.target} is as the engine can set it", that,
                            f"service {d.target}: not installed, unreadable, or running on a standby node "
                            "(sc qc exit code {{ " + rc(qc) + " }})"))
        cmds = act.plan([d], {"services": {d.target: ServiceState(d.target, True, start="auto", state="STOPPED")}})[0].commands
        config += change_tasks(ex, f"Service {d.target} starts manually (sc config)", cmds,
                               f"{exists} and ({start}) != '3'")
        cmds = act.plan([d], {"services": {d.target: ServiceState(d.target, True, start="demand", state="RUNNING")}})[0].commands
        if cmds:
            stop += change_tasks(ex, f"Service {d.target} is stopped (install phase, sc stop)", cmds,
                                 f"{exists} and {running}")
    return Tasks(tasks + checks + config + stop)


def _certutil_b64(i: int) -> str:
    return f"({out(i)} | regex_replace('(?m)^-----.*$', '') | regex_replace('\\s+', ''))"


def _file_same(a: int, b64: str) -> str:
    """The FileContent read at index *a* holds exactly the bytes of *b64*."""
    return f"({out(a)} | trim == 'present' and {_certutil_b64(a + 2)} == {lit(b64)})"


@translator("raw", "script-files")
def script_files(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks, spans = read_tasks(ex, st, tp)
    for d in tp.desired:
        a, _ = spans[d.target]
        cmds = st.action.plan([d], {d.target: None})[0].commands
        tasks += change_tasks(ex, f"Write {d.target} (the engine's base64 lines, certutil -decode, move)", cmds,
                              f"not {_file_same(a, d.data['content_b64'])}")
    return Tasks(tasks)


@translator("raw", "installed-scripts")
def installed_scripts(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks, spans = read_tasks(ex, st, tp)
    for d in tp.desired:
        a, _ = spans[d.target]
        tasks.append(check(f"{d.target} is the guide's script", [_file_same(a, d.data["content_b64"])],
                           f"{d.target} is missing or differs from the guide's script: deliver the configuration again"))
    return Tasks(tasks)


@translator("raw", "registry-key")
def registry_key(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks, spans = read_tasks(ex, st, tp)
    for d in tp.desired:
        a, _ = spans[d.target]
        tasks.append(check(f"{d.target} exists", [f"{rc(a)} == '0'"],
                           "the key is created by the product's installer: finish the installation on this node "
                           "before registering the registry synchronization"))
    return Tasks(tasks)


def _any_regex(patterns: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


@translator("raw", "preflight")
def preflight(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks, spans = read_tasks(ex, st, tp)
    for d in tp.desired:
        a, _ = spans[d.target]
        check_ = d.data["check"]
        if check_ == "os":
            value = _search(out(a), r"ProductName\s+REG_SZ\s+(.+)")
            that = [f"({value}) | trim is regex({lit(_any_regex(d.data['patterns']))})"]
        elif check_ == "tcpip":
            # the label is Japanese on a Japanese node ("IPv4 アドレス"), and CP932 output reaches
            # Jinja as surrogate escapes (never as those characters): any label before the address
            that = [f"{rc(a)} == '0'", f"{out(a)} is regex({lit(IPV4_ANY_LABEL)})"]
        else:
            fs = _search(out(a), r"File System Name\s*:\s*(\S+)")
            that = [f"({fs}) == {lit(d.value)}"]
        tasks.append(check(f"Preflight {d.target}: {d.value}", that, d.data["message"]))
    return Tasks(tasks)


# --- Linux ------------------------------------------------------------------------------------

def _prop(i: int, key: str) -> str:
    return _search(out(i), rf"(?m)^{key}=(.*?)\s*$")


@translator("raw", "units-manual")
def units_manual(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks, spans = read_tasks(ex, st, tp)
    a, _ = spans["units"]
    act = st.action
    checks, changes = [], []
    for k, d in enumerate(tp.desired):
        i = a + k
        load, enab, active = _prop(i, "LoadState"), _prop(i, "UnitFileState"), _prop(i, "ActiveState")
        exists = f"({rc(i)} == '0' and ({load}) not in ['', 'not-found'])"
        running = f"({active}) not in ['inactive', 'failed']"
        that = [f"{rc(i)} == '0' and ({load}) != ''"]
        if d.data["feature_used"]:
            that.append(exists)
        that.append(f"not {exists} or ({enab}) in ['enabled', 'disabled', 'masked']")
        if d.data.get("role") == "standby":
            that.append(f"not ({exists} and {running})")
        checks.append(check(f"Unit {d.target} is as the engine can set it", that,
                            f"unit {d.target}: not installed, unreadable, in a unit file state the engine does not "
                            "change, or running on a standby node"))
        want = d.value["enablement"]
        for now in ("enabled", "disabled", "masked"):
            if now == want:
                continue
            row = act.plan([d], {"units": {d.target: UnitState(d.target, "loaded", now, "inactive")}})[0]
            changes += change_tasks(ex, f"Unit {d.target}: {now} -> {want}", row.commands,
                                    f"{exists} and ({enab}) == '{now}'")
        row = act.plan([d], {"units": {d.target: UnitState(d.target, "loaded", want, "active")}})[0]
        if row.commands:
            changes += change_tasks(ex, f"Unit {d.target} is stopped (install phase)", row.commands,
                                    f"{exists} and {running}")
    return Tasks(tasks + checks + changes)


def _sh_file(i: int) -> tuple[str, str, str]:
    """(kind, head line, base64 content) of the ShFile read at index *i*."""
    lines = f"({out(i)} | trim).splitlines()"
    return f"({lines} | first).split() | first", f"({lines} | first | trim)", f"({lines}[1:] | join('') | trim)"


@translator("raw", "exec-scripts")
def exec_scripts(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks, spans = read_tasks(ex, st, tp)
    fa, _ = spans["folders"]
    folders = list(tp.facts["folders"].paths)
    fstate = {f: f"({out(fa + j)} | trim)" for j, f in enumerate(folders)}
    checks, mkdirs, writes = [], {}, []
    for d in tp.desired:
        i, _ = spans[d.target]
        kind, head, data = _sh_file(i)
        same = f"({kind} == 'file' and {data} == {lit(d.data['content_b64'])})"
        mode_same = f"{head} == 'file {d.data['mode']:o}'"
        mine = d.data["folders"]
        checks.append(check(f"{d.target} can be written", [f"{fstate[f]} in ['folder', 'absent']" for f in mine]
                            + [f"{kind} in ['file', 'absent']"],
                            f"{d.target} is not a regular file, or a folder above it is not a folder"))
        facts = {"folders": {f: ABSENT for f in mine}, d.target: FileState(d.target, ABSENT)}
        row = st.action.plan([d], facts)[0]
        if len(row.commands) != len(mine) + 1:
            raise ExportError(f"exec-scripts: unexpected plan for {d.target}: {len(row.commands)} commands")
        for f, cmd in zip(mine, row.commands):
            mkdirs.setdefault(f, (cmd, []))[1].append(f"not {same}")
        writes += change_tasks(ex, f"Write {d.target} (the engine's atomic write, mode {d.data['mode']:04o})",
                               row.commands[-1:], f"not {same}")
        data_now = FileState(d.target, FILE, 0o644, __import__("base64").b64decode(d.data["content_b64"]))
        chmod = st.action.plan([d], {"folders": {f: "folder" for f in mine}, d.target: data_now})[0].commands
        writes += change_tasks(ex, f"{d.target} has mode {d.data['mode']:04o}", chmod,
                               f"{same} and not ({mode_same})")
    made = []
    for f, (cmd, differs) in mkdirs.items():
        made += change_tasks(ex, f"Make folder {f} (0755)", [cmd], f"{fstate[f]} == 'absent' and ({' or '.join(differs)})")
    return Tasks(tasks + checks + made + writes)


@translator("raw", "firewall-ports")
def firewall_ports(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks, spans = read_tasks(ex, st, tp)
    for d in tp.desired:
        a, _ = spans[d.target]
        expected = nft_expected(layout(d.value), d.value)
        tasks.append(check("nftables can be read", [f"{rc(a)} == '0'"], "nft -j list tables failed (is nftables installed?)"))
        tasks.append({"name": f"Compare {d.target} with the guide's ports", "ansible.builtin.set_fact": {
            "runbook_nft_now": (f"{{%- if {rc(a + 1)} != '0' -%}}absent{{%- else -%}}\n"
                                + nft_signature(out(a + 1)) + "\n{%- endif -%}")}})
        row = st.action.plan([d], {d.target: NftState(exists=False)})[0]
        tasks += change_tasks(ex, f"Write {d.target} (the engine's nft -f - transaction)", row.commands,
                              f"runbook_nft_now | trim != {lit(expected)}")
    return Tasks(tasks)


@translator("raw", "preflight-linux", "script-programs")
def preflight_linux(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks, spans = read_tasks(ex, st, tp)
    programs = tp.facts["commands"].programs if "commands" in tp.facts else ()
    for d in tp.desired:
        c = d.data["check"]
        if c == "os":
            a, _ = spans[d.target]
            pretty = "(" + _search(out(a), r"(?m)^PRETTY_NAME=(.*?)\s*$") + ") | trim('\"')"
            tasks.append(check("The operating system is one the guide supports",
                               [f"{pretty} is regex({lit(_any_regex(d.data['patterns']))})"], d.data["message"]))
        elif c == "fs":
            a, b = spans[d.target]
            path = d.data["path"].rstrip("/") or "/"
            words = f"({out(a)} | trim).split()"
            if " " in path:
                raise ExportError(f"preflight-linux: mount point {path!r} holds a space (findmnt escapes it): not in the raw flavour")
            mounted = f"({words} | length == 2 and {words}[1] == {lit(path)})"
            formatted = (f"(({out(a + 1)} | trim).split() | first | default('')) if {rc(a + 1)} == '0' else ''"
                         if b - a > 1 else "''")
            ok = (f"(({out(a)} | trim) != 'RB-NO-MOUNT-POINT') and (({mounted} and {words}[0] == {lit(d.value)}) or "
                  f"(not {mounted} and ((({formatted}) == {lit(d.value)}) or "
                  f"(({formatted}) == '' and {str(bool(d.data['elsewhere'])).lower()}))))")
            tasks.append(check(f"{path} holds {d.value}", [ok], f"the file system on {path} must be {d.value}"))
        else:
            a, _ = spans["commands"]
            k = programs.index(d.data["program"])
            tasks.append(check(f"{d.data['program']} is found", [f"{rc(a + k)} == '0'"],
                               f"{d.data['program']} not found (the scripts run it)"))
    return Tasks(tasks)
