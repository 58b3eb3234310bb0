"""KMS polling: 1,000 hosts, a tenth of them black-holed, polled by two real Celery worker
processes (16 threads each) against Redis, beside the same probes run directly without the
portal (no broker, no database): the same batches (KMS_POLL_BATCH hosts, all probed at once)
in a pool of as many slots as the workers have threads.

Everything is on loopback: a DNS server (answers packed once by dnslib, FastDns) answers the
SRV and A records; live hosts point
at a listening socket; dead hosts point at a listener whose accept queue is full and never
drained, so their SYNs are dropped and each connect waits for its timeout (1 s here).

The bench works on its own scratch organisations in the shared benchmark database and deletes
them afterwards. Hosts start in the state a poll will find (healthy with a fresh report, or
unreachable), so polls change no state and write no audit rows or emails to clean up.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from bench.run import Context, Result

HOSTS = 1000
DEAD_EVERY = 10  # every tenth host is black-holed
HOSTS_PER_ORG = 10
TIMEOUT = 1.0  # TCP connect timeout and DNS lifetime of the bench
WORKERS = 2
THREADS = 16
BROKER = "redis://127.0.0.1:6379/14"  # a Redis database of its own: no other queue mixes in
ROOT = Path(__file__).resolve().parent.parent


def _listener(backlog: int) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    return sock


def _black_hole() -> tuple[socket.socket, list[socket.socket]]:
    sock = _listener(0)
    port = sock.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            c.connect(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.2)
    return sock, fillers


class _DictResolver:
    """Answers from a dict keyed by (name, type): O(1) per query, unlike ZoneResolver's scan."""

    def __init__(self, zone: str) -> None:
        from dnslib import QTYPE, RR

        self.records: dict[tuple[str, str], list] = {}
        for rr in RR.fromZone(zone):
            self.records.setdefault((str(rr.rname).lower(), QTYPE[rr.rtype]), []).append(rr)

    def resolve(self, request, handler):
        from dnslib import QTYPE

        reply = request.reply()
        key = (str(request.q.qname).lower(), QTYPE[request.q.qtype])
        answers = self.records.get(key)
        if answers:
            for rr in answers:
                reply.add_answer(rr)
        else:
            reply.header.rcode = 3
        return reply


class FastDns:
    """The loopback resolver of the benches: every answer of the zone is packed once at start
    (keyed by the question's wire form), so a query costs a dict lookup and a two-byte ID patch
    in one thread, not a parse and a thread of dnslib's server per query; names missing from
    the zone get dnslib's answer (NXDOMAIN). A real resolver answers thousands of queries a
    second: the simulated one must not be what a benchmark measures."""

    def __init__(self, zone: str) -> None:
        from dnslib import DNSRecord

        self.fallback = _DictResolver(zone)
        self.answers: dict[bytes, bytes] = {}
        for (name, qtype), _rrs in self.fallback.records.items():
            query = DNSRecord.question(name, qtype)
            query.header.id = 0
            key = self._question(query.pack())
            self.answers[key] = self.fallback.resolve(query, None).pack()

    @staticmethod
    def _question(packet: bytes) -> bytes:
        """The question section (QNAME, QTYPE, QCLASS), QNAME in lower case."""
        i = 12
        while packet[i]:
            i += packet[i] + 1
        return bytes(packet[12:i]).lower() + bytes(packet[i + 1 : i + 5])

    def serve(self, sock: socket.socket) -> None:
        from dnslib import DNSRecord

        while True:
            packet, peer = sock.recvfrom(512)
            # A malformed packet gets no answer, as from a real server.
            with contextlib.suppress(Exception):
                reply = self.answers.get(self._question(packet))
                if reply is None:
                    reply = self.fallback.resolve(DNSRecord.parse(packet), None).pack()
                else:
                    reply = packet[:2] + reply[2:]
                sock.sendto(reply, peer)


def _serve_network(zone: str, sock: socket.socket, live: socket.socket, ready) -> None:
    """The loopback "network": the DNS server, and the live hosts' listener that accepts and
    closes every connection (an un-drained accept queue would turn them into black holes)."""
    import threading

    def accept_forever() -> None:
        while True:
            conn, _ = live.accept()
            conn.close()

    threading.Thread(target=accept_forever, daemon=True).start()

    dns = FastDns(zone)
    ready.set()
    dns.serve(sock)  # blocks; the process is terminated at the end


def _network(zone: str, live: socket.socket):
    """DNS server and live listener in a process of their own, so the GIL of the bench process
    (and its threads) never delays an answer."""
    import multiprocessing

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    sock.bind(("127.0.0.1", 0))
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    process = context.Process(target=_serve_network, args=(zone, sock, live, ready), daemon=True)
    process.start()
    if not ready.wait(120):
        raise RuntimeError("the simulated network did not start")
    port = sock.getsockname()[1]
    sock.close()  # the network process holds its own copy
    return process, f"127.0.0.1:{port}"


def _start_workers(env: dict[str, str]) -> list[subprocess.Popen]:
    procs = []
    for i in range(WORKERS):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "portal",
                    "worker",
                    "-P",
                    "threads",
                    "-c",
                    str(THREADS),
                    "-n",
                    f"bench-kms-{i}@%h",
                    "-l",
                    "warning",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return procs


def run(ctx: Context) -> list[Result]:
    from django.utils import timezone

    from licensing.models import HostPoll, HostState, HostStatusReport, KmsHost, Organisation
    from licensing.services.kms import polling
    from portal.celery import app

    live = _listener(1024)
    live_port = live.getsockname()[1]
    hole, fillers = _black_hole()
    hole_port = hole.getsockname()[1]

    orgs_n = HOSTS // HOSTS_PER_ORG
    names = [
        (f"bench-kms-{o:03d}.test", f"kms{h:02d}")
        for o in range(orgs_n)
        for h in range(HOSTS_PER_ORG)
    ]
    zone = []
    plan = []  # (domain, fqdn, port, dead)
    for i, (domain, name) in enumerate(names):
        fqdn = f"{name}.{domain}"
        dead = i % DEAD_EVERY == DEAD_EVERY - 1
        port = hole_port if dead else live_port
        zone.append(f"_vlmcs._tcp.{domain}. 60 IN SRV 0 0 {port} {fqdn}.")
        zone.append(f"{fqdn}. 60 IN A 127.0.0.1")
        plan.append((domain, fqdn, port, dead))
    dns, resolver = _network("\n".join(zone) + "\n", live)

    # --- baseline: the same batches probed straight, as many at once as the workers' threads
    baseline_s, timings = probe_baseline(plan, resolver, WORKERS * THREADS)
    baseline_dead = [t for (t, dead) in timings if dead]

    # --- the portal: scratch organisations and hosts in the benchmark database
    now = timezone.now()
    Organisation.objects.filter(slug__startswith="bench-kms-").delete()
    orgs = Organisation.objects.bulk_create(
        [
            Organisation(
                name=f"Bench KMS {o:03d}",
                slug=f"bench-kms-{o:03d}",
                dns_domains=[f"bench-kms-{o:03d}.test"],
                dns_resolvers=[resolver],
            )
            for o in range(orgs_n)
        ]
    )
    by_domain = {org.dns_domains[0]: org for org in orgs}
    hosts = KmsHost.objects.bulk_create(
        [
            KmsHost(
                organisation=by_domain[domain],
                fqdn=fqdn,
                port=port,
                product_group="office_2024",
                next_poll_at=now - timedelta(seconds=1),
                state=HostState.UNREACHABLE if dead else HostState.HEALTHY,
                last_notified_state=HostState.UNREACHABLE if dead else HostState.HEALTHY,
                created_at=now,
            )
            for domain, fqdn, port, dead in plan
        ]
    )
    dead_ids = {h.pk for h, p in zip(hosts, plan, strict=True) if p[3]}
    HostStatusReport.objects.bulk_create(
        [
            HostStatusReport(
                host=h,
                received_at=now,
                raw_text="(bench)",
                accepted=True,
                current_count=20,
                license_status="licensed",
                submitted_by="bench",
            )
            for h in hosts
            if h.pk not in dead_ids
        ]
    )
    host_ids = [h.pk for h in hosts]

    env = {
        **os.environ,
        "CELERY_BROKER_URL": BROKER,
        "KMS_TCP_TIMEOUT_SECONDS": str(TIMEOUT),
        "KMS_DNS_LIFETIME_SECONDS": str(TIMEOUT),
        "DATABASE_POOL": "1",
        "DATABASE_POOL_MAX": str(THREADS),
    }
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    app.conf.broker_url = app.conf.broker_read_url = app.conf.broker_write_url = BROKER
    import kombu.pools

    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    procs = _start_workers(env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if len(app.control.ping(timeout=1.0)) >= WORKERS:
                    break
            time.sleep(0.5)
        else:
            raise RuntimeError("the benchmark's Celery workers did not start")

        started = time.perf_counter()
        claimed = dispatch(host_ids)
        done = 0
        while time.perf_counter() - started < 300:
            done = HostPoll.objects.filter(host_id__in=host_ids).count()
            if done >= HOSTS:
                break
            time.sleep(0.05)
        portal_s = time.perf_counter() - started
        polls = list(
            HostPoll.objects.filter(host_id__in=host_ids).values_list(
                "host_id", "duration_ms", "state"
            )
        )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        redis.Redis.from_url(BROKER).flushdb()
        leaked = _remove_scratch_audit([o.pk for o in orgs])
        Organisation.objects.filter(slug__startswith="bench-kms-").delete()
        dns.terminate()
        live.close()
        hole.close()
        for c in fillers:
            c.close()

    if leaked:
        print(f"  warning: {leaked} hosts changed state during the run (audit rows removed)")
    if len(polls) < HOSTS:
        raise RuntimeError(f"only {len(polls)} of {HOSTS} hosts were polled")
    dead_ms = [d for pk, d, _ in polls if pk in dead_ids]
    live_ms = [d for pk, d, _ in polls if pk not in dead_ids]
    states = {s for pk, _, s in polls if pk in dead_ids}
    note_dead = (
        f"dead host: median {statistics.median(dead_ms):.0f} ms, max {max(dead_ms):.0f} ms "
        f"(timeout {TIMEOUT * 1000:.0f} ms); live median {statistics.median(live_ms):.1f} ms"
    )
    return [
        Result(
            "kms_poll_1000_hosts_10pct_dead",
            round(portal_s, 2),
            "s",
            round(baseline_s, 2),
            f"{WORKERS} Celery worker processes x {THREADS} threads on Redis, "
            f"{len(claimed)} claimed by SKIP LOCKED dispatch in batches of {polling.POLL_BATCH}; "
            f"baseline = same batches probed in {WORKERS * THREADS} slots, no portal; "
            f"load {load()}",
        ),
        Result(
            "kms_poll_dead_host_max_cost",
            round(max(dead_ms), 1),
            "ms",
            round(max(baseline_dead) * 1000, 1),
            note_dead + f"; dead states {sorted(states)}",
        ),
    ]


def _remove_scratch_audit(org_ids: list[int]) -> int:
    """Hosts start in the state a poll finds, so polls should write no audit rows. If some host
    changed state anyway, remove the rows of the scratch organisations (the audit table is
    append-only by trigger: disabled and re-enabled inside one transaction) so the shared
    benchmark database is left as it was."""
    from django.db import connection, transaction

    from licensing.models import AuditEvent

    if not AuditEvent.objects.filter(organisation_id__in=org_ids).exists():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE licensing_auditevent DISABLE TRIGGER licensing_auditevent_no_update_delete"
        )
        cursor.execute(
            "DELETE FROM licensing_auditevent WHERE organisation_id = ANY(%s)", [org_ids]
        )
        removed = cursor.rowcount
        cursor.execute(
            "ALTER TABLE licensing_auditevent ENABLE TRIGGER licensing_auditevent_no_update_delete"
        )
    return removed


def load() -> str:
    """The machine's load average (1, 5, 15 min) as `uptime` shows it."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def batches_of(plan: list[tuple[str, str, int, bool]]) -> list[list[int]]:
    """The plan's rows (indexes) in the batches the dispatch would queue (domain = org)."""
    from licensing.services.kms import polling

    return polling.poll_batches([(i, row[0]) for i, row in enumerate(plan)])


def probe_baseline(
    plan: list[tuple[str, str, int, bool]], resolver: str, slots: int
) -> tuple[float, list[tuple[float, bool]]]:
    """The portal's probing without the portal: the same batches, each probed at once by
    `probing.probe_hosts`, `slots` batches at a time (the workers' threads). Returns the wall
    time and each host's (probe seconds, dead)."""
    from licensing.services.kms import probing

    def probe(batch: list[int]) -> list[tuple[float, bool]]:
        probes = probing.probe_hosts(
            [
                probing.ProbeTarget(plan[i][1], plan[i][2], (plan[i][0],), (resolver,))
                for i in batch
            ],
            tcp_timeout=TIMEOUT,
            dns_lifetime=TIMEOUT,
        )
        out = []
        for i, p in zip(batch, probes, strict=True):
            assert p.tcp.reachable != plan[i][3], (plan[i], p.tcp)
            out.append((p.duration_ms / 1000, plan[i][3]))
        return out

    started = time.perf_counter()
    with ThreadPoolExecutor(slots) as pool:
        timings = [t for chunk in pool.map(probe, batches_of(plan)) for t in chunk]
    return time.perf_counter() - started, timings


def dispatch(host_ids: list[int]) -> list[int]:
    """What beat's dispatch does, for the bench's hosts only (the benchmark database holds
    other hosts): claim the due ones (SKIP LOCKED) and queue them through the outbox in
    batches of KMS_POLL_BATCH, an organisation's hosts together."""
    from django.db import transaction

    from licensing.models import KmsHost
    from licensing.services import outbox
    from licensing.services.kms import polling

    wanted = set(host_ids)
    claimed = [pk for pk in polling.claim_due_hosts(limit=len(host_ids) * 2) if pk in wanted]
    orgs = dict(KmsHost.objects.filter(pk__in=claimed).values_list("pk", "organisation_id"))
    with transaction.atomic():
        outbox.enqueue_many(
            "licensing.kms.poll_hosts",
            ([b] for b in polling.poll_batches([(pk, orgs[pk]) for pk in claimed])),
        )
    return claimed
