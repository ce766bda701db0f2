"""The rfc2136 transport: a DNS server as a target, its "commands" DNS operations (JSON-able dicts).

* ``{"op": "query", "name": N, "rtype": T}`` - one direct query over TCP: one round trip. Result:
  rc 0 and the RRset's values as JSON on stdout; a query that fails raises :class:`TransportError`
  (the server is unreachable for this run).
* ``{"op": "add" | "replace" | "delete", "zone": Z, "name": N, "rtype": T, "values": [...], "ttl": S}``
  - consecutive updates are sent as ONE TSIG-signed RFC 2136 UPDATE per zone: one round trip per
  zone. ``add`` carries the prerequisite that the RRset is absent (a concurrent writer fails it).
  Result per operation: rc 0, or rc 1 with the server's answer on stdout (REFUSED, NOTAUTH, ...).

The TSIG secret is read from where the inventory names it (``key_secret_env``: an environment
variable; ``key_secret_file``: a key file only its owner can read, see engine/tsig.py), exactly one
of them, at the moment of the update; it never enters a command, a result, the journal, the report
or an exception message.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import StringConstraints, ValidationInfo, field_validator, model_validator

from runbook_engine.model.rules import EnvName, IPv4, Port
from runbook_engine.engine import dns as dnsops
from runbook_engine.engine.transports import register_transport
from runbook_engine.engine.transports.base import BatchResult, CommandResult, Options, Transport, TransportError
from runbook_engine.engine.tsig import TsigSecret

UPDATES = ("add", "replace", "delete")


class Rfc2136Options(Options):
    server: IPv4
    port: Port = 53
    key_name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{0,62}$")]
    # the TSIG secret: the name of the environment variable that holds it, or the key file that
    # holds it (relative to the inventory's folder); exactly one
    key_secret_env: EnvName | None = None
    key_secret_file: Path | None = None
    algorithm: Literal["hmac-sha256", "hmac-sha512"] = "hmac-sha256"
    forward_zone: Annotated[str, StringConstraints(pattern=r"^([a-z0-9-]+\.)+$")]
    reverse_zone: Annotated[str, StringConstraints(pattern=r"^([0-9]+\.)+in-addr\.arpa\.$")]

    @field_validator("key_secret_file")
    @classmethod
    def _one_secret(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        # here, not in the model's check below, so that the error is at this key's line
        if value is not None and info.data.get("key_secret_env") is not None:
            raise ValueError("the TSIG secret is named twice: give key_secret_env or key_secret_file, not both")
        return value

    @model_validator(mode="after")
    def _a_secret(self):
        if self.key_secret_env is None and self.key_secret_file is None:
            raise ValueError("the TSIG secret is not named: give key_secret_env (an environment variable) "
                             "or key_secret_file (a key file only its owner can read)")
        return self

    @property
    def zones(self) -> list[str]:
        return [self.forward_zone, self.reverse_zone]

    @property
    def secret(self) -> TsigSecret:
        """Where the TSIG secret is (never its value)."""
        return TsigSecret(env=self.key_secret_env, file=self.key_secret_file)


@register_transport("rfc2136")
@dataclass
class Rfc2136Transport(Transport):
    options: Rfc2136Options | None = None
    timeout: float = 5.0

    Options = Rfc2136Options

    @classmethod
    def from_options(cls, name: str, options: Rfc2136Options) -> "Rfc2136Transport":
        return cls(name, options=options)

    def describe(self, result: CommandResult) -> str:
        c = result.command
        text = f"{c.get('op')} {c.get('name')} {c.get('rtype')}" if isinstance(c, dict) else str(c)
        return f"{text}: {result.stdout}" if result.rc != 0 else text

    def run(self, commands: list) -> BatchResult:
        """Run the operations in order; each DNS message sent is one round trip."""
        if self.options is None:
            raise TransportError(f"{self.node}: no server options")
        results: list[CommandResult | None] = [None] * len(commands)
        i = 0
        while i < len(commands):
            cmd = commands[i]
            op = cmd.get("op") if isinstance(cmd, dict) else None
            if op == "query":
                results[i] = self._query(cmd)
                i += 1
            elif op in UPDATES:
                j = i
                while j < len(commands) and isinstance(commands[j], dict) and commands[j].get("op") in UPDATES:
                    j += 1
                for k, res in zip(range(i, j), self._update(commands[i:j])):
                    results[k] = res
                i = j
            else:
                results[i] = CommandResult(command=cmd, rc=2, stdout=f"not a DNS operation: {cmd!r}"[:200])
                i += 1
        return BatchResult(results=[r for r in results if r is not None])

    def _query(self, cmd: dict) -> CommandResult:
        o = self.options
        self.round_trips += 1
        try:
            values = dnsops.query_rrset(o.server, o.port, cmd["name"], cmd["rtype"], timeout=self.timeout)
        except dnsops.DnsQueryError as exc:
            raise TransportError(str(exc)) from None
        return CommandResult(command=cmd, rc=0, stdout=json.dumps(values))

    def _update(self, cmds: list[dict]) -> list[CommandResult]:
        """One UPDATE per zone for *cmds*; each operation gets its zone's outcome."""
        o = self.options
        by_zone: OrderedDict[str, list[tuple[int, dnsops.Change]]] = OrderedDict()
        outcome: dict[int, CommandResult] = {}
        for idx, c in enumerate(cmds):
            try:
                key = (dnsops.check_fqdn(c["name"]), str(c["rtype"]).upper())
                records = tuple(dnsops.Record(key[0], key[1], v, int(c.get("ttl", 3600))) for v in c.get("values", []))
                zone = dnsops.check_fqdn(c["zone"], "zone")
                if zone not in [dnsops.check_fqdn(z, "zone") for z in o.zones]:
                    raise ValueError(f"zone {zone} is not served by {self.node}")
                by_zone.setdefault(zone, []).append((idx, dnsops.Change(c["op"], key, records)))
            except (KeyError, ValueError, TypeError) as exc:
                outcome[idx] = CommandResult(command=c, rc=2, stdout=f"bad DNS operation: {exc}")
        for zone, items in by_zone.items():
            self.round_trips += 1
            try:
                dnsops.apply_changes(o.server, o.port, zone, [ch for _, ch in items], o.key_name,
                                     o.secret, o.algorithm, timeout=self.timeout)
                rc, text = 0, ""
            except (dnsops.DnsError, ValueError) as exc:
                rc, text = 1, str(exc)
            for idx, _ in items:
                outcome[idx] = CommandResult(command=cmds[idx], rc=rc, stdout=text)
        return [outcome[i] for i in range(len(cmds))]
