"""Flavour ``modules``: each engine action as the Ansible modules a fleet would use, from the same
``desired()`` data. What a read-only (check) step becomes:

* ``preflight``: ``win_reg_stat`` of ProductName, ``setup`` (IPv4 addresses) and
  ``win_disk_facts`` (the data drive's file system), each followed by an ``assert``;
* ``installed-scripts``: ``win_stat`` (sha256) + ``assert``; ``registry-key``: ``win_reg_stat`` +
  ``assert``;
* ``preflight-linux`` / ``script-programs``: ``slurp`` of os-release + ``assert``; a program found by
  the shell (``command -v``, a shell builtin: no module looks a bare name up on PATH) as a read-only
  ``command`` task (``sh -c``, changed_when false) + ``assert``; the mount point's file system from
  ``setup``'s mounts + ``assert`` where it is mounted. Where nothing is mounted (a standby's mirror
  disk) the engine reads the partition's own format with ``blkid``: no module reads that without
  writing, so that case is left to the engine (a comment in the play).

Changes: ``win_service`` (start_mode manual; state stopped in the install phase), ``win_file`` +
``win_copy`` (the scripts' exact bytes from ``files/``), ``community.general.nsupdate`` on the
controller (the TSIG secret from an environment or a file lookup), ``systemd_service`` (enabled false; masked
where the service says so; stopped in the install phase), ``file`` + ``copy`` (mode 0700), and one
``command`` task for the nftables table (no module writes a table: ``nft -f -`` with the engine's
ruleset text, run only when the table read back differs; ``nft --check`` in check mode). A Windows
guide's manual step that shows the ports becomes ``community.windows.win_firewall_rule`` tasks,
off unless ``runbook_windows_firewall`` is true (the guide leaves it to the operator).
"""
from __future__ import annotations

import base64
import hashlib

from runbook_engine.engine.actions.firewall import layout, ruleset, table_name
from runbook_engine.engine.facts.nft import FAMILY
from runbook_engine.engine.facts.system import PRODUCT_KEY
from runbook_engine.export.ansible import Export, Tasks, translator
from runbook_engine.export.ansible.jinja import lit, nft_expected, nft_signature
from runbook_engine.export.steps import ExportError, StepExport, TargetPlan

MANUAL, STOPPED = "manual", "stopped"


def _reg_path(key: str) -> str:
    """``HKLM\\SOFTWARE\\X`` as the ansible.windows registry modules spell it: ``HKLM:\\SOFTWARE\\X``."""
    hive, _, rest = key.partition("\\")
    return f"{hive}:\\{rest}"


def _any_regex(patterns: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


def _lang(tp: TargetPlan) -> str:
    return tp.target.node.lang if tp.target.node is not None else "ja"


def _name(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- Windows ----------------------------------------------------------------------------------

@translator("modules", "preflight")
def preflight(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks: list[dict] = []
    for d in tp.desired:
        check = d.data["check"]
        if check == "os":
            tasks += [
                {"name": "Read the product name", "ansible.windows.win_reg_stat": {"path": _reg_path(PRODUCT_KEY), "name": "ProductName"},
                 "register": "runbook_product"},
                {"name": "The operating system is one the guide supports", "ansible.builtin.assert": {
                    "that": [f"runbook_product.value | default('') is regex({lit(_any_regex(d.data['patterns']))})"],
                    "fail_msg": f"{d.data['message']} (the guide supports {d.value})", "quiet": True}},
            ]
        elif check == "tcpip":
            tasks += [
                {"name": "Read the IPv4 addresses", "ansible.windows.setup": {"gather_subset": ["all_ipv4_addresses"]}},
                {"name": "TCP/IP is installed", "ansible.builtin.assert": {
                    "that": ["ansible_facts.ip_addresses | default([]) | select('match', '^[0-9]+([.][0-9]+){3}$') | list | length > 0"],
                    "fail_msg": d.data["message"], "quiet": True}},
            ]
        elif check == "fs":
            letter = d.data["drive"][0]
            fs = ("ansible_facts.disks | default([]) | map(attribute='partitions', default=[]) | flatten"
                  f" | selectattr('drive_letter', 'defined') | selectattr('drive_letter', 'equalto', {lit(letter)})"
                  " | map(attribute='volumes', default=[]) | flatten | map(attribute='type') | list")
            tasks += [
                {"name": f"Read the volumes of drive {d.data['drive']}",
                 "community.windows.win_disk_facts": {"filter": ["partitions", "volumes"]}},
                {"name": f"Drive {d.data['drive']} is {d.value}", "ansible.builtin.assert": {
                    "that": [f"{fs} == [{lit(d.value)}]"], "fail_msg": d.data["message"], "quiet": True}},
            ]
    return Tasks(tasks)


@translator("modules", "services-manual")
def services_manual(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    names = [d.target for d in tp.desired]
    used = [d.target for d in tp.desired if d.data["feature_used"]]
    role = tp.desired[0].data.get("role", "install") if tp.desired else "install"
    present = "{{ runbook_services.results | selectattr('exists') | list }}"
    label = {"label": "{{ item.item }}"}
    tasks: list[dict] = [
        {"name": "Read the guide's services", "ansible.windows.win_service_info": {"name": "{{ item }}"},
         "loop": names, "register": "runbook_services"},
    ]
    if used:
        tasks.append({"name": "The services of the features in use are installed", "ansible.builtin.assert": {
            "that": ["item.exists"], "fail_msg": "service {{ item.item }} is not installed on {{ inventory_hostname }}",
            "quiet": True}, "loop": "{{ runbook_services.results | selectattr('item', 'in', runbook_used) | list }}",
            "loop_control": label, "vars": {"runbook_used": used}})
    if role == "standby":
        tasks.append({"name": "No service the cluster monitors runs on a standby node", "ansible.builtin.assert": {
            "that": ["item.services[0].state in ['stopped', 'stop_pending']"],
            "fail_msg": ("{{ item.item }} runs on standby node {{ inventory_hostname }}: the cluster or an operator "
                         "started it; check with clpstat (a service the cluster monitors is never stopped here)"),
            "quiet": True}, "loop": present, "loop_control": label})
    change = {"name": "{{ item.item }}", "start_mode": MANUAL}
    what = "Start the guide's services manually"
    if role == "install":
        change["state"] = STOPPED
        what += " and stop them (install phase)"
    tasks.append({"name": what, "ansible.windows.win_service": change, "loop": present, "loop_control": label})
    notes = {"install": "install phase: manual and stopped",
             "active": "operation, active node: manual; the state is the cluster's",
             "standby": "operation, standby node: manual; a running service fails the play, never stopped"}
    return Tasks(tasks, notes=[notes.get(role, role)])


def _folder(path: str, sep: str) -> str:
    return path.rsplit(sep, 1)[0]


@translator("modules", "script-files")
def script_files(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks: list[dict] = []
    for folder in dict.fromkeys(_folder(d.target, "\\") for d in tp.desired):
        tasks.append({"name": "The script resource's folder exists", "ansible.windows.win_file": {"path": folder, "state": "directory"}})
    for d in tp.desired:
        base = d.target.rsplit("\\", 1)[1]
        src = ex.add_file(f"{_lang(tp)}/{base}", base64.b64decode(d.data["content_b64"]))
        tasks.append({"name": f"{_name(base)} holds the guide's bytes", "ansible.windows.win_copy": {"src": src, "dest": d.target}})
    return Tasks(tasks)


def _sha256(d) -> str:
    return hashlib.sha256(base64.b64decode(d.data["content_b64"])).hexdigest()


@translator("modules", "installed-scripts")
def installed_scripts(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    items = [{"path": d.target, "sha256": _sha256(d)} for d in tp.desired]
    return Tasks([
        {"name": "Read the delivered scripts", "ansible.windows.win_stat": {
            "path": "{{ item.path }}", "get_checksum": True, "checksum_algorithm": "sha256"},
         "loop": items, "loop_control": {"label": "{{ item.path }}"}, "register": "runbook_installed"},
        {"name": "The delivered scripts are the guide's", "ansible.builtin.assert": {
            "that": ["item.stat.exists", "item.stat.checksum == item.item.sha256"],
            "fail_msg": ("{{ item.item.path }} is missing or differs from the guide's script: deliver the cluster "
                         "configuration again"), "quiet": True},
         "loop": "{{ runbook_installed.results }}", "loop_control": {"label": "{{ item.item.path }}"}},
    ])


@translator("modules", "registry-key")
def registry_key(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks: list[dict] = []
    for i, d in enumerate(tp.desired):
        tasks += [
            {"name": f"Read {d.target}", "ansible.windows.win_reg_stat": {"path": _reg_path(d.target)},
             "register": f"runbook_key_{i}"},
            {"name": f"{d.target} exists", "ansible.builtin.assert": {
                "that": [f"runbook_key_{i}.exists"], "quiet": True,
                "fail_msg": ("the key is created by the product's installer: finish the installation on this node "
                             "before registering the registry synchronization")}},
        ]
    return Tasks(tasks)


def _env(name: str) -> str:
    return "{{ lookup('ansible.builtin.env', '" + name + "') }}"


#: the secret of a BIND key statement (tsig-keygen's output), the key file's other form
_BIND_SECRET = 'secret\\s+"([^"]+)"'


def _tsig_secret(target) -> tuple[str, str]:
    """The nsupdate task's ``key_secret`` for *target*'s TSIG secret, and a note saying where it
    comes from. Never the value: the export reads neither the variable nor the key file.

    ``key_secret_file``: community.general.nsupdate takes the secret itself, not a key file (as the
    ``nsupdate`` command's ``-k`` would), so the task reads the file with a ``file`` lookup on the
    controller when it runs: the secret then travels as the env lookup's does (a module argument on
    the controller, ``no_log`` in the module) and the export holds only the path. The file lookup
    strips the trailing newline; ``regex_findall`` takes the secret out of a BIND key statement, and
    a file that holds only the base64 secret is used as it is. Ansible checks neither the file's
    owner and mode nor a BIND statement's key name and algorithm: the engine does (engine/tsig.py)."""
    o = target.options
    if o.key_secret_file is None:
        return _env(o.key_secret_env), f"the TSIG secret comes from the environment variable {o.key_secret_env} of the controller (never a file)"
    try:
        path = lit(str(o.key_secret_file))
    except ValueError:
        raise ExportError(f"dns server {target.name}: key_secret_file {o.key_secret_file}: a path with a quote or a "
                          "backslash cannot be written into a playbook's file lookup") from None
    read = f"lookup('ansible.builtin.file', {path})"
    return (f"{{{{ ({read} | regex_findall({lit(_BIND_SECRET)}) + [{read}]) | first }}}}",
            f"the TSIG secret is read on the controller from the key file {o.key_secret_file} when the task runs "
            "(never copied here); keep it at that path, mode 0600")


@translator("modules", "dns-records")
@translator("raw", "dns-records")
def dns_records(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    """The RRsets on one DNS server, as community.general.nsupdate (the engine's rfc2136 transport
    speaks DNS itself: there is no command batch to carry, in either flavour)."""
    o = tp.target.options
    secret, where = _tsig_secret(tp.target)
    records = [{"zone": d.data["zone"], "record": d.data["name"], "type": d.data["rtype"], "value": list(d.value),
                "ttl": d.data["ttl"]} for d in tp.desired]
    task = {"name": f"DNS records on {tp.target.name}", "community.general.nsupdate": {
        "server": str(o.server), "port": o.port, "protocol": "tcp", "key_name": o.key_name,
        "key_algorithm": o.algorithm, "key_secret": secret,
        "zone": "{{ item.zone }}", "record": "{{ item.record }}", "type": "{{ item.type }}",
        "value": "{{ item.value }}", "ttl": "{{ item.ttl }}", "state": "present"},
        "loop": records, "loop_control": {"label": "{{ item.record }} {{ item.type }}"}}
    return Tasks([task], controller=True, notes=[where])


def extra_plays(ex: Export, step) -> list:
    """A Windows guide's manual step that shows the ports: Windows Firewall rules for them, off
    unless ``runbook_windows_firewall`` is true (the guide's step names its own condition)."""
    if "ports" not in step.shows or ex.kb.family_of(ex.guide).os != "windows":
        return []
    ports = ex.kb.open_ports(ex.guide)
    rules = [{"protocol": proto, "port": p} for proto in ("tcp", "udp") for p in ports[proto]]
    if not rules:
        return []
    play = {"name": f"{step.title.en} ({step.id}) on every node", "hosts": "runbook_nodes", "gather_facts": False,
            "tasks": [{"name": "Windows Firewall allows the guide's inbound ports", "community.windows.win_firewall_rule": {
                "name": f"runbook {ex.guide.id} {{{{ item.protocol }}}} {{{{ item.port }}}}",
                "localport": "{{ item.port }}", "protocol": "{{ item.protocol }}", "direction": "in", "action": "allow",
                "enabled": True, "state": "present"},
                "loop": rules, "loop_control": {"label": "{{ item.protocol }}/{{ item.port }}"},
                "when": "runbook_windows_firewall | default(false) | bool"}]}
    lines = [f"step {step.label} {step.id} (manual): {step.title.en}",
             f"guide: {step.text.en.strip()[:110]}",
             "off by default: run with -e runbook_windows_firewall=true where Windows Firewall filters these nodes"]
    return [(lines, play)]


# --- Linux ------------------------------------------------------------------------------------

def _program_tasks(programs: list[str], key: str) -> list[dict]:
    return [
        {"name": "Look the programs up as the scripts' shell does", "ansible.builtin.command": {
            "argv": ["sh", "-c", 'command -v -- "$1"', "sh", "{{ item }}"]},
         "loop": programs, "register": key, "changed_when": False, "failed_when": False, "check_mode": False},
        {"name": "The programs are there", "ansible.builtin.assert": {
            "that": ["item.rc == 0"], "fail_msg": "{{ item.item }} not found (the scripts run it)", "quiet": True},
         "loop": "{{ " + key + ".results }}", "loop_control": {"label": "{{ item.item }}"}},
    ]


@translator("modules", "preflight-linux", "script-programs")
def preflight_linux(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks: list[dict] = []
    notes: list[str] = []
    for d in tp.desired:
        if d.data["check"] == "os":
            tasks += [
                {"name": "Read os-release", "ansible.builtin.slurp": {"src": "/etc/os-release"}, "register": "runbook_os_release"},
                {"name": "The operating system is one the guide supports", "ansible.builtin.assert": {
                    "that": [("runbook_os_release.content | b64decode | regex_findall('(?m)^PRETTY_NAME=(.*)$')"
                              f" | first | default('') | trim('\"') is regex({lit(_any_regex(d.data['patterns']))})")],
                    "fail_msg": f"{d.data['message']} (the guide supports {d.value})", "quiet": True}},
            ]
        elif d.data["check"] == "fs":
            path = d.data["path"].rstrip("/") or "/"
            mounts = "ansible_facts.mounts | selectattr('mount', 'equalto', " + lit(path) + ") | list"
            tasks += [
                {"name": f"Read the mounts ({path})", "ansible.builtin.setup": {"gather_subset": ["!all", "!min", "mounts"]}},
                {"name": f"{path} holds {d.value} where it is mounted", "ansible.builtin.assert": {
                    "that": [f"{mounts} | map(attribute='fstype') | list in [[], [{lit(d.value)}]]"],
                    "fail_msg": f"the file system on {path} must be {d.value}", "quiet": True}},
            ]
            notes.append(f"{path}: not mounted here, the partition's own format (blkid) is the engine's check")
    programs = [d.data["program"] for d in tp.desired if d.data["check"] == "command"]
    if programs:
        tasks += _program_tasks(programs, "runbook_programs")
    return Tasks(tasks, notes=notes)


@translator("modules", "units-manual")
def units_manual(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    role = tp.desired[0].data.get("role", "install") if tp.desired else "install"
    tasks: list[dict] = [{"name": "Read the units", "ansible.builtin.service_facts": {}}]
    known = "ansible_facts.services"
    for d in tp.desired:
        unit = d.target
        there = f"{lit(unit)} in {known}"
        if d.data["feature_used"]:
            tasks.append({"name": f"Unit {unit} is installed", "ansible.builtin.assert": {
                "that": [there], "fail_msg": f"unit '{unit}' is not installed on {{{{ inventory_hostname }}}}", "quiet": True}})
        if role == "standby":
            tasks.append({"name": f"Unit {unit} does not run on a standby node", "ansible.builtin.assert": {
                "that": [f"{known}[{lit(unit)}].state != 'running'"], "quiet": True,
                "fail_msg": f"{unit} runs on standby node {{{{ inventory_hostname }}}}: check with clpstat"},
                "when": there})
        off = {"name": unit, "enabled": False}
        if not d.data["mask"]:
            off["masked"] = False
        tasks.append({"name": f"Unit {unit} does not start at boot", "ansible.builtin.systemd_service": off,
                      "when": f"{there} and {known}[{lit(unit)}].status | default('') != 'masked'"})
        if d.data["mask"]:
            tasks.append({"name": f"Unit {unit} is masked", "ansible.builtin.systemd_service": {"name": unit, "masked": True},
                          "when": there})
        if role == "install":
            tasks.append({"name": f"Unit {unit} is stopped (install phase)",
                          "ansible.builtin.systemd_service": {"name": unit, "state": STOPPED}, "when": there})
    return Tasks(tasks)


@translator("modules", "exec-scripts")
def exec_scripts(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks: list[dict] = []
    for folder in dict.fromkeys(_folder(d.target, "/") for d in tp.desired):
        tasks.append({"name": "The exec resource's folder exists", "ansible.builtin.file": {
            "path": folder, "state": "directory", "mode": "0755"}})
    for d in tp.desired:
        base = d.target.rsplit("/", 1)[1]
        src = ex.add_file(f"{_lang(tp)}/{base}", base64.b64decode(d.data["content_b64"]))
        tasks.append({"name": f"{_name(base)} holds the guide's bytes", "ansible.builtin.copy": {
            "src": src, "dest": d.target, "mode": f"{d.data['mode']:04o}"}})
    return Tasks(tasks, notes=["folders are made 0755 as the engine makes them; the resource's own folder is set to 0755"])


def nft_transaction(table: str, value: dict) -> str:
    """The engine's ``nft -f -`` transaction text for the table (firewall.py: the table made empty
    first so that a missing one is no error, then deleted, then written)."""
    lines = [f"table {FAMILY} {table} {{}}", f"delete table {FAMILY} {table}"] + ruleset(table, value)
    return "\n".join(lines) + "\n"


@translator("modules", "firewall-ports")
def firewall_ports(ex: Export, st: StepExport, tp: TargetPlan) -> Tasks:
    tasks: list[dict] = []
    for d in tp.desired:
        table = d.data["table"]
        assert table == table_name(ex.guide.id)
        expected = nft_expected(layout(d.value), d.value)
        tasks += [
            {"name": f"Read the nftables table {FAMILY} {table}", "ansible.builtin.command": {
                "argv": ["nft", "-j", "list", "table", FAMILY, table]},
             "register": "runbook_nft", "changed_when": False, "failed_when": False, "check_mode": False},
            {"name": f"Compare {FAMILY} {table} with the guide's ports", "ansible.builtin.set_fact": {
                "runbook_nft_now": ("{%- if runbook_nft.rc != 0 -%}absent{%- else -%}\n"
                                    + nft_signature("runbook_nft.stdout") + "\n{%- endif -%}")}},
        ]
        tasks.append({"name": f"The nftables table {FAMILY} {table} accepts the guide's ports", "ansible.builtin.command": {
            "cmd": "nft {{ '--check ' if ansible_check_mode else '' }}-f -", "stdin": nft_transaction(table, d.value)},
            "check_mode": False, "changed_when": True, "when": f"runbook_nft_now | trim != {lit(expected)}"})
    return Tasks(tasks, notes=["no module writes an nftables table: a command task with the engine's ruleset, "
                               "run when the table read back differs (nft --check in check mode)"])
