"""The Linux sandbox: real systemd in systemd-nspawn containers, one network namespace per node,
shaped like a fresh installation of a Linux guide; destroyed without a trace."""
from __future__ import annotations

import subprocess
import sys

import pytest

from plugins.cluster import REPO
from plugins.components import run_on
from plugins.linux import make_linux_sandbox

pytestmark = pytest.mark.linux


def test_nodes_boot_as_a_fresh_installation(linux_sandbox):
    sb = linux_sandbox
    inv = sb.inv()
    assert inv.platform == "linux" and [n.transport for n in inv.nodes] == ["nspawn", "nspawn"]
    for node in inv.nodes:
        host, unit, fs, release, path, data, cluster = run_on(
            sb, node.name, "hostname", "systemctl show -p UnitFileState -p ActiveState -- postgresql-15.service",
            "findmnt -n -o FSTYPE,SOURCE --mountpoint /postgres", ". /etc/os-release && echo \"$PRETTY_NAME\"",
            "echo \"$PATH\"", "blkid -o value -s TYPE /dev/sdb1", "blkid -o value -s TYPE /dev/sdc1")
        assert host.stdout == node.name
        # the guide's unit as a fresh installation of the package leaves it: enabled and running
        assert sorted(unit.stdout.splitlines()) == ["ActiveState=active", "UnitFileState=enabled"]
        # the mirror disk's partitions under the guide's device names: data ext4, cluster raw; the data
        # partition mounted where the failover group runs (the first node in the install phase)
        assert data.stdout == "ext4" and cluster.stdout == ""
        assert (fs.stdout.split() == ["ext4", "/dev/sdb1"]) == (node.name == "pg-primary"), fs
        assert release.stdout == "Red Hat Enterprise Linux 8.6"
        # the batch's environment is the transport's own, not this process's
        assert path.stdout.startswith("/usr/local/sbin:")


def test_batch_reports_each_commands_exit_code_and_keeps_stdin(linux_sandbox):
    res = run_on(linux_sandbox, "pg-primary", "false", "exit 7", "cat", "echo after; sh -c 'exit 300'", "echo 'a b'")
    assert [r.rc for r in res] == [1, 7, 0, 44, 0]  # `exit` ends its own subshell only; cat reads /dev/null
    assert res[3].stdout == "after" and res[4].stdout == "a b"


def test_nodes_are_separate_hosts_on_one_network(linux_sandbox):
    from runbook_engine.sandbox.cluster import sandbox_root
    from runbook_engine.sandbox.linux import probe

    sb = linux_sandbox
    inv = sb.inv()
    root = sandbox_root(sb.project)
    a, b = inv.nodes
    # the node's stand-ins listen: PostgreSQL's port (the guide's app port), CLUSTERPRO's 29001
    assert probe(root, a.ip, 5432) == "open"
    assert probe(root, b.ip, 29001) == "open"
    assert probe(root, a.ip, 18080) == "refused"  # nothing listens there
    # and node a reaches node b across the bridge (its own network namespace)
    res = run_on(sb, a.name, f"python3 -c \"import socket; socket.create_connection(('{b.ip}', 5432), 2); print('ok')\"")
    assert res[0].stdout == "ok"


def test_destroy_leaves_nothing_behind(tmp_path):
    from runbook_engine.sandbox.cluster import destroy_cluster, sandbox_root
    from runbook_engine.sandbox.linux import leftovers

    sb = make_linux_sandbox(tmp_path / "state", nodes=2)
    root = sandbox_root(sb.project)
    before = leftovers(root)
    assert any(x.startswith("netns") for x in before) and any(x.startswith("loop") for x in before)
    assert any(x.startswith("process") for x in before)
    destroy_cluster(sb.project)
    assert leftovers(root) == []
    assert not (root / "linux").exists()


def test_cli_creates_and_destroys_a_linux_sandbox(tmp_path):
    from runbook_engine.sandbox.linux import leftovers

    make_linux_sandbox(tmp_path / "probe-requirements", nodes=1)  # skips or fails like the fixture
    from runbook_engine.sandbox.cluster import destroy_cluster
    from runbook_engine.model.project import Project

    destroy_cluster(Project(REPO, state_dir=tmp_path / "probe-requirements"))
    env = {"RUNBOOK_STATE": str(tmp_path / "cli-state"), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
           "LC_ALL": "en_US.UTF-8"}  # the lines below are the English ones
    cli = [sys.executable, "-m", "runbook_engine.cli", "--root", str(REPO)]
    out = subprocess.run(cli + ["sandbox", "create", "--platform", "linux", "--nodes", "2"], cwd=REPO, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "guide 'postgresql'" in out.stdout and "node pg-secondary: systemd running" in out.stdout
    inv = tmp_path / "cli-state" / "sandbox" / "inventory.yaml"
    assert "platform: linux" in inv.read_text()
    wrong = subprocess.run(cli + ["sandbox", "create", "--platform", "linux", "--guide", "surfnavi"], cwd=REPO,
                           env=env, capture_output=True, text=True)
    assert wrong.returncode == 2 and "is a windows guide, not linux" in wrong.stderr
    gone = subprocess.run(cli + ["sandbox", "destroy"], cwd=REPO, env=env, capture_output=True, text=True)
    assert gone.returncode == 0, gone.stderr
    assert leftovers(tmp_path / "cli-state" / "sandbox") == []


SSH_CHECK = r"""
import json, sys
from pathlib import Path
from runbook_engine.engine.inventory import load_inventory
from runbook_engine.engine.transports import open_transport, TransportError
from runbook_engine.engine.transports.ssh_posix import SshPosixTransport
inv = load_inventory(sys.argv[1])
out = {}
for n in inv.nodes:
    t = open_transport(n)
    try:
        res = t.run(["hostname", "systemctl is-enabled postgresql-15.service", "exit 5",
                     "nft add table inet rb_ssh_probe && nft delete table inet rb_ssh_probe"]).results
        out[n.name] = [[r.rc, r.stdout] for r in res] + [t.round_trips]
    finally:
        t.close()
# a host key that is not the node's own is refused: the other node's entry under this address
lines = Path(sys.argv[2]).read_text().splitlines()
swapped = Path(sys.argv[2]).with_name("swapped_known_hosts")
swapped.write_text(lines[0].split()[0] + " " + " ".join(lines[1].split()[1:]) + "\n")
n = inv.nodes[0]
t = SshPosixTransport(n.name, host=n.options.host, username="root", known_hosts=swapped, client_key=n.options.key,
                      encoding="utf-8", delivery="stdin")
try:
    t.run(["hostname"])
    out["swapped"] = "accepted"
except TransportError as exc:
    out["swapped"] = str(exc)
finally:
    t.close()
print(json.dumps(out))
"""


def test_ssh_posix_reaches_the_nodes_sshd_with_host_keys_checked(tmp_path):
    import json

    from runbook_engine.sandbox.cluster import destroy_cluster, sandbox_root
    from runbook_engine.sandbox.linux import nodes_root, probe_namespace
    from runbook_engine.model.project import Project

    state = tmp_path / "state"
    make_linux_sandbox(state, nodes=1)  # requirements (skip or fail as the fixture)
    project = Project(REPO, state_dir=state)
    from runbook_engine.sandbox.cluster import create_cluster

    inv = create_cluster(project, project.knowledge, guide_id="postgresql", nodes=2, transport="ssh")
    try:
        root = sandbox_root(project)
        assert "transport: ssh-posix" in inv.read_text()
        res = subprocess.run(["ip", "netns", "exec", probe_namespace(root), sys.executable, "-c", SSH_CHECK, str(inv),
                              str(nodes_root(root) / "known_hosts")], capture_output=True, text=True,
                             env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        assert res.returncode == 0, res.stderr
        out = json.loads(res.stdout)
        # one round trip; root over SSH may change the node's nftables (as root on a real node)
        assert out["pg-primary"] == [[0, "pg-primary"], [0, "enabled"], [5, ""], [0, ""], 1]
        assert out["pg-secondary"][0] == [0, "pg-secondary"]
        assert "host key not accepted" in out["swapped"]
    finally:
        destroy_cluster(project)


def test_root_in_a_node_manages_its_own_firewall_and_nothing_of_the_host(linux_sandbox):
    """Over SSH a command runs inside the container with its capabilities (not nsenter's): root
    there may change nftables, in the node's network namespace only."""
    host_before = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    res = run_on(linux_sandbox, "pg-primary", "grep CapBnd /proc/1/status",
               "nft add table inet rb_cap_probe && nft list tables && nft delete table inet rb_cap_probe")
    assert int(res[0].stdout.split()[1], 16) & (1 << 12), res[0].stdout  # CAP_NET_ADMIN in the bounding set
    assert res[1].rc == 0 and "rb_cap_probe" in res[1].stdout
    assert subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout == host_before
