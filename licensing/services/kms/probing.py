"""The network half of a KMS poll (no database): SRV lookups, then a TCP connect, each bounded
by its own timeout. A batch of hosts is probed at once in a thread pool, so a black-holed host
costs its timeout beside the others, not after them."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings

from licensing.probes import SrvLookup, TcpResult, check_tcp, lookup_srv, resolve_address

# Tunables from settings (defaults and environment variables in portal/settings.py).
TCP_TIMEOUT_SECONDS: float = settings.KMS_TCP_TIMEOUT_SECONDS
DNS_LIFETIME_SECONDS: float = settings.KMS_DNS_LIFETIME_SECONDS


@dataclass(frozen=True)
class ProbeTarget:
    fqdn: str
    port: int
    domains: tuple[str, ...] = ()
    resolvers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Probe:
    tcp: TcpResult
    lookups: list[SrvLookup] = field(default_factory=list)
    # From the start of the batch until this host's lookups and connect were all answered.
    duration_ms: float = 0.0


def probe_hosts(
    targets: list[ProbeTarget],
    *,
    tcp_timeout: float | None = None,
    dns_lifetime: float | None = None,
    concurrency: int | None = None,
) -> list[Probe]:
    """Probe every target at once (one result per target, in order): each distinct SRV lookup
    (domain and resolvers) is asked once for the whole batch, and every host's name lookup and
    TCP connect runs in a thread of its own. With `concurrency` at least the number of
    distinct lookups plus hosts (the default), the batch costs at most
    max(dns_lifetime, dns_lifetime + tcp_timeout), whatever its size and however many hosts
    are dead."""
    if not targets:
        return []
    tcp_timeout = TCP_TIMEOUT_SECONDS if tcp_timeout is None else tcp_timeout
    dns_lifetime = DNS_LIFETIME_SECONDS if dns_lifetime is None else dns_lifetime
    wanted = list(dict.fromkeys((d, t.resolvers) for t in targets for d in t.domains))
    started = time.monotonic()

    def timed(fn, *args, **kwargs):
        result = fn(*args, **kwargs)
        return result, time.monotonic()

    def connect(target: ProbeTarget) -> TcpResult:
        try:
            address = (
                resolve_address(target.fqdn, list(target.resolvers), lifetime=dns_lifetime)
                if target.resolvers
                else target.fqdn
            )
        except OSError as exc:
            return TcpResult(False, None, str(exc))
        return check_tcp(address, target.port, timeout=tcp_timeout)

    jobs = len(wanted) + len(targets)
    with ThreadPoolExecutor(min(jobs, concurrency or jobs)) as pool:
        srv: dict[tuple[str, tuple[str, ...]], Future] = {
            key: pool.submit(timed, lookup_srv, key[0], list(key[1]), lifetime=dns_lifetime)
            for key in wanted
        }
        tcp = [pool.submit(timed, connect, t) for t in targets]
        probes = []
        for target, future in zip(targets, tcp, strict=True):
            result, finished = future.result()
            lookups = []
            for d in target.domains:
                lookup, answered = srv[(d, target.resolvers)].result()
                lookups.append(lookup)
                finished = max(finished, answered)
            probes.append(Probe(result, lookups, round((finished - started) * 1000, 1)))
    return probes


def probe_host(
    *,
    fqdn: str,
    port: int,
    domains: list[str],
    resolvers: list[str],
    tcp_timeout: float | None = None,
    dns_lifetime: float | None = None,
) -> tuple[TcpResult, list[SrvLookup]]:
    """One host's probes (`probe_hosts` of one target): its SRV lookups and, with resolvers
    configured, its name lookup and TCP connect run side by side."""
    (probe,) = probe_hosts(
        [ProbeTarget(fqdn, port, tuple(domains), tuple(resolvers))],
        tcp_timeout=tcp_timeout,
        dns_lifetime=dns_lifetime,
    )
    return probe.tcp, probe.lookups
