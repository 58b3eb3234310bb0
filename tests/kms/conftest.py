"""KMS test fixtures: a real DNS server on loopback (dnslib), a real TCP listener, a closed
port, and an organisation whose DNS settings point at that server."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
from dnslib import QTYPE, RR
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from licensing.models import Role
from tests import factories
from tests.samples import read_sample

DOMAIN = "contoso.test"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MutableZone(BaseResolver):
    """dnslib's ZoneResolver logic over a zone that tests can replace while the server runs."""

    def __init__(self, zone: str = "") -> None:
        self.lock = threading.Lock()
        self.set(zone)

    def set(self, zone: str) -> None:
        records = [(rr.rname, QTYPE[rr.rtype], rr) for rr in RR.fromZone(zone)] if zone else []
        with self.lock:
            self.records = records

    def resolve(self, request, handler):  # dnslib API
        reply = request.reply()
        qname, qtype = request.q.qname, QTYPE[request.q.qtype]
        with self.lock:
            matches = [rr for name, rtype, rr in self.records if name == qname]
        answers = [rr for rr in matches if qtype in ("ANY", QTYPE[rr.rtype])]
        for rr in answers:
            reply.add_answer(rr)
        if not matches:
            reply.header.rcode = 3  # NXDOMAIN
        return reply


class LoopbackDns:
    def __init__(self) -> None:
        self.zone = MutableZone()
        self.port = free_port(socket.SOCK_DGRAM)
        quiet = DNSLogger(log="-request,-reply,-truncated,-error", logf=lambda s: None)
        self.server = DNSServer(self.zone, address="127.0.0.1", port=self.port, logger=quiet)
        self.server.start_thread()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.stop()
        self.server.server.server_close()


@pytest.fixture
def dns_server():
    server = LoopbackDns()
    yield server
    server.stop()


@pytest.fixture
def silent_dns():
    """A UDP socket that receives queries and never answers (a black-holed resolver)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture
def tcp_listener():
    """A reachable KMS port: the kernel completes the handshake, nothing else is needed."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def closed_port():
    """A port nothing listens on: connections are refused at once."""
    return free_port()


@pytest.fixture
def black_hole():
    """A listener whose accept queue is full and never drained: SYNs are dropped, so a connect
    hangs until its timeout (loopback only)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    port = sock.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            c.connect(("127.0.0.1", port))
        fillers.append(c)
    yield port
    for c in fillers:
        c.close()
    sock.close()


def zone_text(records: list[str]) -> str:
    return "\n".join(records) + "\n"


@pytest.fixture
def kms_org(org, dns_server):
    """The test organisation, watching contoso.test through the loopback DNS server."""
    org.dns_domains = [DOMAIN]
    org.dns_resolvers = [dns_server.address]
    org.save(update_fields=["dns_domains", "dns_resolvers"])
    return org


@pytest.fixture
def admin_with_email(org):
    user = factories.UserFactory(username="kms-admin-mail", email="kms-admin@example.test")
    factories.MembershipFactory(user=user, organisation=org, role=Role.ADMIN)
    return user


def sample(name: str) -> str:
    return read_sample(name)


DLV_TEMPLATE = """Name: Office 16, OfficeKMSHostVL_KMS_Host edition
Description: Office 16, VOLUME_KMS channel
Activation ID: 98ebfe73-2084-4c97-932c-c0cd1643bea7
Application ID: 0ff1ce15-a989-479d-af46-f275c6370663
Extended PID: 05426-00206-234-001162-03-1033-9200.0000-0992013
Partial Product Key: X9Y8Z
License Status: Licensed
Remaining Windows rearm count: 1000
Trusted time: 10/26/2016 9:58:33 AM
Key Management Service is enabled on this machine
    Current count: {count}
    Listening on Port: {port}
    DNS publishing enabled
    KMS priority: Normal

Key Management Service cumulative requests received from clients
    Total requests received: {total}
    Failed requests received: {failed}
    Requests with License Status Unlicensed: 0
    Requests with License Status Licensed: {licensed}
    Requests with License Status Initial grace period: {grace}
    Requests with License Status License expired or Hardware out of tolerance: 0
    Requests with License Status Non-genuine grace period: 0
    Requests with License Status Notification: 0
"""


def dlv(count=12, port=1688, total=100, failed=3, licensed=90, grace=7) -> str:
    return DLV_TEMPLATE.format(
        count=count, port=port, total=total, failed=failed, licensed=licensed, grace=grace
    )


@pytest.fixture(autouse=True)
def _second_factor_gate_off(settings):
    """These tests are about the vault, hosts and approvals, not sign-in: their sessions are made
    with force_login or a password alone. The second-factor gate on reveal and approve
    (SIGNIN_SECRETS_REQUIRE_2FA, on by default) is tested in tests/signin/."""
    settings.SIGNIN_SECRETS_REQUIRE_2FA = False
