"""The pure probes against a real DNS server and real sockets on loopback."""

import time

import pytest

from licensing.probes import check_tcp, lookup_srv, parse_resolver, resolve_address
from tests.kms.conftest import zone_text
from tests.kms.helpers import a, srv


def test_srv_lookup_returns_every_target_with_its_port(dns_server):
    dns_server.zone.set(
        zone_text([srv("kms1.contoso.test", 1688), srv("Rogue.Contoso.Test", 1700, priority=10)])
    )
    result = lookup_srv("contoso.test.", [dns_server.address], lifetime=2)
    assert result.answered
    assert [(r.target, r.port, r.priority) for r in result.records] == [
        ("kms1.contoso.test", 1688, 0),
        ("rogue.contoso.test", 1700, 10),
    ]


def test_a_domain_without_srv_records_is_an_answer_not_an_error(dns_server):
    dns_server.zone.set(zone_text([a("kms1.contoso.test")]))
    result = lookup_srv("nothing.test", [dns_server.address], lifetime=2)
    assert result.records == [] and result.error is None


def test_a_silent_resolver_costs_its_lifetime_and_reports_an_error(silent_dns):
    started = time.monotonic()
    result = lookup_srv("contoso.test", [silent_dns], lifetime=0.5)
    elapsed = time.monotonic() - started
    assert result.error and "did not answer" in result.error
    # dnspython sleeps a 0.1 s backoff before noticing the lifetime is over.
    assert 0.45 <= elapsed < 0.8


def test_host_names_resolve_through_the_organisations_resolver(dns_server):
    dns_server.zone.set(zone_text([a("kms1.contoso.test", "127.0.0.9")]))
    assert resolve_address("kms1.contoso.test", [dns_server.address]) == "127.0.0.9"
    assert resolve_address("127.0.0.5", [dns_server.address]) == "127.0.0.5"
    with pytest.raises(OSError, match="does not exist"):
        resolve_address("nope.contoso.test", [dns_server.address])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.0.0.53", ("10.0.0.53", 53)),
        ("10.0.0.53:5353", ("10.0.0.53", 5353)),
        ("fd00::53", ("fd00::53", 53)),
        ("[fd00::53]:5353", ("fd00::53", 5353)),
    ],
)
def test_resolver_addresses_take_an_optional_port(value, expected):
    assert parse_resolver(value) == expected


@pytest.mark.parametrize("value", ["dns.contoso.com", "10.0.0.53:0", "10.0.0.53:99999", "[::1"])
def test_resolver_addresses_must_be_ips(value):
    with pytest.raises(ValueError):
        parse_resolver(value)


def test_tcp_reachable_refused_and_black_holed(tcp_listener, closed_port, black_hole):
    ok = check_tcp("127.0.0.1", tcp_listener, timeout=2)
    assert ok.reachable and ok.latency_ms is not None
    refused = check_tcp("127.0.0.1", closed_port, timeout=2)
    assert not refused.reachable and "refused" in refused.error
    started = time.monotonic()
    dead = check_tcp("127.0.0.1", black_hole, timeout=0.5)
    elapsed = time.monotonic() - started
    assert not dead.reachable and "within 0.5 s" in dead.error
    assert 0.45 <= elapsed < 0.7
