"""`runbook export ansible`: the modules flavour passes ansible-playbook --syntax-check, ansible-lint
(production profile, no rule skipped) and the module option / choice check against ansible-doc;
the raw flavour runs against real sandbox nodes, converges (changed=0 on the next run) and leaves
the nodes as the native engine does.

Ansible is an optional extra (`pip install .[ansible]`): these tests skip without it locally and
fail under CI=true (plugins/components.py)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from plugins.components import require

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

WINDOWS_INVENTORY = """\
cluster: c1
guide: surfnavi
fip: {address: 192.0.2.10, hostname: surfnavi, domain: example.test, mx_preference: 10}
cluster_state: {phase: install, group: failover1}
configuration: {folder: 'C:\\clusterpro-config', resources: {script: script1}}
nodes:
  - {name: sv1, transport: ssh, host: 192.0.2.21, user: admin, key: id, known_hosts: known_hosts, hostname: sv1, ip: 192.0.2.11}
  - {name: sv2, transport: wine, prefix: /nonexistent, hostname: sv2, ip: 192.0.2.12}
dns:
  - {name: dns1, server: 192.0.2.53, key_name: runbook, key_secret_env: RB_TEST_TSIG, forward_zone: example.test., reverse_zone: 2.0.192.in-addr.arpa.}
"""
LINUX_INVENTORY = """\
cluster: c2
guide: postgresql
platform: linux
cluster_state: {phase: operation, group: failover1, active: pg-primary}
configuration: {folder: /root/clusterpro-config, resources: {exec: exec1}}
nodes:
  - {name: pg-primary, transport: ssh-posix, host: 192.0.2.11, user: root, key: id, known_hosts: known_hosts}
  - {name: pg-secondary, transport: ssh-posix, host: 192.0.2.12, user: root, key: id, known_hosts: known_hosts}
"""


def tool(name: str) -> str:
    """An Ansible program of this Python's environment (the [ansible] extra), else PATH's."""
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    require(path is not None, f"{name} not found: install the [ansible] extra (pip install .[ansible])")
    return str(path)


def ansible_env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_LOCAL_TEMP": str(tmp / "local"),
            "ANSIBLE_HOME": str(tmp / "home"), "ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp / "cp"),
            "ANSIBLE_RETRY_FILES_ENABLED": "0", "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}


def export(tmp: Path, text: str, flavours=("modules", "raw")) -> tuple[Path, object]:
    """Export the inventory *text* (written to *tmp*) with the real command; the output folder."""
    from runbook_engine import cli

    tmp.mkdir(parents=True, exist_ok=True)
    inv = tmp / "inventory.yaml"
    inv.write_text(text)
    for f in ("id", "known_hosts"):
        (tmp / f).touch()
    out = tmp / "out"
    flavour = flavours[0] if len(flavours) == 1 else "both"
    assert cli.main(["--root", str(REPO), "export", "ansible", yaml.safe_load(text)["guide"], "-i", str(inv),
                     "--flavour", flavour, "--out", str(out)]) == 0
    return out, inv


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    return {"windows": export(tmp / "windows", WINDOWS_INVENTORY)[0], "linux": export(tmp / "linux", LINUX_INVENTORY)[0]}


# --- flavour (a): modules ---------------------------------------------------------------------

@pytest.mark.parametrize("platform", ["windows", "linux"])
def test_modules_playbook_passes_syntax_check_and_ansible_lint_production(exported, platform, tmp_path):
    out = exported[platform]
    env = ansible_env(tmp_path)
    for playbook in ("modules.yml", "raw.yml"):
        res = subprocess.run([tool("ansible-playbook"), "-i", "inventory.yml", "--syntax-check", playbook], cwd=out,
                             env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr
    res = subprocess.run([tool("ansible-lint"), "--profile", "production", "--offline", "--nocolor", "modules.yml"],
                         cwd=out, env=env, capture_output=True, text=True)
    assert res.returncode == 0 and "Profile 'production' was required, and it passed" in res.stdout + res.stderr, \
        res.stdout + res.stderr
    assert "noqa" not in (out / "modules.yml").read_text()  # no rule is silenced


@pytest.mark.parametrize("platform", ["windows", "linux"])
def test_every_module_option_and_choice_used_exists_in_ansible_doc(exported, platform):
    from runbook_engine.export.ansible.options import ansible_doc, modules_used, option_errors

    for playbook in ("modules.yml", "raw.yml"):
        path = exported[platform] / playbook
        used = modules_used(path)
        docs = ansible_doc([m for _, m, _ in used], tool("ansible-doc"))
        assert option_errors(path, docs) == []
    expected = ({"ansible.windows.win_service", "ansible.windows.win_copy", "ansible.windows.win_reg_stat",
                 "community.general.nsupdate", "community.windows.win_firewall_rule"} if platform == "windows" else
                {"ansible.builtin.systemd_service", "ansible.builtin.copy", "ansible.builtin.command"})
    assert expected <= {m for _, m, _ in modules_used(exported[platform] / "modules.yml")}


def test_a_planted_wrong_option_and_wrong_choice_fail_the_option_check_that_lint_accepts(exported, tmp_path):
    """`start_mod: manuall` passes syntax-check and ansible-lint; the ansible-doc check names both."""
    from runbook_engine.export.ansible.options import ansible_doc, modules_used, option_errors

    out = tmp_path / "planted"
    shutil.copytree(exported["windows"], out)
    text = (out / "modules.yml").read_text()
    assert "        start_mode: manual\n" in text and "direction: in\n" in text
    planted = text.replace("        start_mode: manual\n", "        start_mod: manual\n", 1)
    planted = planted.replace("direction: in\n", "direction: inbound\n", 1)
    (out / "modules.yml").write_text(planted)
    env = ansible_env(tmp_path)
    syntax = subprocess.run([tool("ansible-playbook"), "-i", "inventory.yml", "--syntax-check", "modules.yml"], cwd=out,
                            env=env, capture_output=True, text=True)
    lint = subprocess.run([tool("ansible-lint"), "--profile", "production", "--offline", "--nocolor", "modules.yml"],
                          cwd=out, env=env, capture_output=True, text=True)
    assert syntax.returncode == 0 and lint.returncode == 0, syntax.stdout + lint.stdout + lint.stderr
    docs = ansible_doc([m for _, m, _ in modules_used(out / "modules.yml")], tool("ansible-doc"))
    errors = option_errors(out / "modules.yml", docs)
    assert len(errors) == 2, errors
    assert "ansible.windows.win_service has no option 'start_mod'" in errors[0]
    assert "community.windows.win_firewall_rule option 'direction': 'inbound' is not one of in, out" in errors[1]


def test_secrets_are_environment_lookups_never_values(exported, monkeypatch, tmp_path):
    """The TSIG secret and an SSH password reach the files only as the name of their variable."""
    secret = "c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1iZS13cml0dGVu"
    monkeypatch.setenv("RB_TEST_TSIG", secret)
    monkeypatch.setenv("RB_TEST_PASSWORD", "hunter2-never-written")
    text = WINDOWS_INVENTORY.replace("known_hosts: known_hosts,", "known_hosts: known_hosts, password_env: RB_TEST_PASSWORD,")
    out, _ = export(tmp_path / "s", text)
    blobs = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert secret.encode() not in blobs and b"hunter2" not in blobs
    hosts = yaml.safe_load((out / "inventory.yml").read_text())["all"]["children"]["runbook_nodes"]["hosts"]
    assert hosts["sv1"]["ansible_password"] == "{{ lookup('ansible.builtin.env', 'RB_TEST_PASSWORD') }}"
    plays = yaml.safe_load((out / "modules.yml").read_text())
    nsupdate = [t["community.general.nsupdate"] for p in plays for t in p["tasks"] if "community.general.nsupdate" in t]
    assert [n["key_secret"] for n in nsupdate] == ["{{ lookup('ansible.builtin.env', 'RB_TEST_TSIG') }}"]


def test_a_tsig_key_file_is_a_file_lookup_on_the_controller_never_its_value(tmp_path):
    """An inventory naming its TSIG secret by a key file (relative to it): the nsupdate task reads
    that file, by its absolute path, when it runs; the secret is in no file of the export."""
    secret = "a2V5LWZpbGUtc2VjcmV0LW5ldmVyLWNvcGllZA=="
    work = tmp_path / "k"
    work.mkdir()
    key = work / "tsig.key"
    key.write_text(secret + "\n")
    key.chmod(0o600)
    out, _ = export(work, WINDOWS_INVENTORY.replace("key_secret_env: RB_TEST_TSIG", "key_secret_file: tsig.key"))
    blobs = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert secret.encode() not in blobs
    for flavour in ("modules", "raw"):
        plays = yaml.safe_load((out / f"{flavour}.yml").read_text())
        (task,) = [t["community.general.nsupdate"] for p in plays for t in p["tasks"] if "community.general.nsupdate" in t]
        read = f"lookup('ansible.builtin.file', '{key}')"
        assert task["key_secret"] == f"{{{{ ({read} | regex_findall('secret\\s+\"([^\"]+)\"') + [{read}]) | first }}}}"


@pytest.mark.named
@pytest.mark.parametrize("form", ["base64", "bind-statement"])
def test_the_dns_play_takes_the_secret_from_a_key_file_and_converges_on_named(named_server, tmp_path, monkeypatch, form):
    """The modules flavour's DNS play (--tags dns-records) on the real named, the TSIG secret in a
    key file (the base64 secret and a newline, or the key as tsig-keygen prints it) and no
    variable set: it changes the records, a second run changes nothing, and the engine then plans
    no change (the records are the engine's)."""
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.engine.runner import Runner
    from runbook_engine.model.project import Project

    tool("ansible-playbook")
    srv = named_server
    monkeypatch.delenv("RB_TEST_TSIG", raising=False)
    work = tmp_path / "kf"
    work.mkdir()
    key = work / "tsig.key"
    key.write_text(srv.secret + "\n" if form == "base64" else
                   f'key "{srv.key_name}" {{\n\talgorithm {srv.algorithm};\n\tsecret "{srv.secret}";\n}};\n')
    key.chmod(0o600)
    # names of their own on the session's named (other tests there own example.test.'s MX and 192.0.2.11's PTR)
    n, domain = {"base64": (210, "kf1"), "bind-statement": (220, "kf2")}[form]
    text = (WINDOWS_INVENTORY
            .replace("fip: {address: 192.0.2.10, hostname: surfnavi, domain: example.test,",
                     f"fip: {{address: 192.0.2.{n}, hostname: surfnavi, domain: {domain}.example.test,")
            .replace("hostname: sv1, ip: 192.0.2.11", f"hostname: sv1, ip: 192.0.2.{n + 1}")
            .replace("hostname: sv2, ip: 192.0.2.12", f"hostname: sv2, ip: 192.0.2.{n + 2}")
            .replace("server: 192.0.2.53, key_name: runbook, key_secret_env: RB_TEST_TSIG",
                     f"server: {srv.host}, port: {srv.port}, key_name: {srv.key_name}, key_secret_file: tsig.key"))
    out, inv_path = export(work, text, ("modules",))
    assert srv.secret.encode() not in b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    first, log1, _ = play(out, work, "--tags", "dns-records", playbook="modules.yml")
    assert first["localhost"][3] == 0 and first["localhost"][1] > 0, log1[-3000:]
    assert srv.secret not in log1
    second, log2, _ = play(out, work, "--tags", "dns-records", playbook="modules.yml")
    assert second["localhost"][1] == 0 and second["localhost"][3] == 0, log2[-3000:]
    report = Runner(Project(REPO, state_dir=work / "state"), load_inventory(inv_path), steps=["dns-records"]).run("plan")
    assert report.exit_code == 0 and sum(r.changes for r in report.results) == 0, \
        [(r.node, r.status, r.message) for r in report.results]


def test_script_files_carry_the_engine_bytes(exported):
    """files/ holds byte for byte what the engine writes (artifacts.scripts.render_scripts)."""
    from runbook_engine.artifacts.scripts import render_scripts
    from runbook_engine.model.project import Project

    project = Project(REPO)
    kb = project.knowledge
    for platform, guide in (("windows", "surfnavi"), ("linux", "postgresql")):
        want = render_scripts(kb, kb.guides[guide], "ja", project.snippets)
        got = {p.name.lower(): p.read_bytes() for p in (exported[platform] / "files" / "ja").iterdir()}
        assert got == {name.lower(): s.data for name, s in want.items()}


# --- flavour (b): raw, on real nodes ----------------------------------------------------------

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def play(out: Path, tmp: Path, *extra: str, prefix: tuple[str, ...] = (), playbook: str = "raw.yml") -> tuple[dict, str, float]:
    """Run raw.yml (or *playbook*); {host: (ok, changed, unreachable, failed)}, the output, the seconds."""
    t0 = time.perf_counter()
    res = subprocess.run([*prefix, tool("ansible-playbook"), "-i", "inventory.yml", playbook, *extra], cwd=out,
                         env=ansible_env(tmp), capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - t0
    recap = {m.group(1): tuple(int(m.group(i)) for i in range(2, 6)) for m in RECAP.finditer(res.stdout)}
    assert recap, res.stdout[-3000:] + res.stderr[-2000:]
    return recap, res.stdout, seconds


def plan_currents(project, inventory, state) -> dict:
    """What the engine reads back on every node: {(node, step, target): current} of a plan."""
    from runbook_engine.engine.runner import Runner

    report = Runner(project, inventory, state=state).run("plan")
    return {(r.node, r.step, row.target): row.current for r in report.results for row in r.rows}, report


@pytest.mark.wine
@pytest.mark.sshd
@pytest.mark.named
def test_raw_playbook_converges_windows_nodes_over_ssh_as_the_engine_does(tmp_path_factory):
    """Two SURFNAVI sandbox nodes behind real sshds whose commands run in Wine's cmd.exe, and the
    sandbox's BIND: the raw playbook converges (a second run: changed=0), the engine then plans no
    change there, and services, script bytes and DNS records equal those of a twin sandbox the
    native engine applied."""
    from plugins.cluster import destroy, make_sandbox
    from plugins.sshd import start_sshd, stop_process
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.engine.runner import Runner
    from runbook_engine.engine.transports.wineprefix import ensure_wineserver, node_env

    tool("ansible-playbook")
    state = tmp_path_factory.mktemp("ansible-win")
    sb = make_sandbox(state, nodes=2, dns=True)
    procs = []
    try:
        sandbox_inv = yaml.safe_load(sb.inventory.read_text())
        nodes = []
        for n in sandbox_inv["nodes"]:
            prefix = Path(n["prefix"])
            ensure_wineserver(prefix)
            proc, ssh = start_sshd(tmp_path_factory.mktemp(f"sshd-{n['name']}"), prefix, node_env(prefix))
            procs.append(proc)
            nodes.append({"name": n["name"], "transport": "ssh", "host": ssh.host, "port": ssh.port, "user": ssh.user,
                          "key": str(ssh.key_path), "known_hosts": str(ssh.known_hosts), "lang": n["lang"],
                          "hostname": n["hostname"], "ip": n["ip"]})
        text = yaml.safe_dump({**{k: v for k, v in sandbox_inv.items() if k != "nodes"}, "nodes": nodes})
        work = tmp_path_factory.mktemp("ansible-win-out")
        out, inv_path = export(work, text, ("raw",))
        inventory = load_inventory(inv_path)

        first, log1, t1 = play(out, work, "--skip-tags", "installed-scripts")
        names = [n["name"] for n in nodes]
        assert all(first[h][3] == 0 and first[h][2] == 0 for h in names + ["localhost"]), log1[-4000:]
        assert all(first[h][1] > 0 for h in names + ["localhost"]), first  # a fresh node: services, scripts, DNS
        sb.deliver()  # the operator's delivery of the configuration (the guide's manual step)
        second, log2, t2 = play(out, work)
        assert all(v[1] == 0 and v[3] == 0 and v[2] == 0 for v in second.values()), log2[-4000:]

        after, report = plan_currents(sb.project, inventory, state)
        assert sum(r.changes for r in report.results) == 0, [(r.node, r.step, r.status, r.message) for r in report.results]

        # the twin: a fresh sandbox the native engine applies, then delivered the same way
        state2 = tmp_path_factory.mktemp("engine-win")
        twin = make_sandbox(state2, nodes=2, dns=True)
        try:
            applied = Runner(twin.project, twin.inv(), state=state2, steps=["services-manual", "script-files", "dns-records"]).run("apply")
            assert applied.exit_code == 0, [(r.node, r.step, r.status, r.message) for r in applied.results]
            twin.deliver()
            native, _ = plan_currents(twin.project, twin.inv(), state2)
            assert after == native
            services = {k: v for k, v in after.items() if k[1] == "services-manual"}
            assert len(services) == 32 and all(v == {"start": "demand", "state": "STOPPED"} for v in services.values()
                                               if v is not None), services
            for node in names:
                for name in ("START.BAT", "STOP.BAT"):
                    for where in ("configuration", "installed"):
                        if where == "configuration" and node != inventory.configuration_node:
                            continue
                        assert sb.script_path(node, name, where).read_bytes() == twin.script_path(node, name, where).read_bytes()
        finally:
            destroy(twin)
        print(f"\nraw playbook on 2 Wine nodes over SSH + 2 DNS servers: first run {t1:.1f} s, second run {t2:.1f} s")
    finally:
        for p in procs:
            stop_process(p)
        destroy(sb)


@pytest.mark.linux
def test_raw_playbook_converges_linux_nodes_over_ssh_as_the_engine_does(tmp_path_factory):
    """Two PostgreSQL sandbox nodes (systemd containers with sshd, reached from the sandbox's probe
    namespace): the raw playbook converges (a second run: changed=0) and the engine's read-back
    (units, script bytes and modes, the nftables table) equals a twin sandbox the engine applied."""
    from plugins.linux import PACKAGES
    from plugins.components import require_executable
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.engine.runner import Runner
    from runbook_engine.model.project import Project
    from runbook_engine.sandbox.cluster import create_cluster, destroy_cluster
    from runbook_engine.sandbox.linux import probe_namespace

    tool("ansible-playbook")
    for prog, pkg in PACKAGES.items():
        require_executable(prog, pkg)
    require(os.geteuid() == 0, "the Linux sandbox boots containers and creates network namespaces: needs root")
    state = tmp_path_factory.mktemp("ansible-linux")
    project = Project(REPO, state_dir=state)
    inv_path = create_cluster(project, project.knowledge, nodes=2, guide_id="postgresql", transport="ssh")
    try:
        work = tmp_path_factory.mktemp("ansible-linux-out")
        out, inv_copy = export(work, inv_path.read_text(), ("raw",))
        inventory = load_inventory(inv_path)
        ns = ("ip", "netns", "exec", probe_namespace(project.state / "sandbox"))
        first, log1, t1 = play(out, work, prefix=ns)
        names = [n.name for n in inventory.nodes]
        assert all(first[h][3] == 0 and first[h][2] == 0 for h in names), log1[-4000:]
        assert all(first[h][1] > 0 for h in names), first
        second, log2, t2 = play(out, work, prefix=ns)
        assert all(v[1] == 0 and v[3] == 0 and v[2] == 0 for v in second.values()), log2[-4000:]
        nspawn = yaml.safe_load(inv_path.read_text())
        # read back through the containers (transport nspawn: the same nodes, entered from here)
        back = tmp_path_factory.mktemp("readback") / "inventory.yaml"
        machines = {n: str(project.state / "sandbox" / "linux" / n) for n in names}
        back.write_text(yaml.safe_dump({**{k: v for k, v in nspawn.items() if k != "nodes"}, "nodes": [
            {"name": n, "transport": "nspawn", "machine": machines[n]} for n in names]}))
        after, report = plan_currents(project, load_inventory(back), state)
        assert sum(r.changes for r in report.results) == 0, [(r.node, r.step, r.status, r.message) for r in report.results]
    finally:
        destroy_cluster(project)
    state2 = tmp_path_factory.mktemp("engine-linux")
    project2 = Project(REPO, state_dir=state2)
    inv2 = create_cluster(project2, project2.knowledge, nodes=2, guide_id="postgresql")
    try:
        applied = Runner(project2, load_inventory(inv2), state=state2,
                         steps=["firewall-ports", "unit-disabled", "exec-resource"]).run("apply")
        assert not [r for r in applied.results if r.status in ("unreachable",)], applied.results
        native, _ = plan_currents(project2, load_inventory(inv2), state2)
        assert after == native
        assert {k: v for k, v in after.items() if k[1] == "unit-disabled"}
        assert {k: v for k, v in after.items() if k[1] == "firewall-ports"}  # the nftables table too
    finally:
        destroy_cluster(project2)
    print(f"\nraw playbook on 2 Linux nodes over SSH: first run {t1:.1f} s, second run {t2:.1f} s")
