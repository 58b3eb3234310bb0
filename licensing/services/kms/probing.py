"""The network half of a KMS poll (no database): SRV lookups, then a TCP connect, each bounded
by its own timeout."""

from __future__ import annotations

import os

from django.conf import settings

from licensing.probes import SrvLookup, TcpResult, check_tcp, lookup_srv, resolve_address


def tunable(name: str, default: float) -> float:
    """A Django setting of that name, else the environment variable (.env.example), else the
    default the README documents."""
    return float(getattr(settings, name, None) or os.environ.get(name) or default)


TCP_TIMEOUT_SECONDS = tunable("KMS_TCP_TIMEOUT_SECONDS", 3.0)
DNS_LIFETIME_SECONDS = tunable("KMS_DNS_LIFETIME_SECONDS", 3.0)


def probe_host(
    *,
    fqdn: str,
    port: int,
    domains: list[str],
    resolvers: list[str],
    tcp_timeout: float | None = None,
    dns_lifetime: float | None = None,
) -> tuple[TcpResult, list[SrvLookup]]:
    """The network half of a poll (no database): SRV lookups, then a TCP connect. With
    resolvers configured the host name is resolved through them, so the whole probe costs at
    most len(domains) * dns_lifetime + dns_lifetime + tcp_timeout."""
    tcp_timeout = TCP_TIMEOUT_SECONDS if tcp_timeout is None else tcp_timeout
    dns_lifetime = DNS_LIFETIME_SECONDS if dns_lifetime is None else dns_lifetime
    lookups = [lookup_srv(d, resolvers, lifetime=dns_lifetime) for d in domains]
    try:
        address = resolve_address(fqdn, resolvers, lifetime=dns_lifetime) if resolvers else fqdn
    except OSError as exc:
        return TcpResult(False, None, str(exc)), lookups
    return check_tcp(address, port, timeout=tcp_timeout), lookups
