r"""The inventory: which nodes and DNS servers a run targets, and how to reach them.

A node has the keys every node has (name, transport, lang, hostname, ip, clusterpro_dir, data_drive)
and the keys of its transport (wine: prefix; ssh: host, port, user, key, known_hosts,
password_env; local: command), validated by that transport's ``Options`` model. A DNS server is
reached by the ``rfc2136`` transport and carries its keys. Secrets are never in the inventory: it
names the environment variables that hold them (a TSIG secret: or its key file, ``key_secret_file``).
A relative path (a node's key or known_hosts, a key file) is relative to the inventory's folder.

An optional ``cluster_state`` says which phase the cluster is in (``install``: before the failover
group manages the services; ``operation``: the group runs and the cluster starts the monitored
services on its active node), the failover group's name and the node it is active on (required
in ``operation``). The runner checks ``active`` against the cluster's own status command
(``clpgrp -n <group>``) where a node has it.

An optional ``configuration`` says where the cluster configuration is edited: the node that holds
the configuration folder (default: the first node), the folder (the one with clp.conf) and the
cluster's names for the guide's resources (``resources: {<guide resource id>: <name>}``). The
script resource's files go to ``<folder>\scripts\<group>\<name>\`` there.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from runbook_engine.model.errors import KbError, KbInvalid
from runbook_engine.model.validation import describe as _describe
from runbook_engine.model.yamlio import locate, read_yaml
from runbook_engine.model.rules import ClusterName, DomainName, HostName, IPv4, NodeName, NodePath, WindowsPath  # noqa: F401 - value types have one home
from runbook_engine.engine.transports import transport_class
from runbook_engine.engine.transports.environ import register_secret_names

DNS_TRANSPORT = "rfc2136"


class Strict(BaseModel):
    # strict: a YAML value of another type is refused, never coerced ("10" or true for a number)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TargetSpec(Strict):
    """A target of the inventory: its name, its transport and that transport's options (the keys
    that are not the target's own, validated by ``transport_class(transport).Options``)."""

    name: NodeName
    transport: str
    options: Any = None

    @model_validator(mode="before")
    @classmethod
    def _split_options(cls, data: Any) -> Any:
        if isinstance(data, dict) and "options" not in data:
            own = {k: v for k, v in data.items() if k in cls.model_fields}
            own["options"] = {k: v for k, v in data.items() if k not in cls.model_fields}
            return own
        return data

    @model_validator(mode="after")
    def _validate_options(self):
        model = transport_class(self.transport).Options  # ValueError: unknown transport
        if not isinstance(self.options, model):
            try:
                opts = model.model_validate(self.options or {})
            except ValidationError as exc:
                raise ValueError(f"'{self.name}': " + "; ".join(_describe(e) for e in exc.errors())) from None
            object.__setattr__(self, "options", opts)
        return self


class NodeSpec(TargetSpec):
    lang: Literal["ja", "en"] = "ja"
    hostname: HostName | None = None
    ip: IPv4 | None = None
    clusterpro_dir: NodePath | None = None  # CLUSTERPRO's installation folder (default: the family's)
    # the drive the application's data lives on (default: the guide's mirror or shared disk's
    # data partition, else C:)
    data_drive: Annotated[str, StringConstraints(pattern=r"^[A-Z]:$")] | None = None


class DnsServer(TargetSpec):
    transport: Literal["rfc2136"] = DNS_TRANSPORT

    @model_validator(mode="before")
    @classmethod
    def _rfc2136(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {"transport": DNS_TRANSPORT, **data}
        return data


class Fip(Strict):
    address: IPv4
    hostname: HostName
    domain: DomainName
    mx_preference: int = Field(default=10, ge=0, le=65535)


PHASES = ("install", "operation")
#: a failover group name reaches a command line (``clpgrp -n "<group>"``) and a path: a bare token
GroupName = ClusterName


class ClusterState(Strict):
    """Where the cluster is: ``install`` (the services are not yet the failover group's: the
    engine stops them) or ``operation`` (the group's active node runs them: the engine leaves
    their state to the cluster)."""

    phase: Literal["install", "operation"] = "install"
    group: GroupName | None = None
    active: NodeName | None = None

    @property
    def operation(self) -> bool:
        return self.phase == "operation"


class Configuration(Strict):
    """Where the cluster configuration is edited (the folder with clp.conf, on ``node``) and the
    cluster's names for the guide's resources."""

    node: NodeName | None = None
    folder: NodePath | None = None
    resources: dict[Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")], ClusterName] = \
        Field(default_factory=dict)


#: the platform of an inventory's nodes, and the shell their transports must speak
PLATFORM_SHELLS = {"windows": "cmd", "linux": "sh"}


class Inventory(Strict):
    cluster: NodeName
    guide: NodeName
    platform: Literal["windows", "linux"] = "windows"
    fip: Fip | None = None
    cluster_state: ClusterState = Field(default_factory=ClusterState)
    configuration: Configuration = Field(default_factory=Configuration)
    nodes: list[NodeSpec] = Field(min_length=1)
    dns: list[DnsServer] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self):
        names = [n.name for n in self.nodes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate node name '{dupes[0]}'")
        shell = PLATFORM_SHELLS[self.platform]
        for n in self.nodes:
            if transport_class(n.transport).shell != shell:
                raise ValueError(f"node '{n.name}': transport '{n.transport}' speaks {transport_class(n.transport).shell}, "
                                 f"but the inventory's platform is {self.platform} ({shell})")
        for section, check in _SECTION_CHECKS.items():
            problem = check(getattr(self, section).model_dump(), names)
            if problem:
                raise ValueError(f"{section}.{problem[0]}: {problem[1]}")
        return self

    @property
    def configuration_node(self) -> str:
        """The node that holds the configuration folder (default: the first node)."""
        return self.configuration.node or self.nodes[0].name

    def role(self, node: str) -> str:
        """``active`` or ``standby`` in the operation phase, ``install`` before it."""
        cs = self.cluster_state
        if not cs.operation:
            return "install"
        return "active" if node == cs.active else "standby"

    def node(self, name: str) -> NodeSpec:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)


def _option_errors(raw: Any, name: str) -> list[KbError]:
    """Each target's transport keys checked against its transport's Options, at their own line."""
    errs: list[KbError] = []
    if not isinstance(raw, dict):
        return errs
    for section, own, default in (("nodes", NodeSpec.model_fields, None), ("dns", DnsServer.model_fields, DNS_TRANSPORT)):
        items = raw.get(section)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            try:
                model = transport_class(item.get("transport", default))
            except (ValueError, TypeError, AttributeError):
                continue  # the model's own validation names the transport
            opts = {k: v for k, v in item.items() if k not in own}
            try:
                model.Options.model_validate(opts)
            except ValidationError as exc:
                for e in exc.errors():
                    loc = (section, i) + tuple(e["loc"])
                    errs.append(KbError(name, locate(raw, loc), _describe({**e, "loc": loc})))
    return errs


def _active_problem(state: Any, names: list[str]) -> tuple[str, str] | None:
    """(key, why) when cluster_state's active node is missing in operation or not a node."""
    if not isinstance(state, dict):
        return None
    active = state.get("active")
    if state.get("phase") == "operation" and not active:
        return ("phase", "the operation phase needs 'active': the node the failover group runs on")
    if state.get("phase") == "operation" and not state.get("group"):
        return ("phase", "the operation phase needs 'group': the failover group whose active node clpgrp reports")
    if active and active not in names:
        return ("active", f"unknown node '{active}' (nodes: {', '.join(map(str, names))})")
    return None


def _configuration_problem(conf: Any, names: list[str]) -> tuple[str, str] | None:
    """(key, why) when configuration's node is not a node of the inventory."""
    node = conf.get("node") if isinstance(conf, dict) else None
    if isinstance(node, str) and node not in names:
        return ("node", f"unknown node '{node}' (nodes: {', '.join(map(str, names))})")
    return None


#: the sections whose values name nodes, and the check of each (shared by the model's own
#: validation and the located errors below)
_SECTION_CHECKS = {"cluster_state": _active_problem, "configuration": _configuration_problem}


def _section_errors(raw: Any, name: str) -> list[KbError]:
    """Each section of :data:`_SECTION_CHECKS` checked against the node names, at its own line."""
    if not isinstance(raw, dict):
        return []
    nodes = raw.get("nodes") if isinstance(raw.get("nodes"), list) else []
    names = [n.get("name") for n in nodes if isinstance(n, dict)]
    errs = []
    for section, check in _SECTION_CHECKS.items():
        problem = check(raw.get(section), names)
        if problem:
            key, why = problem
            errs.append(KbError(name, locate(raw, (section, key)), f"{section}.{key}: {why}"))
    return errs


def _relative_to(options: Any, folder: Path) -> Any:
    """*options* with every relative Path made relative to *folder* (the inventory's)."""
    upd = {k: (folder / v).resolve() for k, v in options if isinstance(v, Path) and not v.is_absolute()}
    return options.model_copy(update=upd) if upd else options


def load_inventory(path: Path) -> Inventory:
    """Read an inventory YAML file; errors are KbInvalid with file:line."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise KbInvalid([KbError(name, 1, "inventory file not found")])
    raw = read_yaml(path, path.parent, confine=False)  # an inventory is the user's file, anywhere
    errs = _option_errors(raw, name) + _section_errors(raw, name)
    if errs:
        raise KbInvalid(errs)
    try:
        inv = Inventory.model_validate(raw)
    except ValidationError as exc:
        raise KbInvalid([KbError(name, locate(raw, tuple(e["loc"])), _describe(e)) for e in exc.errors()]) from None
    # the names of the variables that hold this inventory's secrets: no node process inherits them
    register_secret_names([getattr(t.options, k, None) for t in (*inv.nodes, *inv.dns)
                           for k in ("password_env", "passphrase_env", "key_secret_env")])
    nodes = [n.model_copy(update={"options": _relative_to(n.options, path.parent)}) for n in inv.nodes]
    dns = [d.model_copy(update={"options": _relative_to(d.options, path.parent)}) for d in inv.dns]
    return inv.model_copy(update={"nodes": nodes, "dns": dns})


#: The file `runbook schema` writes :func:`json_schema` to (in schema/), named by example inventories.
SCHEMA_FILE = "inventory.schema.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of an inventory file, for editors (``runbook schema`` writes it to
    schema/inventory.schema.json): the inventory's own keys, and for a node or a DNS server the
    keys every target has plus those of its transport (one alternative per transport)."""
    from pydantic import create_model

    from runbook_engine.engine.transports import transport_names

    def target(base: type[TargetSpec], transport: str, model_name: str) -> type[BaseModel]:
        own = {k: (f.annotation, f) for k, f in base.model_fields.items() if k not in ("transport", "options")}
        opts = {k: (f.annotation, f) for k, f in transport_class(transport).Options.model_fields.items()}
        # a node names its transport; a DNS server's is rfc2136 unless it says so
        kind = (Literal[transport], ...) if base is NodeSpec else (Literal[transport], transport)  # type: ignore[valid-type]
        return create_model(model_name, __config__=ConfigDict(extra="forbid"), transport=kind, **own, **opts)

    names = [t for t in transport_names() if t != DNS_TRANSPORT]
    node_models = tuple(target(NodeSpec, t, f"{t.title()}Node") for t in names)
    dns_model = target(DnsServer, DNS_TRANSPORT, "DnsServer")
    fields = {k: (f.annotation, f) for k, f in Inventory.model_fields.items() if k not in ("nodes", "dns")}
    model = create_model(
        "InventoryFile", __config__=ConfigDict(extra="forbid"), **fields,
        nodes=(list[Union[node_models]], Field(min_length=1)),  # type: ignore[valid-type]
        dns=(list[dns_model], Field(default_factory=list)),  # type: ignore[valid-type]
    )
    return model.model_json_schema()
