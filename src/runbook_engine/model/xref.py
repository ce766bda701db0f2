"""Cross-reference checks on objects that are already valid one by one: unknown ids, duplicates,
rules between fields, script messages and translations. Each error names the file and line."""
from __future__ import annotations

import re
from typing import Any

from runbook_engine.model.errors import KbError
from runbook_engine.model.rules import (LANGS, SETTING_REF, cmd_program_problem, cmd_setting_name_problem, cmd_token_problem,
                                        cmd_word_problem, script_message_problem, shell_message_problem, shell_token_problem,
                                        shell_word_problem)
from runbook_engine.model.schema import Family, Guide, InventoryExamples, japanese_in
from runbook_engine.model.validation import walk_texts
from runbook_engine.model.yamlio import locate


def _dupes(items: list, key, name: str, raw: Any, path: tuple, what: str) -> list[KbError]:
    seen: dict[str, int] = {}
    errs = []
    for i, item in enumerate(items):
        k = key(item)
        kk = k.lower() if isinstance(k, str) else k
        if kk in seen:
            errs.append(KbError(name, locate(raw, path + (i,)), f"duplicate {what} '{k}' (first at item {seen[kk]})"))
        else:
            seen[kk] = i
    return errs


def check_family(fam: Family, raw: Any, name: str) -> list[KbError]:
    errs = _dupes(fam.ports, lambda p: p.id, name, raw, ("ports",), "port id")
    errs += _dupes(fam.ports, lambda p: (p.protocol, p.direction, p.port), name, raw, ("ports",), "port")
    errs += _dupes(fam.versions, lambda v: v.id, name, raw, ("versions",), "version id")
    versions = {v.id for v in fam.versions}
    order = {v.id: v.order for v in fam.versions}
    errs += _dupes(fam.versions, lambda v: v.order, name, raw, ("versions",), "version order")
    for i, p in enumerate(fam.ports):
        for key in ("since", "until"):
            v = getattr(p, key)
            if v is not None and v not in versions:
                errs.append(KbError(name, locate(raw, ("ports", i, key)), f"ports.{i}.{key}: unknown version '{v}'"))
        if p.since in order and p.until in order and order[p.until] < order[p.since]:
            errs.append(KbError(name, locate(raw, ("ports", i, "until")), f"ports.{i}.until: version '{p.until}' comes before since '{p.since}'"))
        expected_side = "local" if p.direction == "in" else "remote"
        if p.side != expected_side:
            errs.append(KbError(name, locate(raw, ("ports", i, "side")), f"ports.{i}.side: a port with direction '{p.direction}' is a {expected_side} port"))
    errs += _dupes(fam.resource_types, lambda t: t.kind, name, raw, ("resource_types",), "resource kind")
    errs += _dupes(fam.monitor_types, lambda t: t.kind, name, raw, ("monitor_types",), "monitor kind")
    conf = fam.configuration
    script_names = set(conf.script_files)
    wanted = {"windows": {"START.BAT", "STOP.BAT"}, "linux": {"start.sh", "stop.sh"}}[fam.os]
    if script_names != wanted:
        errs.append(KbError(name, locate(raw, ("configuration", "script_files")),
                            f"configuration.script_files: a {fam.os} family names {', '.join(sorted(wanted))}"))
    path_ok = conf.install_dir.startswith("/") == (fam.os == "linux")
    if not path_ok:
        errs.append(KbError(name, locate(raw, ("configuration", "install_dir")),
                            f"configuration.install_dir: not a {fam.os} path"))
    errs += _dupes(conf.delivery, lambda d: d.id, name, raw, ("configuration", "delivery"), "delivery id")
    for i, d in enumerate(conf.delivery):
        for j, v in enumerate(d.versions):
            if v not in versions:
                errs.append(KbError(name, locate(raw, ("configuration", "delivery", i, "versions", j)),
                                    f"configuration.delivery.{i}.versions: unknown version '{v}'"))
    return errs


def check_guide(g: Guide, raws: dict[str, Any], fam: Family) -> list[KbError]:
    errs: list[KbError] = []
    mname, mraw = raws["meta"]
    pname, praw = raws["procedure"]
    sname, sraw = raws.get("services", ("", None))
    cname, craw = raws.get("scripts", ("", None))
    rname, rraw = raws["resources"]
    port_ids = {p.id for p in fam.ports}
    version_ids = {v.id for v in fam.versions}
    feature_ids = {f.id for f in g.meta.features}
    guide_ids = {r.id for r in fam.guides}

    for i, pid in enumerate(g.meta.ports):
        if pid not in port_ids:
            errs.append(KbError(mname, locate(mraw, ("ports", i)), f"ports: unknown port '{pid}'"))
    errs += _dupes(g.meta.ports, lambda x: x, mname, mraw, ("ports",), "port reference")
    for i, v in enumerate(g.meta.scope.applies_to):
        if v not in version_ids:
            errs.append(KbError(mname, locate(mraw, ("scope", "applies_to", i)), f"scope.applies_to: unknown version '{v}'"))
    for i, r in enumerate(g.meta.related):
        if r == g.id:
            errs.append(KbError(mname, locate(mraw, ("related", i)), f"related: guide '{r}' refers to itself"))
        elif r not in guide_ids:
            errs.append(KbError(mname, locate(mraw, ("related", i)), f"related: unknown guide '{r}'"))
    node_ids = {n.id for n in g.meta.topology.nodes}
    for i, n in enumerate(g.meta.topology.nodes):
        if fam.os == "windows" and len(n.name) > 15:
            errs.append(KbError(mname, locate(mraw, ("topology", "nodes", i, "name")),
                                f"topology.nodes: '{n.name}' is longer than 15 characters (a Windows computer name)"))
    for i, fig in enumerate(g.meta.topology.figures):
        for j, d in enumerate(fig.down):
            if d not in node_ids:
                errs.append(KbError(mname, locate(mraw, ("topology", "figures", i, "down", j)), f"topology.figures: unknown node '{d}'"))
    for i, pat in enumerate(g.meta.os_product_patterns):
        try:
            re.compile(pat)
        except re.error as exc:
            errs.append(KbError(mname, locate(mraw, ("os_product_patterns", i)), f"os_product_patterns: bad pattern: {exc}"))

    # steps
    steps_loc = []
    for pi, ph in enumerate(g.procedure.phases):
        for si, st in enumerate(ph.steps):
            steps_loc.append((st, ("phases", pi, "steps", si)))
    step_ids = {}
    for st, loc in steps_loc:
        if st.id in step_ids:
            errs.append(KbError(pname, locate(praw, loc + ("id",)), f"duplicate step id '{st.id}'"))
        step_ids.setdefault(st.id, loc)
        errs += _dupes(st.substeps, lambda x: x.id, pname, praw, loc + ("substeps",), f"substep id of step '{st.id}'")
        if st.when is not None and st.when not in feature_ids:
            errs.append(KbError(pname, locate(praw, loc + ("when",)), f"step '{st.id}': unknown feature '{st.when}'"))
        if "clpcfset" in st.shows and not set(g.meta.scope.applies_to) & {v for vs in fam.tool_versions().values() for v in vs}:
            errs.append(KbError(pname, locate(praw, loc + ("shows",)), f"step '{st.id}': shows clpcfset, but the guide covers "
                                "no version whose configuration tool is clpcfset or clpcfadm (configuration.delivery)"))
    phase_ids = [p.id for p in g.procedure.phases]
    errs += _dupes(phase_ids, lambda x: x, pname, praw, ("phases",), "phase id")
    actions = [st.action for st, _ in steps_loc if st.action]
    for st, loc in steps_loc:
        if st.action and actions.count(st.action) > 1:
            errs.append(KbError(pname, locate(praw, loc + ("action",)), f"step '{st.id}': action '{st.action}' is used by more than one step"))

    # services
    errs += _dupes(g.services, lambda s: s.id, sname, sraw, ("services",), "service id")
    errs += _dupes(g.services, lambda s: s.service, sname, sraw, ("services",), "service name")
    errs += _dupes([s for s in g.services if s.watch_id], lambda s: s.watch_id, sname, sraw, ("services",), "watch id")
    for i, s in enumerate(g.services):
        if s.feature not in feature_ids:
            errs.append(KbError(sname, locate(sraw, ("services", i, "feature")), f"service '{s.id}': unknown feature '{s.feature}'"))
        if s.manual_in is not None and s.manual_in not in step_ids:
            errs.append(KbError(sname, locate(sraw, ("services", i, "manual_in")), f"service '{s.id}': unknown step '{s.manual_in}'"))
        if s.scripted and s.watch_id is None and fam.os == "windows":
            errs.append(KbError(sname, locate(sraw, ("services", i)), f"service '{s.id}': a scripted service needs a watch_id (ARMLOAD / ARMKILL)"))
        if s.scripted and s.forbid_kill:
            errs.append(KbError(sname, locate(sraw, ("services", i, "scripted")), f"service '{s.id}': a service that must never be stopped cannot be scripted (ARMKILL would stop it)"))
        if s.scripted and s.manual_in is None:
            errs.append(KbError(sname, locate(sraw, ("services", i)), f"service '{s.id}': a scripted service must be set to manual start (manual_in)"))
    if g.scripts is not None:
        errs += _check_scripts(g, cname, craw, feature_ids, fam)

    # resources
    errs += _dupes(g.resources, lambda r: r.id, rname, rraw, ("resources",), "resource id")
    errs += _resource_errors(g, fam, rname, rraw, step_ids)
    if g.monitors:
        errs += _monitor_errors(g, fam, *raws["monitors"])
    if g.upgrade is not None:
        uname, uraw = raws["upgrade"]
        for pi, ph in enumerate(g.upgrade.phases):
            for si, st in enumerate(ph.steps):
                loc = ("phases", pi, "steps", si)
                if st.id in step_ids:
                    errs.append(KbError(uname, locate(uraw, loc + ("id",)), f"step id '{st.id}' is also a step of procedure.yaml"))
                if st.mode != "manual":
                    errs.append(KbError(uname, locate(uraw, loc + ("mode",)), f"step '{st.id}': the steps of a further "
                                        "procedure are manual (the runbook runs procedure.yaml)"))
    if g.upgrade is not None and g.upgrade.title is None:
        errs.append(KbError(raws["upgrade"][0], 1, "title: a further procedure needs a title"))
    for i, r in enumerate(g.resources):
        if r.register_after is not None and r.register_after not in step_ids:
            errs.append(KbError(rname, locate(rraw, ("resources", i, "register_after")), f"resource '{r.id}': unknown step '{r.register_after}'"))

    # the original document's items: the steps and phases they became
    if g.origin is not None:
        oname, oraw = raws["origin"]
        errs += _dupes(g.origin.sections, lambda s: s.id, oname, oraw, ("sections",), "section id")
        phases = set(phase_ids)
        for si, section in enumerate(g.origin.sections):
            for loc, item in _origin_items(section.items, ("sections", si, "items")):
                for k, step_id in enumerate(item.steps):
                    if step_id not in step_ids:
                        errs.append(KbError(oname, locate(oraw, loc + ("steps", k)), f"origin item '{item.label}': unknown step '{step_id}'"))
                errs += _dupes(item.steps, lambda x: x, oname, oraw, loc + ("steps",), "step")
                if item.phase is not None and item.phase not in phases:
                    errs.append(KbError(oname, locate(oraw, loc + ("phase",)), f"origin item '{item.label}': unknown phase '{item.phase}'"))
    return errs


#: The fields each resource kind must have (and the only kinds that may have them).
_KIND_FIELDS = {
    "md": ("data_partition", "cluster_partition", "file_system"),
    "service": ("service",),
    "registry": ("key",),
}
_OPTIONAL_FIELDS = {"mount_point": ("md",), "register_after": ("registry",)}


def _resource_errors(g: Guide, fam: Family, rname: str, rraw: Any, step_ids) -> list[KbError]:
    errs: list[KbError] = []
    ids = [r.id for r in g.resources]
    services = {s.id for s in g.services}
    known = {t.kind for t in fam.resource_types}
    for i, r in enumerate(g.resources):
        loc = ("resources", i)
        if known and r.kind not in known:
            errs.append(KbError(rname, locate(rraw, loc + ("kind",)), f"resource '{r.id}': {fam.id} has no resource type '{r.kind}' "
                                f"(known: {', '.join(sorted(known))})"))
        for kind, fields in _KIND_FIELDS.items():
            for f in fields:
                has = getattr(r, f) is not None
                if r.kind == kind and not has:
                    errs.append(KbError(rname, locate(rraw, loc), f"resource '{r.id}': a {kind} resource needs a {f}"))
                elif r.kind != kind and has:
                    errs.append(KbError(rname, locate(rraw, loc + (f,)), f"resource '{r.id}': {f} is for a {kind} resource"))
        for f, kinds in _OPTIONAL_FIELDS.items():
            if getattr(r, f) is not None and r.kind not in kinds:
                errs.append(KbError(rname, locate(rraw, loc + (f,)), f"resource '{r.id}': {f} is for a {'/'.join(kinds)} resource"))
        if r.kind == "md":
            windows = fam.os == "windows"
            for f in ("data_partition", "cluster_partition"):
                v = getattr(r, f)
                if v is not None and v.startswith("/dev/") == windows:
                    errs.append(KbError(rname, locate(rraw, loc + (f,)), f"resource '{r.id}': {f} must be a "
                                        + ("drive letter (E:)" if windows else "device (/dev/sdb2)")))
            if r.data_partition and r.data_partition.upper() == "C:":
                errs.append(KbError(rname, locate(rraw, loc + ("data_partition",)), f"resource '{r.id}': the system drive C: cannot be mirrored"))
            if r.data_partition and r.data_partition == r.cluster_partition:
                errs.append(KbError(rname, locate(rraw, loc + ("cluster_partition",)), f"resource '{r.id}': the cluster partition must differ from the data partition"))
            if windows and r.mount_point is not None:
                errs.append(KbError(rname, locate(rraw, loc + ("mount_point",)), f"resource '{r.id}': a Windows mirror disk has no mount point (the drive letter is it)"))
            if not windows and r.mount_point is None:
                errs.append(KbError(rname, locate(rraw, loc), f"resource '{r.id}': a Linux mirror disk needs mount_point"))
        if r.service is not None and r.service not in services:
            errs.append(KbError(rname, locate(rraw, loc + ("service",)), f"resource '{r.id}': unknown service '{r.service}'"))
        for j, d in enumerate(r.depends_on):
            if d not in ids:
                errs.append(KbError(rname, locate(rraw, loc + ("depends_on", j)), f"resource '{r.id}': unknown resource '{d}'"))
            elif ids.index(d) >= i:
                errs.append(KbError(rname, locate(rraw, loc + ("depends_on", j)), f"resource '{r.id}': depends on '{d}', "
                                    "which must come before it (resources are listed in start order)"))
    errs += _dupes([r for r in g.resources if r.cluster_name], lambda r: r.cluster_name, rname, rraw, ("resources",), "cluster name")
    return errs


def _monitor_errors(g: Guide, fam: Family, name: str, raw: Any) -> list[KbError]:
    errs = _dupes(g.monitors, lambda m: m.id, name, raw, ("monitors",), "monitor id")
    known = {t.kind for t in fam.monitor_types}
    ids = {r.id for r in g.resources}
    for i, m in enumerate(g.monitors):
        if m.kind not in known:
            errs.append(KbError(name, locate(raw, ("monitors", i, "kind")), f"monitor '{m.id}': {fam.id} has no monitor type '{m.kind}' "
                                f"(known: {', '.join(sorted(known)) or 'none'})"))
        for f in ("target", "recovery_target"):
            v = getattr(m, f)
            if v is not None and v not in ids:
                errs.append(KbError(name, locate(raw, ("monitors", i, f)), f"monitor '{m.id}': unknown resource '{v}'"))
        if m.recovery_action is not None and m.recovery_target is None:
            errs.append(KbError(name, locate(raw, ("monitors", i, "recovery_action")), f"monitor '{m.id}': a recovery "
                                "action needs the recovery target it acts on (recovery_target)"))
    return errs


def _check_scripts(g: Guide, cname: str, craw: Any, feature_ids: set[str], fam: Family) -> list[KbError]:
    errs: list[KbError] = []
    sc = g.scripts
    for i, f in enumerate(sc.features):
        if f not in feature_ids:
            errs.append(KbError(cname, locate(craw, ("features", i)), f"features: unknown feature '{f}'"))
    errs += _dupes(sc.messages, lambda m: m.id, cname, craw, ("messages",), "message id")
    errs += _dupes(sc.guidance, lambda x: x.id, cname, craw, ("guidance",), "guidance id")
    linux = fam.os == "linux"
    # Windows: messages travel inside ARMBCAST /MSG "..." in cmd.exe: reject what breaks or
    # injects there. Linux: clplogcmd -m '...' (quoted by batch/shell.py): one line, encodable.
    message_problem = shell_message_problem if linux else script_message_problem
    for i, m in enumerate(sc.messages):
        for lang in LANGS:
            problem = message_problem(m.text(lang), lang)
            if problem:
                errs.append(KbError(cname, locate(craw, ("messages", i, "text", lang)), f"message '{m.id}' ({lang}): {problem}"))
    errs += _check_commands(g, cname, craw, fam.os)
    if not linux:
        if sc.flag_notes is None:
            errs.append(KbError(cname, 1, "flag_notes: required field missing (ARMLOAD's flags)"))
        if not g.scripted_services() and not errs:
            errs.append(KbError(cname, locate(craw, ("features",)) if isinstance(craw, dict) and "features" in craw else 1,
                                "features: no scripted service of services.yaml belongs to these features: START.BAT "
                                "would start nothing (a guide whose cluster starts its services itself has no scripts.yaml)"))
        return errs
    return errs + _check_shell_scripts(g, cname, craw)


def _check_commands(g: Guide, cname: str, craw: Any, os_name: str) -> list[KbError]:
    """The settings and commands of either family: defined once and before use, commands name
    known settings and messages, and every word obeys the family's shell: bash words quoted as
    shlex does (Linux), or cmd words that cmd.exe neither expands nor splits, run as the node's
    service account (Windows: no ``user``, the first word a bare program name)."""
    sc = g.scripts
    windows = os_name == "windows"
    errs = _dupes(sc.settings, lambda s: s.name, cname, craw, ("settings",), "setting")
    errs += _dupes(sc.commands, lambda c: c.id, cname, craw, ("commands",), "command id")
    for i, s in enumerate(sc.settings):
        if windows:
            problem = cmd_setting_name_problem(s.name)
            if problem:
                errs.append(KbError(cname, locate(craw, ("settings", i, "name")), problem))
            problem = cmd_word_problem(s.value, what="setting value")
        else:
            problem = shell_word_problem(s.value, what="setting value")
        if problem:
            errs.append(KbError(cname, locate(craw, ("settings", i, "value")), f"setting '{s.name}': {problem}"))
    names = {s.name for s in sc.settings}
    messages = {m.id for m in sc.messages}
    for i, c in enumerate(sc.commands):
        loc = ("commands", i)
        if windows and c.user is not None:
            errs.append(KbError(cname, locate(craw, loc + ("user",)), f"command '{c.id}': user is for a Linux family "
                                "(su -); a Windows script runs its commands as the cluster's service account"))
        tokens = [(("argv", j), t) for j, t in enumerate(c.argv)] + ([(("user",), c.user)] if c.user and not windows else [])
        for where, token in tokens:
            if windows:
                problem = cmd_program_problem(token) if where == ("argv", 0) else cmd_token_problem(token)
            else:
                problem = shell_token_problem(token)
            if problem:
                errs.append(KbError(cname, locate(craw, loc + where), f"command '{c.id}': {problem}"))
                continue
            for ref in SETTING_REF.findall(token):
                if ref not in names:
                    errs.append(KbError(cname, locate(craw, loc + where), f"command '{c.id}': unknown setting '{ref}' "
                                        f"in {token!r} (known: {', '.join(sorted(names)) or 'none'})"))
        if c.failure is not None and c.failure not in messages:
            errs.append(KbError(cname, locate(craw, loc + ("failure",)), f"command '{c.id}': unknown message '{c.failure}'"))
        errs += _dupes(c.events, lambda e: e, cname, craw, loc + ("events",), "event")
    return errs


def _check_shell_scripts(g: Guide, cname: str, craw: Any) -> list[KbError]:
    """start.sh / stop.sh start something: a command for each event."""
    sc = g.scripts
    errs: list[KbError] = []
    line = locate(craw, ("commands",)) if isinstance(craw, dict) and "commands" in craw else 1
    missing = [e for e in ("START", "FAILOVER") if not sc.commands_of("start", e)]
    if len(missing) == 2:
        errs.append(KbError(cname, line, "commands: the start script runs no command (a start script that starts nothing)"))
    elif missing:
        errs.append(KbError(cname, line, f"commands: the start script runs no command for CLP_EVENT={missing[0]} "
                            "(it would start nothing then)"))
    return errs


def _origin_items(items: list, loc: tuple):
    """(raw path, item) of *items* and of their sub-items, in document order."""
    for i, item in enumerate(items):
        yield loc + (i,), item
        yield from _origin_items(item.items, loc + (i, "items"))


def check_inventory_examples(ex: InventoryExamples, raw: Any, name: str, files: set[str]) -> list[KbError]:
    """Every example names a file of kb/inventories/ once, and ids are unique."""
    errs = _dupes(ex.examples, lambda e: e.id, name, raw, ("examples",), "example id")
    errs += _dupes(ex.examples, lambda e: e.file, name, raw, ("examples",), "example file")
    for i, e in enumerate(ex.examples):
        if e.file not in files:
            errs.append(KbError(name, locate(raw, ("examples", i, "file")), f"example '{e.id}': no file '{e.file}' beside {name.rsplit('/', 1)[-1]}"))
    return errs


def check_translations(parsed: list[tuple[str, Any]], proper_nouns: list[str]) -> list[KbError]:
    """No Japanese left in English texts, except the listed proper nouns (UI labels quoted as-is).
    Works on the data already parsed: no file is read twice."""
    errs = []
    allowed = set(proper_nouns)
    for name, raw in parsed:
        for loc, text in walk_texts(raw):
            en = text.get("en")
            if not isinstance(en, str):
                continue
            runs = [r for r in japanese_in(en) if r not in allowed]
            if runs:
                errs.append(KbError(name, locate(raw, loc + ("en",)), f"{'.'.join(map(str, loc))}.en: Japanese text in the English field: {runs[0]!r}"))
    return errs
