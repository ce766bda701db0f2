"""The inventory: which nodes and DNS servers a run targets, and how to reach them.

Secrets are never in the inventory: it names the environment variables that hold them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from runbook_engine.model.errors import KbError, KbInvalid
from runbook_engine.model.loader import locate, read_yaml, _describe
from runbook_engine.model.schema import WindowsPath

NodeName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,30}$")]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]{0,63}$")]
HostName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
DomainName = Annotated[str, StringConstraints(pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$")]
IPv4 = Annotated[str, StringConstraints(pattern=r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeSpec(Strict):
    name: NodeName
    transport: Literal["wine", "ssh", "local"]
    lang: Literal["ja", "en"] = "ja"
    hostname: HostName | None = None
    ip: IPv4 | None = None
    script_dir: WindowsPath | None = None
    data_drive: Annotated[str, StringConstraints(pattern=r"^[A-Z]:$")] = "C:"
    # wine
    prefix: Path | None = None
    # ssh
    host: str | None = None
    port: int = Field(default=22, ge=1, le=65535)
    user: str | None = None
    key: Path | None = None
    known_hosts: Path | None = None
    password_env: EnvName | None = None
    # local
    command: list[str] | None = None

    @model_validator(mode="after")
    def _transport_fields(self):
        if self.transport == "wine" and self.prefix is None:
            raise ValueError(f"node '{self.name}': a wine node needs 'prefix'")
        if self.transport == "ssh" and (self.host is None or self.user is None or self.known_hosts is None):
            raise ValueError(f"node '{self.name}': an ssh node needs 'host', 'user' and 'known_hosts'")
        return self


class Fip(Strict):
    address: IPv4
    hostname: HostName
    domain: DomainName
    mx_preference: int = Field(default=10, ge=0, le=65535)


class DnsServer(Strict):
    name: NodeName
    server: IPv4
    port: int = Field(default=53, ge=1, le=65535)
    key_name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{0,62}$")]
    key_secret_env: EnvName
    algorithm: Literal["hmac-sha256", "hmac-sha512"] = "hmac-sha256"
    forward_zone: Annotated[str, StringConstraints(pattern=r"^([a-z0-9-]+\.)+$")]
    reverse_zone: Annotated[str, StringConstraints(pattern=r"^([0-9]+\.)+in-addr\.arpa\.$")]


class Inventory(Strict):
    cluster: NodeName
    guide: NodeName = "surfnavi"
    fip: Fip | None = None
    nodes: list[NodeSpec] = Field(min_length=1)
    dns: list[DnsServer] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self):
        names = [n.name for n in self.nodes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate node name '{dupes[0]}'")
        return self

    def node(self, name: str) -> NodeSpec:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)


def load_inventory(path: Path) -> Inventory:
    """Read an inventory YAML file; errors are KbInvalid with file:line."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise KbInvalid([KbError(name, 1, "inventory file not found")])
    raw = read_yaml(path, path.parent)
    try:
        inv = Inventory.model_validate(raw)
    except ValidationError as exc:
        raise KbInvalid([KbError(name, locate(raw, tuple(e["loc"])), _describe(e)) for e in exc.errors()]) from None
    # relative paths are relative to the inventory file
    nodes = []
    for n in inv.nodes:
        upd = {}
        for field in ("prefix", "key", "known_hosts"):
            v = getattr(n, field)
            if v is not None and not Path(v).is_absolute():
                upd[field] = (path.parent / v).resolve()
        nodes.append(n.model_copy(update=upd) if upd else n)
    return inv.model_copy(update={"nodes": nodes})
