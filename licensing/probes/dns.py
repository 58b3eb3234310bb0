"""`_vlmcs._tcp.<domain>` SRV discovery with dnspython, through given resolvers."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field

import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver
from django.utils.translation import gettext as _

SRV_PREFIX = "_vlmcs._tcp."


@dataclass(frozen=True)
class SrvRecord:
    target: str  # lower case, no trailing dot
    port: int
    priority: int
    weight: int


@dataclass(frozen=True)
class SrvLookup:
    domain: str
    records: list[SrvRecord] = field(default_factory=list)
    # None when DNS answered (with records, or "no such name"/"no records", which is an answer);
    # a message when it did not (timeout, refused, broken resolver).
    error: str | None = None
    elapsed_ms: float = 0.0

    @property
    def answered(self) -> bool:
        return self.error is None


def normalise_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


def parse_resolver(value: str) -> tuple[str, int]:
    """ "10.0.0.53", "10.0.0.53:5353", "[fd00::53]:5353" or "fd00::53" -> (ip, port).
    Raises ValueError for anything that is not an IP address with an optional port."""
    value = value.strip()
    port = 53
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(_("'%(value)s' is not a resolver address.") % {"value": value})
        if rest:
            port = _port(rest[1:], value)
    elif value.count(":") == 1:
        host, _colon, port_text = value.partition(":")
        port = _port(port_text, value)
    else:
        host = value
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            _(
                "'%(value)s' is not an IP address (a resolver is given as an IP, optionally "
                "with :port)."
            )
            % {"value": value}
        ) from None
    return host, port


def _port(text: str, value: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(_("'%(value)s' has no valid port (1 to 65535).") % {"value": value})
    return int(text)


def _resolver(resolvers: list[str], lifetime: float) -> dns.resolver.Resolver:
    if resolvers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(ip, port)
            for ip, port in (parse_resolver(r) for r in resolvers)
        ]
    else:  # the machine's own resolvers (/etc/resolv.conf)
        resolver = dns.resolver.Resolver(configure=True)
    # lifetime bounds the whole query including retries; timeout bounds one try of one server.
    resolver.lifetime = lifetime
    resolver.timeout = lifetime
    resolver.cache = None
    return resolver


def lookup_srv(domain: str, resolvers: list[str], *, lifetime: float = 3.0) -> SrvLookup:
    """All `_vlmcs._tcp.<domain>` SRV records. Never raises for DNS trouble: the error is in the
    result. Costs at most `lifetime` seconds (plus scheduling noise)."""
    domain = normalise_name(domain)
    started = time.monotonic()

    def done(records: list[SrvRecord], error: str | None = None) -> SrvLookup:
        return SrvLookup(domain, records, error, round((time.monotonic() - started) * 1000, 1))

    try:
        resolver = _resolver(resolvers, lifetime)
        answer = resolver.resolve(SRV_PREFIX + domain, "SRV", raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return done([])
    except dns.resolver.LifetimeTimeout:
        return done([], f"DNS did not answer within {lifetime:g} s")
    except dns.resolver.NoNameservers as exc:
        return done([], f"no resolver could answer ({_short(exc)})")
    except (dns.exception.DNSException, ValueError, OSError) as exc:
        return done([], f"DNS lookup failed: {_short(exc)}")
    records = [
        SrvRecord(
            target=normalise_name(r.target.to_text()),
            port=int(r.port),
            priority=int(r.priority),
            weight=int(r.weight),
        )
        for r in (answer.rrset or [])
        if r.rdtype == dns.rdatatype.SRV
    ]
    records.sort(key=lambda r: (r.priority, -r.weight, r.target, r.port))
    return done(records)


def resolve_address(name: str, resolvers: list[str], *, lifetime: float = 3.0) -> str:
    """The first IPv4 (else IPv6) address of `name` through the given resolvers. IP literals are
    returned as they are. Raises OSError with a readable message."""
    name = normalise_name(name)
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    resolver = _resolver(resolvers, lifetime)
    deadline = time.monotonic() + lifetime
    last_error = "no address records"
    for rdtype in ("A", "AAAA"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            answer = resolver.resolve(name, rdtype, lifetime=remaining, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            raise OSError(f"{name} does not exist in DNS") from None
        except dns.resolver.LifetimeTimeout:
            raise OSError(f"DNS did not answer for {name} within {lifetime:g} s") from None
        except dns.exception.DNSException as exc:
            last_error = _short(exc)
            continue
        if answer.rrset:
            return answer.rrset[0].to_text()
    raise OSError(f"{name} has no address in DNS ({last_error})")


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
