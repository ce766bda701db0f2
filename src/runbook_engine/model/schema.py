"""Typed model of the knowledge base (kb/): the product family and one guide per folder.

Every human-readable field is a :class:`Text` with both ``ja`` and ``en``. Ids are lower-case
kebab-case and stable: notebooks, journals and the site refer to them.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from runbook_engine.model.errors import KbError, KbInvalid
from runbook_engine.model.rules import ClusterName, CmdText, Device, Drive, Id, NodePath, PosixPath, RegistryKey, ServerName, ServiceName, SETTING_REF, SettingName, SettingValue, ShellToken, WatchId, WindowsPath  # noqa: F401 - the value types live in rules

_JA = "\u3000-\u30ff\u3400-\u9fff\uff00-\uffef"
_JA_GAP = re.compile(f"(?<=[{_JA}]) +(?=[{_JA}])")
_JA_PUNCT_GAP = re.compile("(?<=[、。「」『』（）]) +")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Text(Strict):
    """One human text in both languages."""

    ja: Annotated[str, StringConstraints(min_length=1)]
    en: Annotated[str, StringConstraints(min_length=1)]

    @field_validator("ja", "en")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        problem = text_problem(v)
        if problem:
            raise ValueError(problem)
        return v.strip("\n")

    @field_validator("ja")
    @classmethod
    def _japanese_folding(cls, v: str) -> str:
        """YAML folds line breaks into spaces; Japanese puts no space between words or after 、。"""
        v = _JA_GAP.sub("", v)
        return _JA_PUNCT_GAP.sub("", v)

    def __call__(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en


def japanese_in(text: str) -> list[str]:
    """Runs of Japanese characters in *text*, Japanese punctuation (、。「」 and the ideographic
    space) and full-width forms included (used by the translation checks)."""
    return re.findall(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]+", text)


#: raw HTML in a text (a tag the Markdown would pass through): `<word`, `</word`, `<!`
_RAW_HTML = re.compile(r"<[/!]?[A-Za-z]")
_CODE_SPAN = re.compile(r"`[^`]*`")


def text_problem(v: str) -> str | None:
    """Why *v* is not a text a reader can see and the site can show as written, or None: blank,
    nothing visible (only spaces and invisible characters), an invisible format character
    (zero-width, bidirectional override: U+200B, U+202E, ...) or raw HTML outside a code span
    (`<server>` would become a tag and swallow what follows)."""
    if not v.strip():
        return "text must not be blank"
    fmt = next((c for c in v if unicodedata.category(c) == "Cf"), None)
    if fmt is not None:
        return f"text has an invisible format character U+{ord(fmt):04X}"
    if not any(unicodedata.category(c)[0] not in "ZC" for c in v):
        return "text has no visible character"
    ctrl = next((c for c in v if unicodedata.category(c) == "Cc" and c not in "\n\t"), None)
    if ctrl is not None:
        return f"text has a control character U+{ord(ctrl):04X}"
    html = _RAW_HTML.search(_CODE_SPAN.sub("", v))
    if html:
        return f"text has raw HTML ({html.group(0)}...): put placeholders such as <server> in backticks"
    return None


# --------------------------------------------------------------------------------------------
# Product family
# --------------------------------------------------------------------------------------------


class Version(Strict):
    id: Id
    name: str
    order: int
    internal: str | None = None  # the internal version number(s), where a public source gives them
    source: str | None = None  # where the version is named (the original guide's versions have none)


class Port(Strict):
    """One communication port record, reused wherever it appears."""

    id: Id
    protocol: Literal["tcp", "udp"]
    direction: Literal["in", "out"]
    side: Literal["local", "remote"]
    port: int = Field(ge=1, le=65535)
    purpose: Text
    peer: Text | None = None
    since: Id  # the first version of the family the record applies to
    until: Id | None = None  # the last one (None: every later version)
    condition: Text | None = None
    sources: list[str] = Field(default_factory=list)  # public sources beyond the seed


class VariableValue(Strict):
    value: Annotated[str, StringConstraints(pattern=r"^[A-Z]+$")]
    meaning: Text


class ScriptVariable(Strict):
    name: Annotated[str, StringConstraints(pattern=r"^CLP_[A-Z_]+$")]
    description: Text
    values: list[VariableValue] = Field(default_factory=list)


class ArmOption(Strict):
    flag: Annotated[str, StringConstraints(pattern=r"^/[A-Z]+$")]
    meaning: Text
    recommended: bool = True
    note: Text | None = None


class ArmCommand(Strict):
    name: Annotated[str, StringConstraints(pattern=r"^ARM[A-Z]+$")]
    synopsis: str
    description: Text
    options: list[ArmOption] = Field(default_factory=list)


class GuideRef(Strict):
    id: Id
    title: Text
    in_kb: bool = False


#: the delivery entries (``configuration.delivery`` ids) of the tools that build a cluster
#: configuration from commands: a guide on one of their versions gets the clpcfset sequence
CONFIGURATION_TOOLS = ("clpcfset", "clpcfadm")


class Delivery(Strict):
    """One way a cluster configuration (and the script resource's files in its folder) reaches
    the cluster, for the versions named: the tool, what the operator does and the exact commands
    (``{folder}``, ``{group}`` and ``{resource}`` stand for the inventory's values)."""

    id: Id
    versions: list[Id] = Field(min_length=1)
    tool: Text
    text: Text
    commands: list[str] = Field(default_factory=list)
    # for the tools that build a configuration from commands (clpcfset, clpcfadm): what the
    # guide's generated clpcfset sequence means on these versions (shown with the sequence)
    note: Text | None = None
    sources: list[str] = Field(min_length=1)


class ResourceType(Strict):
    """A resource or monitor type of the family: its name, its type name in the cluster
    configuration (clpcfset's ``add rsc`` / ``add mon``) and the public source."""

    kind: Id
    type: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{2,16}$")]
    name: Text
    # a resource field of ours -> its parameter path in clpcfset's ``add rscparam`` (md: the partitions...)
    # ("address": the inventory's FIP address; the others: the resource's fields of the same name)
    parameters: dict[Literal["address", "data_partition", "cluster_partition", "file_system", "mount_point", "service"],
                     Annotated[str, StringConstraints(pattern=r"^[a-z0-9@/_]+$")]] = Field(default_factory=dict)
    # a mirror disk: the path under which it names its mirror connects, one per interconnect
    # (``<netdev>@<i>/priority``, ``/device``, ``/mdcname``: artifacts/clpcfset.py)
    netdev: Annotated[str, StringConstraints(pattern=r"^[a-z0-9/_]+$")] | None = None
    # parameters every resource of the type gets, whatever the guide (an exec resource's script
    # names: the files the guide's scripts are delivered as)
    fixed: dict[Annotated[str, StringConstraints(pattern=r"^[a-z0-9@/_]+$")],
                Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]+$")]] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)


class ClusterConfiguration(Strict):
    """Where a script resource's files live: beside clp.conf in the configuration folder that the
    configuration tools read and write (``script_folder``, relative to it), and on every server
    once the configuration is delivered (``script_folder`` under ``install_dir``)."""

    script_folder: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.{}\\/-]+$")]
    script_files: dict[Literal["START.BAT", "STOP.BAT", "start.sh", "stop.sh"], Annotated[str, StringConstraints(pattern=r"^[a-z]+\.(?:bat|sh)$")]]
    install_dir: NodePath
    text: Text
    sources: list[str] = Field(min_length=1)
    delivery: list[Delivery] = Field(min_length=1)
    # the language of the product edition -> the encode value of ``clpcfset create`` (the
    # Japanese CLUSTERPRO, the English EXPRESSCLUSTER); the build language picks one
    encode: dict[Literal["ja", "en"], Annotated[str, StringConstraints(pattern=r"^[A-Z0-9-]{2,16}$")]] = Field(default_factory=dict)
    encode_sources: list[str] = Field(default_factory=list)

    @field_validator("script_folder")
    @classmethod
    def _names_both(cls, v: str) -> str:
        if "{group}" not in v or "{resource}" not in v:
            raise ValueError("script_folder must contain {group} and {resource}")
        return v

    def folder(self, group: str, resource: str) -> str:
        return self.script_folder.format(group=group, resource=resource)


class Family(Strict):
    """One product line on one operating system (CLUSTERPRO X for Windows, for Linux): its
    versions, ports, script environment and configuration layout. A guide names its family."""

    id: Id
    os: Literal["windows", "linux"]  # the node's operating system: which transports, scripts and actions apply
    name: Text
    vendor: Text
    platform: Text
    versions: list[Version] = Field(min_length=1)
    ports: list[Port] = Field(min_length=1)
    port_note: Text
    script_variables: list[ScriptVariable]
    arm_commands: list[ArmCommand] = Field(default_factory=list)
    watch_id_rules: Text | None = None
    configuration: ClusterConfiguration
    resource_types: list[ResourceType] = Field(default_factory=list)
    monitor_types: list[ResourceType] = Field(default_factory=list)
    # a monitor's recovery action (Monitor.recovery_action) -> the monitor parameters that set it
    # in the cluster configuration (clpcfset's ``add monparam <type> <monitor> <path> <value>``)
    recovery_actions: dict[Literal["restart", "restart-then-failover", "failover", "final-action"],
                           dict[Annotated[str, StringConstraints(pattern=r"^[a-z0-9@/_]+$")],
                                Annotated[str, StringConstraints(pattern=r"^[0-9]+$")]]] = Field(default_factory=dict)
    recovery_action_sources: list[str] = Field(default_factory=list)
    guides: list[GuideRef] = Field(default_factory=list)
    proper_nouns: list[str] = Field(default_factory=list)

    def version_ids(self) -> list[str]:
        return [v.id for v in sorted(self.versions, key=lambda v: v.order)]

    def tool_versions(self) -> dict[str, list[str]]:
        """Configuration tool (clpcfset, clpcfadm) -> the versions its delivery entry names."""
        return {d.id: list(d.versions) for d in self.configuration.delivery if d.id in CONFIGURATION_TOOLS}

    def port_versions(self, port: Port) -> list[str]:
        """The versions *port* applies to, in order (from ``since`` to ``until``)."""
        order = {v.id: v.order for v in self.versions}
        lo, hi = order[port.since], order[port.until] if port.until else max(order.values())
        return [v for v in self.version_ids() if lo <= order[v] <= hi]

    def version_names(self, ids) -> str:
        names = {v.id: v.name for v in self.versions}
        return ", ".join(names[i] for i in ids)

    def version_ranges(self, ids, dash: str = " – ") -> str:
        """*ids* as runs of consecutive versions of the family: "X 1.0 – X 2.1, X 4.2"."""
        names = {v.id: v.name for v in self.versions}
        wanted = set(ids)
        runs: list[list[str]] = []
        prev_in = False
        for v in self.version_ids():
            if v in wanted:
                if prev_in:
                    runs[-1].append(v)
                else:
                    runs.append([v])
            prev_in = v in wanted
        return ", ".join(names[r[0]] if len(r) == 1 else f"{names[r[0]]}{dash}{names[r[-1]]}" for r in runs)


# --------------------------------------------------------------------------------------------
# Guide
# --------------------------------------------------------------------------------------------


class Edition(Strict):
    id: Id
    name: Text
    versions: Text
    supported: bool
    conditions: list[Text] = Field(default_factory=list)
    reasons: list[Text] = Field(default_factory=list)


class Scope(Strict):
    summary: Text
    applies_to: list[Id] = Field(min_length=1)
    editions: list[Edition] = Field(min_length=1)
    security_reason: Text | None = None
    disclaimer: Text
    sources: list[str] = Field(default_factory=list)  # public sources of what it says beyond the seed


class Feature(Strict):
    id: Id
    name: Text
    description: Text


class Node(Strict):
    id: Id
    name: ServerName
    priority: int = Field(ge=1, le=32)


class Network(Strict):
    """A network the nodes are on: ``public`` (where clients reach the FIP address) or
    ``interconnect`` (the cluster's private network, for CLUSTERPRO's own traffic)."""

    id: Id
    kind: Literal["public", "interconnect"]
    name: Text
    description: Text


class Topology(Strict):
    mode: Text
    mode_description: Text
    node_count: Text
    nodes: list[Node] = Field(min_length=2, max_length=4)
    networks: list[Network] = Field(default_factory=list)
    client_access: Text
    virtual_ip_note: Text
    figures: list["Figure"] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _priorities_unique(self):
        prios = [n.priority for n in self.nodes]
        if len(set(prios)) != len(prios):
            raise ValueError("node priorities must be unique")
        ids = [n.id for n in self.networks]
        if len(set(ids)) != len(ids):
            raise ValueError("network ids must be unique")
        return self


class Figure(Strict):
    id: Id
    caption: Text
    down: list[Id] = Field(default_factory=list)
    description: Text


class Environment(Strict):
    operating_systems: list[str] = Field(min_length=1)
    protocol: str
    file_system: str
    text: Text
    sources: list[str] = Field(default_factory=list)


#: The resource kinds guides use (the family's ``resource_types`` name each one and its cluster type).
RESOURCE_KINDS = ("fip", "disk", "md", "script", "exec", "service", "registry")


class Resource(Strict):
    """One resource of the failover group. Its kind's own fields: ``md`` the partitions (a drive
    letter on Windows, a device on Linux), the file system and (Linux) the mount point;
    ``service`` the service it starts (an id of services.yaml); ``registry`` the key."""

    id: Id
    kind: Literal["fip", "disk", "md", "script", "exec", "service", "registry"]
    name: Text
    detail: Text
    cluster_name: ClusterName | None = None  # its name in the cluster configuration, where the guide fixes one
    depends_on: list[Id] = Field(default_factory=list)  # resources started before it (ids); [] = the default dependency
    data_partition: Drive | Device | None = None
    cluster_partition: Drive | Device | None = None
    file_system: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{2,16}$")] | None = None
    mount_point: PosixPath | None = None
    service: Id | None = None
    key: RegistryKey | None = None
    register_after: Id | None = None
    optional: bool = False  # the guide names it as optional
    note: Text | None = None
    sources: list[str] = Field(default_factory=list)  # public sources of its values beyond the seed


class MonitorParameter(Strict):
    """One setting of a monitor resource: its name on the settings tab and its value."""

    name: Text
    value: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\r\n]+$")]
    tag: Annotated[str, StringConstraints(pattern=r"^[a-z0-9@/_]+$")] | None = None  # its clpcfset path (add monparam)


class Monitor(Strict):
    """A monitor resource the guide adds: its type (the family's ``monitor_types``), what it
    watches and the settings the guide gives."""

    id: Id
    kind: Id
    name: Text
    target: Id | None = None  # the resource it watches (monitors while that resource is active)
    recovery_target: Id | None = None
    # what the monitor does to the recovery target on an error (the Recovery Action tab's
    # templates): restart it, restart it then fail over, fail over, or only the final action
    # (None: the guide does not say)
    recovery_action: Literal["restart", "restart-then-failover", "failover", "final-action"] | None = None
    parameters: list[MonitorParameter] = Field(default_factory=list)
    requires: Text | None = None  # e.g. a licence
    optional: bool = False
    note: Text | None = None
    sources: list[str] = Field(default_factory=list)  # public sources of its settings beyond the seed


class Service(Strict):
    """A service (Windows) or systemd unit (Linux) of the application that the cluster starts:
    set to manual start (``manual_in`` names the step), started by the scripts (``scripted``,
    with a ``watch_id`` for ARMLOAD) or by a service resource."""

    id: Id
    service: ServiceName
    display_name: CmdText
    watch_id: WatchId | None = None
    feature: Id
    label: Text
    flags: list[Literal["/S", "/M", "/FOV"]] = Field(default_factory=lambda: ["/S", "/M"])
    manual_in: Id | None = None
    scripted: bool = True
    forbid_kill: bool = False
    mask: bool = False  # Linux: the unit is masked too, not only disabled (units-manual)
    note: Text | None = None
    phase: Literal["common", "after-priority"] = "common"


class SubStep(Strict):
    id: Id
    text: Text


class Step(Strict):
    id: Id
    label: str
    title: Text
    text: Text
    # manual: the operator does it and records a confirmation; automated: the engine plans,
    # applies and verifies a change; check: the engine only reads and reports (never a change)
    mode: Literal["manual", "automated", "check"]
    action: Id | None = None  # a registered engine action (checked by the engine, which knows them)
    # a manual step that an engine action not written yet will automate (shown on the procedure
    # page and in the notebook; never run, and not checked against the registered actions)
    planned_action: Id | None = None
    when: Id | None = None
    # the targets (None: the action's own default): each node, each node (values compared between
    # nodes), the first node, each DNS
    # server, once per cluster, the node where the cluster configuration is edited
    scope: Literal["every-node", "all-nodes", "first-node", "dns-servers", "cluster", "configuration"] | None = None
    substeps: list[SubStep] = Field(default_factory=list)
    notes: list["Admonition"] = Field(default_factory=list)
    shows: list[Literal["ports", "services", "dns-records", "scripts", "resources", "monitors", "delivery", "clpcfset"]] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)  # public sources of what the step says beyond the seed

    @model_validator(mode="after")
    def _automated_has_action(self):
        if self.mode in ("automated", "check") and self.action is None:
            raise ValueError(f"step '{self.id}' is {self.mode} but names no action")
        if self.mode == "manual" and self.action is not None:
            raise ValueError(f"step '{self.id}' is manual but names action '{self.action}'")
        if self.mode != "manual" and self.planned_action is not None:
            raise ValueError(f"step '{self.id}' is {self.mode}: only a manual step names a planned_action")
        return self


class Admonition(Strict):
    kind: Literal["note", "important", "related", "caution"]
    text: Text


class Phase(Strict):
    id: Id
    label: str
    title: Text
    text: Text
    steps: list[Step]


class Procedure(Strict):
    title: Text | None = None  # a guide's further procedures (upgrade.yaml) have one
    intro: Text
    references: list[Text] = Field(default_factory=list)
    phases: list[Phase] = Field(min_length=1)


class Message(Strict):
    id: Id
    text: Text


class GuidanceSample(Strict):
    """Command lines of a guidance item as the original gives them, and where they go."""

    script: Literal["START.BAT", "STOP.BAT"]
    where: Text  # the branch of the script
    code: list[Annotated[str, StringConstraints(min_length=1, pattern=r"^[^\r\n]+$")]] = Field(min_length=1)


class Guidance(Strict):
    """Something the original samples show (often as comments) that the generated scripts leave
    out: what it does, in our words, and its exact command lines."""

    id: Id
    title: Text
    text: Text
    samples: list[GuidanceSample] = Field(min_length=1)
    note: Text | None = None


class ScriptSetting(Strict):
    """A variable at the top of the start and stop scripts (``NAME='value'`` in a Linux
    start.sh / stop.sh, ``set "NAME=value"`` in a Windows START.BAT / STOP.BAT): what an operator
    adapts to the node, used by the commands as ``{NAME}``."""

    name: SettingName
    value: SettingValue
    text: Text
    sources: list[str] = Field(default_factory=list)


class ScriptCommand(Strict):
    """One command a script runs when the disk is connected, in list order: an argv of plain
    words (``{NAME}`` is a setting's value). Linux: run as ``user`` through ``su -`` if given;
    with a ``failure`` message, a non-zero exit code is logged (ERR) and ends the script with
    exit 1 (an activation or deactivation failure for the cluster). Windows: START.BAT runs it
    after the common services' ARMLOAD, STOP.BAT before the ARMKILLs; the first word is a bare
    program name, a word with a space is quoted, there is no ``user``; with a ``failure``
    message, a non-zero exit code is broadcast (ARMBCAST) and ends the script. Without a
    ``failure`` message the exit code is ignored."""

    id: Id
    script: Literal["start", "stop"]
    events: list[Literal["START", "FAILOVER"]] = Field(min_length=1)
    argv: list[ShellToken] = Field(min_length=1)
    user: ShellToken | None = None
    text: Text
    failure: Id | None = None
    sources: list[str] = Field(default_factory=list)


class ScriptConfig(Strict):
    """The start and stop scripts. A Windows family's START.BAT / STOP.BAT start and stop the
    scripted services (``features``) with ARMLOAD / ARMKILL and may run ``commands`` too; a Linux
    family's start.sh / stop.sh run ``commands``. Both use ``settings`` and log the ``messages``."""

    features: list[Id] = Field(default_factory=list)
    messages: list[Message]
    notes: list[Text] = Field(default_factory=list)
    flag_notes: Text | None = None  # ARMLOAD's flags (Windows)
    guidance: list[Guidance] = Field(default_factory=list)
    settings: list[ScriptSetting] = Field(default_factory=list)
    commands: list[ScriptCommand] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)  # public sources of the scripts' shape beyond the seed

    def commands_of(self, script: str, event: str) -> list[ScriptCommand]:
        """The commands *script* ("start" | "stop") runs for *event*, in order."""
        return [c for c in self.commands if c.script == script and event in c.events]

    def programs(self) -> list[str]:
        """The programs the commands run (their first words), each once, in order of first use."""
        return list(dict.fromkeys(c.argv[0] for c in self.commands))

    def resolve(self, token: str) -> str:
        """*token* with each ``{NAME}`` replaced by the setting's value: the word a command gets."""
        values = {s.name: s.value for s in self.settings}
        return SETTING_REF.sub(lambda m: values[m.group(1)], token)


class DnsRRset(Strict):
    """One record set in words the engine resolves from the inventory: the owner name
    (FIP host name, mail domain, reverse name of the FIP or of each node) and the value."""

    owner: Literal["fip-host", "mail-domain", "fip-reverse", "node-reverse"]
    value: Literal["fip-address", "fip-host", "node-host"]


class DnsRecordSpec(Strict):
    id: Id
    rtype: Literal["A", "MX", "PTR"]
    target: Text
    required_for: Text | None = None
    rrsets: list[DnsRRset] = Field(min_length=1)

    @model_validator(mode="after")
    def _values_fit(self):
        for r in self.rrsets:
            if (r.value == "fip-address") != (self.rtype == "A"):
                raise ValueError(f"record '{self.id}': an {self.rtype} record cannot have value '{r.value}'")
            if (r.value == "node-host") != (r.owner == "node-reverse"):
                raise ValueError(f"record '{self.id}': 'node-host' goes with owner 'node-reverse' only")
        return self


class Dns(Strict):
    intro: Text
    records: list[DnsRecordSpec]
    note: Text
    reference: Text
    sources: list[str] = Field(default_factory=list)  # public sources of what the text says beyond the seed


class Caution(Strict):
    id: Id
    number: int
    title: Text
    text: Text
    notes: list[Admonition] = Field(default_factory=list)
    shows: list[Literal["ports"]] = Field(default_factory=list)


class Cautions(Strict):
    intro: Text
    items: list[Caution]


#: Where a claim was proved: Wine's real cmd.exe (the only real component here), our cmd.exe
#: simulator, or our lint. A claim with no proof in a real component is worded as speculative.
PROVED_IN = ("wine-cmd", "simulator", "lint")


class Proof(Strict):
    """One test that proves one claim of an erratum: its ``effect`` (what the original's defect
    does) or our ``fix`` (what the generated scripts do instead)."""

    claim: Literal["effect", "fix"]
    proved_in: Literal["wine-cmd", "simulator", "lint"]
    test: Annotated[str, StringConstraints(pattern=r"^tests/[a-z0-9_]+\.py::test_[a-z0-9_]+$")]  # tests/<file>.py::<test>
    text: Text  # what the test runs and checks


class Erratum(Strict):
    id: Id
    script: Literal["START.BAT", "STOP.BAT"]
    defect: Text
    effect: Text
    fix: Text
    proofs: list[Proof] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)  # public documentation of the behaviour (not a proof)

    def proved_in(self, claim: str) -> list[str]:
        """Where *claim* was proved, in PROVED_IN's order ([] for none)."""
        found = {p.proved_in for p in self.proofs if p.claim == claim}
        return [x for x in PROVED_IN if x in found]


class Errata(Strict):
    intro: Text
    items: list[Erratum] = Field(min_length=1)


class OriginItem(Strict):
    """One numbered item of the original document and what it became here: our steps, the
    phase whose introduction carries it, its own sub-items, or a note saying where it went."""

    label: Annotated[str, StringConstraints(min_length=1, max_length=16)]  # the marker as printed: "(1)", "A)", "◆"
    title: Text  # what the item asks for, in our words
    steps: list[Id] = Field(default_factory=list)
    phase: Id | None = None
    note: Text | None = None
    items: list["OriginItem"] = Field(default_factory=list)

    @field_validator("label")
    @classmethod
    def _same_in_both_languages(cls, v: str) -> str:
        if japanese_in(v):
            raise ValueError(f"label '{v}' is shown on the pages of both languages: give the marker "
                             "without Japanese words (say them in title)")
        return v

    @model_validator(mode="after")
    def _goes_somewhere(self):
        if not (self.steps or self.phase or self.items or self.note):
            raise ValueError(f"item '{self.label}': name the steps it became (steps), the phase that "
                             "carries it (phase), its sub-items (items), or say why none (note)")
        return self


class OriginSection(Strict):
    """A section of the original document (its heading in our words) and its numbered items."""

    id: Id
    title: Text
    items: list[OriginItem] = Field(min_length=1)


class Origin(Strict):
    """How the original document's numbering maps to this guide's steps. The document's title,
    edition and date are guide.yaml's ``edition_label`` and ``published``: not repeated here."""

    chapter: Text  # where in the document the guide's content is
    history: Text | None = None  # what the revision history says of this edition
    intro: Text
    sections: list[OriginSection] = Field(min_length=1)


OriginItem.model_rebuild()


class AppPort(Strict):
    """A port of the guide's application (not CLUSTERPRO's: those are the family's records) that
    clients or monitors reach on the node running the group, with the public sources naming it."""

    id: Id
    protocol: Literal["tcp", "udp"]
    port: int = Field(ge=1, le=65535)
    purpose: Text
    peer: Text
    sources: list[str] = Field(min_length=1)


class GuideMeta(Strict):
    id: Id
    product: Text
    title: Text
    edition_label: Text
    published: str | None = None
    family: Id
    summary: Text
    features_overview: list[Text]
    functional_scope: Text
    features: list[Feature]
    related: list[Id] = Field(default_factory=list)
    scope: Scope
    topology: Topology
    environment: Environment
    ports: list[Id]
    app_ports: list[AppPort] = Field(default_factory=list)  # the application's own ports
    os_product_patterns: list[str]


class Guide(Strict):
    meta: GuideMeta
    resources: list[Resource]
    procedure: Procedure
    services: list[Service] = Field(default_factory=list)
    scripts: ScriptConfig | None = None
    dns: Dns | None = None
    cautions: Cautions | None = None
    errata: Errata | None = None
    origin: Origin | None = None
    monitors: list[Monitor] = Field(default_factory=list)
    upgrade: Procedure | None = None  # a second procedure: upgrading the application on the cluster

    @property
    def id(self) -> str:
        return self.meta.id

    def steps(self) -> list[Step]:
        return [s for p in self.procedure.phases for s in p.steps]

    def step(self, step_id: str) -> Step:
        for s in self.steps():
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def features_in_use(self) -> set[str]:
        """The features the guide's configuration uses: the scripts' selection, or every feature
        when the cluster starts the services itself (no scripts) or the scripts select none (a
        Linux family's start.sh runs commands, not services)."""
        if self.scripts is None or not self.scripts.features:
            return {f.id for f in self.meta.features}
        return set(self.scripts.features)

    def scripted_services(self) -> list[Service]:
        if self.scripts is None:
            return []
        enabled = set(self.scripts.features)
        return [s for s in self.services if s.scripted and s.feature in enabled]

    def manual_services(self) -> list[Service]:
        """Services the guide sets to manual start (all scripted ones, whichever step names them)."""
        return [s for s in self.services if s.manual_in is not None]

    def message(self, msg_id: str) -> Text:
        for m in (self.scripts.messages if self.scripts else []):
            if m.id == msg_id:
                return m.text
        raise KeyError(msg_id)


Topology.model_rebuild()
Step.model_rebuild()


class SiteLabels(Strict):
    """UI strings of the site and notebooks, by id."""

    site_name: Text
    default_guide: Id  # the guide the sandbox and the runbook commands take when none is named
    labels: dict[Id, Text]


class InventoryExample(Strict):
    """One example inventory of a real cluster (a file beside kb/inventories/examples.yaml, in
    the engine's inventory format): how its nodes are reached, what the operator does, the
    commands to run with it (``{guide}``, ``{node}`` and ``{inventory}`` stand for its guide, its
    first node and its file name) and the public sources of what the text says."""

    id: Id
    file: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*\.yaml$")]
    title: Text
    text: Text
    steps: list[Text] = Field(default_factory=list)
    commands: list[Annotated[str, StringConstraints(pattern=r"^runbook [^\r\n]+$")]] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)


class InventoryExamples(Strict):
    """kb/inventories/examples.yaml: the example inventories the site shows."""

    intro: Text
    examples: list[InventoryExample] = Field(min_length=1)


class KnowledgeBase(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    families: dict[str, Family]  # by id, in file order
    guides: dict[str, Guide]
    site: SiteLabels
    inventories: InventoryExamples | None = None
    inventory_files: dict[str, str] = {}  # file name in kb/inventories/ -> its text (the examples)

    def default_guide(self) -> str:
        """kb/site.yaml's default_guide (the loader checks that it exists)."""
        return self.site.default_guide

    def family_of(self, guide: "Guide | str") -> Family:
        """The family a guide (or guide id) names."""
        g = self.guides[guide] if isinstance(guide, str) else guide
        return self.families[g.meta.family]

    def guides_on(self, os: str) -> list[str]:
        """The ids of the guides whose family runs on *os* ("windows" | "linux"), in kb/ order."""
        return [gid for gid, g in self.guides.items() if self.family_of(g).os == os]

    def ports_for(self, guide: Guide, direction: str | None = None) -> list[Port]:
        """The family's port records the guide lists that apply to one of its versions at least
        (``since`` / ``until``), in the guide's order; only those of *direction* ("in" | "out")
        when given. The site's port tables and the engine's firewall read this one selection."""
        by_id = {p.id: p for p in self.family_of(guide).ports}
        return [by_id[i] for i in guide.meta.ports
                if (direction is None or by_id[i].direction == direction) and self.port_versions(guide, by_id[i])]

    def open_ports(self, guide: Guide) -> dict[str, list[int]]:
        """The ports a node of *guide* accepts connections on, by protocol ("tcp", "udp"; sorted,
        each once): the inbound records of :meth:`ports_for` and the guide's ``app_ports``."""
        found = [(p.protocol, p.port) for p in self.ports_for(guide, "in")]
        found += [(p.protocol, p.port) for p in guide.meta.app_ports]
        return {proto: sorted({port for pr, port in found if pr == proto}) for proto in ("tcp", "udp")}

    def port_versions(self, guide: Guide, port: Port) -> list[str]:
        """The versions a port record applies to within the guide's own versions."""
        return [v for v in self.family_of(guide).port_versions(port) if v in guide.meta.scope.applies_to]

    def label(self, label_id: str) -> Text:
        try:
            return self.site.labels[label_id]
        except KeyError:
            raise KbInvalid([KbError("kb/site.yaml", 1, f"labels: no label '{label_id}' (the site, the "
                                     "notebooks or the scripts ask for it)")]) from None
