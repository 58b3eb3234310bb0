"""The network half of a KMS poll (no database): SRV lookups, then a TCP connect, each bounded
by its own timeout."""

from __future__ import annotations

from django.conf import settings

from licensing.probes import SrvLookup, TcpResult, check_tcp, lookup_srv, resolve_address

# Tunables from settings (defaults and environment variables in portal/settings.py).
TCP_TIMEOUT_SECONDS: float = settings.KMS_TCP_TIMEOUT_SECONDS
DNS_LIFETIME_SECONDS: float = settings.KMS_DNS_LIFETIME_SECONDS


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
