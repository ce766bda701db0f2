"""The guide's DNS step: records for a floating IP, set by RFC 2136 dynamic update signed with TSIG.

For a floating IP (FIP) the guide registers:

* ``A``   fip host name → FIP
* ``MX``  mail domain → fip host name (with a preference)
* ``PTR`` FIP's reverse name → fip host name, and for each node its real IP's reverse name → the
  node's host name

Flow: :func:`read_records` (what the server holds now, queried directly over TCP) →
:func:`plan_records` (what must change; nothing when everything already matches) →
:func:`apply_changes` (one signed UPDATE message per zone). The TSIG secret is read from an
environment variable whose *name* is passed in; it is never logged and never put in an exception.

All names are fully qualified (trailing dot), made of LDH labels, and compared in lower case.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable, Literal, Mapping, Sequence

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update

from runbook_engine.engine.messages import Said

log = logging.getLogger(__name__)

RTYPES = ("A", "MX", "PTR")
TSIG_ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1")

RecordKey = tuple[str, str]
"""(owner name, record type), e.g. ``("fip.example.test.", "A")``."""

_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TTL_MAX = 2**31 - 1


class DnsError(Exception):
    """A DNS query or update failed."""


class DnsUpdateError(DnsError):
    """The server did not apply an update (REFUSED, NOTAUTH, a TSIG error, no answer, …)."""


class DnsQueryError(DnsError):
    """A direct query for the current records failed (other than NXDOMAIN / no data)."""


# -- validation ------------------------------------------------------------------------------


def check_fqdn(name: str, what: str = "name") -> str:
    """Return *name* in lower case if it is a fully qualified LDH name ending in a dot."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must be a non-empty string, got {name!r}")
    if not name.endswith("."):
        raise ValueError(f"{what} {name!r} is not fully qualified (it must end with a dot)")
    body = name[:-1].lower()
    if not body:
        raise ValueError(f"{what} must not be the root name '.'")
    if len(body) > 253:
        raise ValueError(f"{what} {name!r} is longer than 253 characters")
    for label in body.split("."):
        if not _LABEL_RE.match(label):
            raise ValueError(
                f"{what} {name!r} has an invalid label {label!r} "
                "(letters, digits and inner hyphens only, 1-63 characters)"
            )
    return body + "."


def check_ipv4(address: str, what: str = "IPv4 address") -> str:
    """Return *address* if it is a dotted-quad IPv4 address in canonical form (no leading zeros)."""
    if not isinstance(address, str) or not re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", address):
        raise ValueError(f"{what} {address!r} is not a dotted-quad IPv4 address")
    try:
        ip = ipaddress.IPv4Address(address)
    except ipaddress.AddressValueError as exc:
        raise ValueError(f"{what} {address!r} is invalid: {exc}") from None
    if str(ip) != address:
        raise ValueError(f"{what} {address!r} is not canonical (leading zeros?)")
    return address


def reverse_name(address: str) -> str:
    """The ``in-addr.arpa.`` name of an IPv4 address: ``192.0.2.10`` → ``10.2.0.192.in-addr.arpa.``."""
    check_ipv4(address)
    return ".".join(reversed(address.split("."))) + ".in-addr.arpa."


def _check_value(rtype: str, value: str) -> str:
    if rtype == "A":
        return check_ipv4(value, "A record value")
    if rtype == "PTR":
        return check_fqdn(value, "PTR target")
    parts = value.split() if isinstance(value, str) else []
    if len(parts) != 2 or not parts[0].isdigit() or not 0 <= int(parts[0]) <= 65535:
        raise ValueError(f"MX value {value!r} must be '<preference 0-65535> <fqdn.>'")
    return f"{int(parts[0])} {check_fqdn(parts[1], 'MX exchange')}"


# -- records and plans -----------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One resource record. Name and value are validated and normalised to lower case.

    ``value`` is ``"192.0.2.10"`` for A, ``"10 mail.example.jp."`` for MX and ``"host.example.jp."``
    for PTR.
    """

    name: str
    rtype: str
    value: str
    ttl: int = 3600

    def __post_init__(self) -> None:
        rtype = self.rtype.upper() if isinstance(self.rtype, str) else self.rtype
        if rtype not in RTYPES:
            raise ValueError(f"record type {self.rtype!r} is not one of {', '.join(RTYPES)}")
        if not isinstance(self.ttl, int) or isinstance(self.ttl, bool) or not 0 <= self.ttl <= _TTL_MAX:
            raise ValueError(f"TTL {self.ttl!r} must be an integer from 0 to {_TTL_MAX}")
        object.__setattr__(self, "name", check_fqdn(self.name, "record name"))
        object.__setattr__(self, "rtype", rtype)
        object.__setattr__(self, "value", _check_value(rtype, self.value))

    @property
    def key(self) -> RecordKey:
        """(name, rtype): the RRset this record belongs to."""
        return (self.name, self.rtype)


@dataclass(frozen=True)
class Change:
    """Make the RRset *key* hold exactly *records* (``add``: it is empty now; ``replace``: it differs)."""

    action: Literal["add", "replace", "delete"]
    key: RecordKey
    records: tuple[Record, ...]
    current: tuple[str, ...] = field(default=())

    @property
    def values(self) -> list[str]:
        """The desired values of the RRset."""
        return [r.value for r in self.records]

    def __str__(self) -> str:
        name, rtype = self.key
        now = ", ".join(self.current) or "-"
        return f"{self.action} {name} {rtype}: {now} -> {', '.join(self.values)}"


def fip_records(
    fip_host: str,
    fip: str,
    *,
    mail_domain: str | None = None,
    mx_preference: int = 10,
    nodes: Mapping[str, str] | None = None,
    ttl: int = 3600,
) -> list[Record]:
    """The guide's records for a FIP: A and PTR for the FIP, MX for the mail domain, node PTRs.

    *nodes* maps each node's host name (FQDN) to its real IPv4 address.
    """
    host = check_fqdn(fip_host, "FIP host name")
    out = [Record(host, "A", fip, ttl), Record(reverse_name(fip), "PTR", host, ttl)]
    if mail_domain is not None:
        out.append(Record(mail_domain, "MX", f"{mx_preference} {host}", ttl))
    for node_host, ip in (nodes or {}).items():
        out.append(Record(reverse_name(ip), "PTR", node_host, ttl))
    return out


def _group(records: Iterable[Record]) -> "OrderedDict[RecordKey, list[Record]]":
    grouped: OrderedDict[RecordKey, list[Record]] = OrderedDict()
    for rec in records:
        bucket = grouped.setdefault(rec.key, [])
        if all(r.value != rec.value for r in bucket):
            bucket.append(rec)
    return grouped


def plan_records(
    current: Mapping[RecordKey, Sequence[str]], desired: Iterable[Record]
) -> list[Change]:
    """The changes that make the server hold *desired*; empty when it already does.

    Records with the same name and type form one RRset; an RRset whose current values equal the
    desired ones (as sets, case-insensitively) needs no change. TTLs are not compared.
    """
    changes: list[Change] = []
    for key, recs in _group(desired).items():
        now = tuple(v.lower() for v in current.get(key, ()))
        want = {r.value for r in recs}
        if set(now) == want:
            continue
        changes.append(Change("add" if not now else "replace", key, tuple(recs), now))
    return changes


# -- zones -----------------------------------------------------------------------------------


def zone_for(name: str, zones: Iterable[str]) -> str:
    """The longest zone in *zones* that contains *name* (both fully qualified)."""
    fqdn = check_fqdn(name)
    best: str | None = None
    for zone in zones:
        z = check_fqdn(zone, "zone")
        if (fqdn == z or fqdn.endswith("." + z)) and (best is None or len(z) > len(best)):
            best = z
    if best is None:
        raise ValueError(f"no zone among {sorted(zones)} contains {fqdn}")
    return best


# -- server I/O ------------------------------------------------------------------------------


def _rdata_text(rtype: str, rdata: object) -> str:
    text = rdata.to_text()  # type: ignore[attr-defined]
    return text.lower() if rtype != "A" else text


def query_rrset(server: str, port: int, name: str, rtype: str, *, timeout: float = 5.0) -> list[str]:
    """The values *server* holds now for the RRset (*name*, *rtype*): ONE direct non-recursive
    query over TCP. NXDOMAIN and no data give an empty list; any other failure raises
    :class:`DnsQueryError`."""
    check_ipv4(server, "DNS server")
    name, rtype = check_fqdn(name), rtype.upper()
    query = dns.message.make_query(name, rtype)
    query.flags &= ~dns.flags.RD
    try:
        resp = dns.query.tcp(query, server, port=port, timeout=timeout)
    except (dns.exception.DNSException, OSError) as exc:
        raise DnsQueryError(f"query {name} {rtype} at {server}:{port} failed: {_reason(exc)}") from None
    rcode = resp.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return []
    if rcode != dns.rcode.NOERROR:
        raise DnsQueryError(f"query {name} {rtype} at {server}:{port} answered {dns.rcode.to_text(rcode)}")
    try:
        rrset = resp.find_rrset(resp.answer, dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.from_text(rtype))
    except KeyError:
        return []
    return sorted(_rdata_text(rtype, rd) for rd in rrset)


def read_records(
    server: str, port: int, records: Iterable[Record | RecordKey], *, timeout: float = 5.0
) -> dict[RecordKey, list[str]]:
    """What *server* holds now for each record's (name, type): one query per RRset."""
    keys: list[RecordKey] = []
    for item in records:
        key = item.key if isinstance(item, Record) else (check_fqdn(item[0]), item[1].upper())
        if key not in keys:
            keys.append(key)
    return {(name, rtype): query_rrset(server, port, name, rtype, timeout=timeout) for name, rtype in keys}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


#: why a TSIG secret cannot be used, by label (kb/site.yaml words it for a person): the English
#: line the engine's own errors carry
SECRET_PROBLEMS = {
    "error-secret-unset": "TSIG secret environment variable {env} is not set",
    "error-secret-not-base64": "TSIG secret in {env} is not valid base64",
    "error-secret-empty": "TSIG secret in {env} is empty",
}


def secret_said(key_secret_env: str) -> Said | None:
    """Why the TSIG secret in the environment variable *key_secret_env* cannot be used (unset,
    not base64, empty once decoded), or None. Never says anything of the value itself."""
    secret = os.environ.get(key_secret_env)
    if not secret:
        return Said.of("error-secret-unset", env=key_secret_env)
    try:
        raw = base64.b64decode(secret.strip(), validate=True)
    except (binascii.Error, ValueError):
        return Said.of("error-secret-not-base64", env=key_secret_env)
    if not raw:
        return Said.of("error-secret-empty", env=key_secret_env)
    return None


def secret_problem(key_secret_env: str) -> str | None:
    """:func:`secret_said` as the engine's English line."""
    said = secret_said(key_secret_env)
    return SECRET_PROBLEMS[said.id].format(**said.fields) if said is not None else None


def _keyring(key_name: str, key_secret_env: str) -> dict[dns.name.Name, bytes]:
    """The TSIG keyring, with the secret read from the environment variable named *key_secret_env*."""
    problem = secret_problem(key_secret_env)
    if problem:
        raise DnsUpdateError(problem)
    raw = base64.b64decode(os.environ[key_secret_env].strip(), validate=True)
    return {dns.name.from_text(check_fqdn(key_name.rstrip(".") + ".", "TSIG key name")): raw}


_TSIG_PEER_ERRORS: dict[type, str] = {
    dns.tsig.PeerBadKey: "BADKEY",
    dns.tsig.PeerBadSignature: "BADSIG",
    dns.tsig.PeerBadTime: "BADTIME",
    dns.tsig.PeerBadTruncation: "BADTRUNC",
}


def apply_changes(
    server: str,
    port: int,
    zone: str,
    changes: Sequence[Change],
    key_name: str,
    key_secret_env: str,
    algorithm: str = "hmac-sha256",
    *,
    timeout: float = 5.0,
) -> None:
    """Send *changes* (all inside *zone*) as ONE TSIG-signed RFC 2136 UPDATE over TCP.

    ``add`` carries the prerequisite that the RRset does not exist yet (so a concurrent writer is
    detected, YXRRSET); ``replace`` deletes the RRset and adds the desired records. Raises
    :class:`DnsUpdateError` naming the zone, server and rcode (REFUSED, NOTAUTH, …) or the TSIG
    failure; the secret never appears in a message.
    """
    check_ipv4(server, "DNS server")
    zone = check_fqdn(zone, "zone")
    if algorithm.lower() not in TSIG_ALGORITHMS:
        raise ValueError(f"TSIG algorithm {algorithm!r} is not one of {', '.join(TSIG_ALGORITHMS)}")
    for ch in changes:
        if zone_for(ch.key[0], [zone]) != zone:  # raises ValueError when outside
            raise ValueError(f"{ch.key[0]} is not in zone {zone}")
    if not changes:
        return
    keyring = _keyring(key_name, key_secret_env)
    (keyname,) = keyring
    upd = dns.update.UpdateMessage(
        zone, keyring=keyring, keyname=keyname, keyalgorithm=dns.name.from_text(algorithm.lower())
    )
    for ch in changes:
        name, rtype = ch.key
        if ch.action == "delete":  # rollback of an RRset that did not exist before
            upd.delete(name, rtype)
            continue
        ttl = min(r.ttl for r in ch.records)
        if ch.action == "add":
            upd.absent(name, rtype)
            upd.add(name, ttl, rtype, *ch.values)
        else:
            upd.replace(name, ttl, rtype, *ch.values)
    where = f"update of zone {zone} at {server}:{port}"
    try:
        resp = dns.query.tcp(upd, server, port=port, timeout=timeout)
    except dns.tsig.PeerError as exc:
        code = _TSIG_PEER_ERRORS.get(type(exc), type(exc).__name__)
        raise DnsUpdateError(
            f"{where} failed: NOTAUTH ({code}): the server rejected TSIG key {key_name} "
            f"({algorithm.lower()}); check the key name and the secret in {key_secret_env}"
        ) from None
    except (dns.exception.DNSException, OSError) as exc:
        raise DnsUpdateError(f"{where} failed: {_reason(exc)}") from None
    rcode = resp.rcode()
    if rcode != dns.rcode.NOERROR:
        detail = ""
        if resp.had_tsig and resp.tsig_error:
            detail = f" (TSIG error {dns.rcode.to_text(resp.tsig_error)})"
        raise DnsUpdateError(f"{where} failed: {dns.rcode.to_text(rcode)}{detail}")
    log.info("%s: %d change(s) applied", where, len(changes))


def apply_plan(
    server: str,
    port: int,
    zones: Iterable[str],
    changes: Sequence[Change],
    key_name: str,
    key_secret_env: str,
    algorithm: str = "hmac-sha256",
) -> list[str]:
    """Group *changes* by :func:`zone_for` and send one UPDATE per zone; return the zones updated."""
    zone_list = list(zones)
    by_zone: OrderedDict[str, list[Change]] = OrderedDict()
    for ch in changes:
        by_zone.setdefault(zone_for(ch.key[0], zone_list), []).append(ch)
    for zone, zone_changes in by_zone.items():
        apply_changes(server, port, zone, zone_changes, key_name, key_secret_env, algorithm)
    return list(by_zone)
