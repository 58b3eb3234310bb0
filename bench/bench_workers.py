"""Worker scaling: 10,000 simulated KMS hosts, each on its own loopback address (127.x.y.1),
every tenth one black-holed, polled by 1, 2 and 4 real Celery worker processes against Redis
(dispatched as the beat does: SKIP LOCKED claim, outbox, batches of KMS_POLL_BATCH hosts),
each beside the same batches probed directly, as many at once as the workers have threads
(no portal, no broker, no database).

The "network" runs in a process of its own: a DNS server answering the SRV and A records
(bench_kms.FastDns), one listener per live host address that accepts and closes every
connection (epoll), and one listener per dead host address whose accept queue is full and
never drained, so SYNs to it are dropped and each connect waits for its timeout (1 s here):
no root is needed to black-hole an address this way (no iptables DROP rule). Hosts start in the state a poll will
find, so polls change no state; the scratch organisations are deleted afterwards.

    BENCH_WORKER_HOSTS=10000 BENCH_WORKER_COUNTS=1,2,4 BENCH_WORKER_THREADS=8 \\
        python bench/run.py --clients 1000 --only workers
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from bench.bench_kms import FastDns, _remove_scratch_audit, dispatch, load, probe_baseline
from bench.run import Context, Result

HOSTS = int(os.environ.get("BENCH_WORKER_HOSTS", "10000"))
COUNTS = [int(n) for n in os.environ.get("BENCH_WORKER_COUNTS", "1,2,4").split(",")]
THREADS = int(os.environ.get("BENCH_WORKER_THREADS", "8"))
DEAD_EVERY = 10
HOSTS_PER_ORG = 10
TIMEOUT = 1.0
BROKER = os.environ.get("BENCH_WORKER_BROKER", "redis://127.0.0.1:6379/13")
ROOT = Path(__file__).resolve().parent.parent


def address(i: int) -> str:
    return f"127.{100 + i // 250}.{i % 250 + 1}.1"


def _network(ready, port_out, dns_port_out) -> None:  # runs in the network process
    import selectors
    import threading

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    probe = socket.socket()
    probe.bind((address(0), 0))
    port = probe.getsockname()[1]
    probe.close()
    selector = selectors.DefaultSelector()
    keep = []
    zone = []
    for i in range(HOSTS):
        ip = address(i)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip, port))
        domain = f"bench-workers-{i // HOSTS_PER_ORG:04d}.test"
        fqdn = f"kms{i % HOSTS_PER_ORG:02d}.{domain}"
        zone.append(f"_vlmcs._tcp.{domain}. 60 IN SRV 0 0 {port} {fqdn}.")
        zone.append(f"{fqdn}. 60 IN A {ip}")
        if i % DEAD_EVERY == DEAD_EVERY - 1:
            sock.listen(0)
            for _ in range(3):  # fill the accept queue: later SYNs are dropped
                filler = socket.socket()
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect((ip, port))
                keep.append(filler)
        else:
            sock.listen(256)
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        keep.append(sock)

    def accept_forever() -> None:
        while True:
            for key, _ in selector.select():
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    while True:
                        conn, _ = key.fileobj.accept()
                        conn.close()

    threading.Thread(target=accept_forever, daemon=True).start()
    dns = FastDns("\n".join(zone) + "\n")
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    server.bind(("127.0.0.1", 0))
    port_out.value = port
    dns_port_out.value = server.getsockname()[1]
    ready.set()
    dns.serve(server)


def _plan(port: int) -> list[tuple[str, str, int, bool]]:
    return [
        (
            f"bench-workers-{i // HOSTS_PER_ORG:04d}.test",
            f"kms{i % HOSTS_PER_ORG:02d}.bench-workers-{i // HOSTS_PER_ORG:04d}.test",
            port,
            i % DEAD_EVERY == DEAD_EVERY - 1,
        )
        for i in range(HOSTS)
    ]


def _start_workers(n: int, env: dict[str, str]) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "worker"),
                *("-P", "threads", "-c", str(THREADS), "-n", f"bench-workers-{i}@%h"),
                *("-l", "warning", "--without-gossip", "--without-mingle"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(n)
    ]


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def run(ctx: Context) -> list[Result]:
    import redis
    from django.utils import timezone

    from licensing.models import HostPoll, HostState, HostStatusReport, KmsHost, Organisation
    from licensing.services.kms import polling
    from portal.celery import app

    # Every probe of a batch holds a socket: raise the soft limit (the workers inherit it).
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    mp = multiprocessing.get_context("fork")
    ready, port_v, dns_v = mp.Event(), mp.Value("i", 0), mp.Value("i", 0)
    network = mp.Process(target=_network, args=(ready, port_v, dns_v), daemon=True)
    network.start()
    if not ready.wait(300):
        raise RuntimeError("the simulated network did not start")
    resolver = f"127.0.0.1:{dns_v.value}"
    plan = _plan(port_v.value)
    orgs_n = HOSTS // HOSTS_PER_ORG
    results: list[Result] = []
    orgs = []
    try:
        Organisation.objects.filter(slug__startswith="bench-workers-").delete()
        orgs = Organisation.objects.bulk_create(
            [
                Organisation(
                    name=f"Bench workers {o:04d}",
                    slug=f"bench-workers-{o:04d}",
                    dns_domains=[f"bench-workers-{o:04d}.test"],
                    dns_resolvers=[resolver],
                )
                for o in range(orgs_n)
            ]
        )
        by_domain = {org.dns_domains[0]: org for org in orgs}
        now = timezone.now()
        hosts = KmsHost.objects.bulk_create(
            [
                KmsHost(
                    organisation=by_domain[domain],
                    fqdn=fqdn,
                    port=port,
                    product_group="office_2024",
                    next_poll_at=now + timedelta(days=1),
                    state=HostState.UNREACHABLE if dead else HostState.HEALTHY,
                    last_notified_state=HostState.UNREACHABLE if dead else HostState.HEALTHY,
                    created_at=now,
                )
                for domain, fqdn, port, dead in plan
            ],
            batch_size=2000,
        )
        dead_ids = {h.pk for h, p in zip(hosts, plan, strict=True) if p[3]}
        host_ids = [h.pk for h in hosts]
        env = {
            **os.environ,
            "CELERY_BROKER_URL": BROKER,
            "KMS_TCP_TIMEOUT_SECONDS": str(TIMEOUT),
            "KMS_DNS_LIFETIME_SECONDS": str(TIMEOUT),
            "DATABASE_POOL": "1",
            "DATABASE_POOL_MAX": str(THREADS),
            "KMS_POLL_BATCH": str(polling.POLL_BATCH),
        }
        # Reads (ping) and writes (the tasks) go to the bench broker, whatever was resolved before.
        app.conf.broker_url = app.conf.broker_read_url = app.conf.broker_write_url = BROKER
        import kombu.pools

        kombu.pools.reset()
        app._pool = None
        app.amqp._producer_pool = None
        broker = redis.Redis.from_url(BROKER)
        for n in COUNTS:
            # baseline: the same batches probed straight, as many at once as n workers' threads
            baseline_load = load()
            baseline_s, _ = probe_baseline(plan, resolver, n * THREADS)

            HostPoll.objects.filter(host_id__in=host_ids).delete()
            HostStatusReport.objects.filter(host_id__in=host_ids).delete()
            HostStatusReport.objects.bulk_create(
                [
                    HostStatusReport(
                        host_id=pk,
                        received_at=timezone.now(),
                        raw_text="(bench)",
                        accepted=True,
                        current_count=20,
                        license_status="licensed",
                        submitted_by="bench",
                    )
                    for pk in host_ids
                    if pk not in dead_ids
                ],
                batch_size=2000,
            )
            KmsHost.objects.filter(pk__in=host_ids).update(
                next_poll_at=timezone.now() - timedelta(seconds=1)
            )
            broker.flushdb()
            procs = _start_workers(n, env)
            try:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    with contextlib.suppress(Exception):
                        if len(app.control.ping(timeout=1.0)) >= n:
                            break
                    time.sleep(0.5)
                else:
                    raise RuntimeError(f"{n} benchmark workers did not start")
                started = time.perf_counter()
                dispatch(host_ids)
                done = 0
                while time.perf_counter() - started < 1800:
                    done = HostPoll.objects.filter(host_id__in=host_ids).count()
                    if done >= HOSTS:
                        break
                    time.sleep(0.2)
                portal_s = time.perf_counter() - started
                portal_load = load()
            finally:
                _stop(procs)
                broker.flushdb()
            if done < HOSTS:
                raise RuntimeError(f"{n} workers: only {done} of {HOSTS} hosts were polled")
            results.append(
                Result(
                    f"kms_poll_{HOSTS}_hosts_{n}_workers",
                    round(portal_s, 1),
                    "s",
                    round(baseline_s, 1),
                    f"{n} worker process(es) x {THREADS} threads, batches of {polling.POLL_BATCH}: "
                    f"{HOSTS / portal_s:.0f} polls/s (load {portal_load}); baseline = same "
                    f"batches probed in {n * THREADS} slots, no portal: "
                    f"{HOSTS / baseline_s:.0f} probes/s (load {baseline_load})",
                    extra={
                        "polls_per_second": round(HOSTS / portal_s, 1),
                        "baseline_probes_per_second": round(HOSTS / baseline_s, 1),
                        "workers": n,
                        "threads_per_worker": THREADS,
                        "poll_batch": polling.POLL_BATCH,
                        "load": portal_load,
                        "baseline_load": baseline_load,
                    },
                )
            )
            print(
                f"  {results[-1].name}: {portal_s:.1f} s, load {portal_load} "
                f"(baseline {baseline_s:.1f} s, load {baseline_load})",
                flush=True,
            )
        by_n = {r.extra["workers"]: r for r in results}
        if 2 in by_n and 4 in by_n:
            two, four = by_n[2], by_n[4]
            results.append(
                Result(
                    "kms_poll_workers_4_vs_2_throughput",
                    round(two.value / four.value, 2),
                    "x",
                    round(two.baseline / four.baseline, 2),
                    f"throughput of 4 workers over 2 on {HOSTS} hosts (goal >= 1.8); "
                    f"baseline = the same ratio of the probe-only runs",
                )
            )
    finally:
        _remove_scratch_audit([o.pk for o in orgs])
        Organisation.objects.filter(slug__startswith="bench-workers-").delete()
        network.terminate()
    return results
