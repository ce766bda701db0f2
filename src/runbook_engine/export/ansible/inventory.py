"""The inventory template beside the playbooks: one host per node of the runbook inventory (the
same names: the plays name them), how Ansible reaches it, and the controller that runs the DNS
updates.

* ``ssh`` (Windows, OpenSSH with cmd.exe as its shell): ``ansible_connection: ssh``,
  ``ansible_shell_type: cmd``; the ``ansible.windows`` modules also run over it (they start
  PowerShell), the raw flavour needs only cmd.exe.
* ``ssh-posix`` (Linux): ``ansible_connection: ssh``, the node's Python 3 for the modules.
* a transport Ansible has no connection for (``wine``, ``nspawn``, ``local``): the node's address
  from the inventory (``ip``, else ``hostname``) and the connection of its platform, to complete.

Host keys are checked against the runbook inventory's ``known_hosts`` (never turned off). A secret
is never written: ``ansible_password`` is an environment lookup of the variable the runbook
inventory names (``password_env``); in AWX or with a vault, set it from a credential instead.
"""
from __future__ import annotations

from runbook_engine.export.ansible import yamlout

CONTROLLER = "localhost"
NODES_GROUP = "runbook_nodes"


def _env(name: str) -> str:
    return "{{ lookup('ansible.builtin.env', '" + name + "') }}"


def host_vars(node, platform: str) -> dict:
    o = node.options
    out: dict = {}
    if node.transport in ("ssh", "ssh-posix"):
        out.update(ansible_connection="ssh", ansible_host=str(o.host), ansible_port=o.port, ansible_user=o.user)
        if o.key is not None:
            out["ansible_ssh_private_key_file"] = str(o.key)
        out["ansible_ssh_common_args"] = f"-o UserKnownHostsFile={o.known_hosts} -o StrictHostKeyChecking=yes"
        if o.password_env:
            out["ansible_password"] = _env(o.password_env)
    else:
        out.update(ansible_connection="ssh", ansible_host=str(node.ip or node.hostname or node.name),
                   runbook_transport=node.transport)  # what the runbook inventory used: complete the connection
    if platform == "windows":
        out["ansible_shell_type"] = "cmd"
    else:
        out["ansible_python_interpreter"] = "/usr/bin/python3"
    return out


def inventory_text(inventory, guide) -> str:
    data = {"all": {"children": {
        NODES_GROUP: {"hosts": {n.name: host_vars(n, inventory.platform) for n in inventory.nodes}},
        "runbook_controller": {"hosts": {CONTROLLER: {
            "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}},
    }}}
    header = [f"runbook export ansible {guide.id}: the hosts of runbook inventory cluster '{inventory.cluster}'",
              "(host names are the runbook node names the plays target; adapt the connection variables, or",
              "merge these hosts into your own inventory). Secrets are environment lookups, never values."]
    transports = sorted({n.transport for n in inventory.nodes if n.transport not in ("ssh", "ssh-posix")})
    if transports:
        header.append(f"Nodes reached by {', '.join(transports)} in the runbook inventory: set ansible_host, "
                      "ansible_user and the connection (runbook_transport says which they were).")
    return "---\n" + yamlout.comment(header) + yamlout.dump(data)
