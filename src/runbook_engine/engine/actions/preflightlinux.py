"""preflight-linux: the node runs a supported OS, the mirror or shared disk's mount point holds the
guide's file system, and bash and CLUSTERPRO's logging command are there (checks only; the Linux
twin of preflight). script-programs: the programs the guide's scripts call are there on every node
(checks only; a step of its own, after the application is installed: at the preflight, before the
installation, they are missing by design).

* ``os``: ``PRETTY_NAME`` of os-release against the guide's ``os_product_patterns``.
* ``filesystem <mount point>``: for each md / disk resource with a mount point, the file system
  mounted there against the resource's ``file_system``. A missing mount point is an error. Where
  nothing is mounted on it (the disk is active on another node), the data partition's own format
  (``blkid``) is compared instead, as the guide's manual check does; where that cannot be read
  either, not mounted is correct on a standby node (or a node other than the inventory's
  ``cluster_state.active``) and an error elsewhere.
* ``command <program>``: preflight-linux: ``bash`` (the scripts' interpreter) and ``clplogcmd``
  (they log with it; CLUSTERPRO is installed before the preflight). script-programs: every program
  the guide's start.sh / stop.sh run (the first word of each command with the settings' values, as
  the scripts run it, and ``su`` for a command run as a user).
"""
from __future__ import annotations

import re
from typing import Any

from runbook_engine.engine.actions import register_action
from runbook_engine.engine.actions.base import Action, Change, Context, Desired
from runbook_engine.engine.facts.linux import CommandsFound, Mount, MountFileSystem, OsRelease
from runbook_engine.engine.status import RowStatus

INTERPRETER = "bash"
LOGGER = "clplogcmd"


def script_programs(guide) -> list[str]:
    """The programs the guide's scripts run (settings substituted; ``su`` for a command run as a
    user), each once, in order."""
    found = []
    sc = guide.scripts
    for c in (sc.commands if sc else []):
        if c.user is not None:
            found.append("su")
        found.append(sc.resolve(c.argv[0]))
    return list(dict.fromkeys(found))


def required_programs(guide) -> list[str]:
    """bash, the programs the guide's scripts run and clplogcmd, each once, in that order."""
    return list(dict.fromkeys([INTERPRETER, *script_programs(guide), LOGGER]))


def _mount_points(guide) -> list[tuple[str, str, str | None]]:
    """(mount point, file system, data partition device) of each md or disk resource that names a
    mount point and a file system."""
    return [(r.mount_point, r.file_system, r.data_partition if (r.data_partition or "").startswith("/dev/") else None)
            for r in guide.resources if r.kind in ("md", "disk") and r.mount_point and r.file_system]


@register_action
class PreflightLinux(Action):
    name = "preflight-linux"
    platform = "linux"
    read_only = True

    def desired(self, ctx: Context) -> list[Desired]:
        ctx.require_shell("sh", self.name)
        env, node = ctx.guide.meta.environment, ctx.target.name
        inv = ctx.inventory
        role = inv.role(node) if inv is not None else "install"
        active = inv.cluster_state.active if inv is not None else None
        elsewhere = role == "standby" or (active is not None and active != node)
        out = [Desired(node, "os", " / ".join(env.operating_systems),
                       {"check": "os", "patterns": list(ctx.guide.meta.os_product_patterns),
                        "message": "unsupported operating system"})]
        out += [Desired(node, f"filesystem {mp}", fs, {"check": "fs", "path": mp, "device": dev,
                                                        "elsewhere": elsewhere, "active": active})
                for mp, fs, dev in _mount_points(ctx.guide)]
        out += [Desired(node, f"command {p}", "present", {"check": "command", "program": p})
                for p in self.programs(ctx.guide)]
        return out

    def programs(self, guide) -> list[str]:
        return [INTERPRETER, LOGGER]

    def facts(self, ctx: Context, desired: list[Desired]):
        facts: dict[str, Any] = {}
        programs = tuple(d.data["program"] for d in desired if d.data["check"] == "command")
        if programs:
            facts["commands"] = CommandsFound(programs)
        for d in desired:
            if d.data["check"] == "os":
                facts[d.target] = OsRelease()
            elif d.data["check"] == "fs":
                facts[d.target] = MountFileSystem(d.data["path"], d.data["device"])
        return facts

    def plan(self, desired: list[Desired], facts: dict[str, Any]) -> list[Change]:
        rows = []
        for d in desired:
            check = d.data["check"]
            said: tuple[str, dict] = ("", {})  # the message as a label (shown in the operator's language)
            if check == "os":
                current = facts[d.target]
                ok = current is not None and any(re.search(p, current) for p in d.data["patterns"])
                message = "" if ok else d.data["message"]
            elif check == "fs":
                current, ok, message = self._fs(d, facts[d.target])
                said = self._fs_said(d, facts[d.target]) if ok and message else said
            else:
                path = facts["commands"][d.data["program"]]
                current, ok = path or "missing", path is not None
                message = "" if ok else f"{d.data['program']} not found (the scripts run it)"
            rows.append(Change(action=self.name, node=d.node, target=d.target, current=current, desired=d.value,
                               status=RowStatus.OK if ok else RowStatus.ERROR, message=message,
                               message_id=said[0], message_fields=said[1]))
        return rows

    @staticmethod
    def _fs_said(d: Desired, m: Mount) -> tuple[str, dict]:
        """What :meth:`_fs` says of a disk that is fine but not mounted here, as a label."""
        if m.device_fstype is not None:
            return "row-not-mounted-formatted", {"device": d.data["device"], "fstype": m.device_fstype}
        if d.data.get("active"):
            return "row-not-mounted-active-elsewhere", {"node": d.data["active"]}
        return "row-not-mounted-elsewhere", {}

    @staticmethod
    def _fs(d: Desired, m: Mount) -> tuple[Any, bool, str]:
        path = d.data["path"].rstrip("/") or "/"
        if not m.exists:
            return None, False, f"mount point {path} does not exist (make the folder the disk is mounted on)"
        if m.target != path:
            if m.device_fstype is not None:
                ok = m.device_fstype == d.value
                return (f"{m.device_fstype} (not mounted)", ok,
                        f"not mounted here; {d.data['device']} is formatted {m.device_fstype}"
                        + ("" if ok else f", and must be {d.value}"))
            if d.data["elsewhere"]:
                where = f" (active on {d.data['active']})" if d.data.get("active") else ""
                return "not mounted", True, f"not mounted on this node: the disk is used where the group runs{where}"
            return "not mounted", False, (f"nothing is mounted on {path} (it is on {m.target}, {m.fstype}): mount the "
                                          "disk here, or name the node it is active on in cluster_state.active")
        ok = m.fstype == d.value
        return m.fstype, ok, "" if ok else f"the file system on {path} must be {d.value}"


@register_action
class ScriptPrograms(PreflightLinux):
    """The programs the guide's scripts call, on every node (only the ``command`` checks)."""

    name = "script-programs"
    scope = "all-nodes"

    def desired(self, ctx: Context) -> list[Desired]:
        ctx.require_shell("sh", self.name)
        return [Desired(ctx.target.name, f"command {p}", "present", {"check": "command", "program": p})
                for p in self.programs(ctx.guide)]

    def programs(self, guide) -> list[str]:
        return script_programs(guide)
