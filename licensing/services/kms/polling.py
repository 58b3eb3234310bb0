"""Polling KMS hosts: beat leases the due hosts and queues them in batches; one task polls a
batch (DNS SRV + TCP of every host at once, then each host's newest status report) and moves
each host's state, with one notification per change.

State rule of a poll, first match wins (README "KMS hosts"):
1. unreachable      - no TCP connection to the host's port within the timeout;
2. not_published    - the organisation has DNS domains and none of their `_vlmcs._tcp` SRV
                      records points at this host with its port (when DNS answered);
3. report_overdue   - the newest accepted status report is older than KMS_REPORT_OVERDUE_HOURS
                      (24 h), or there is none and the host was registered longer ago than that;
4. pending          - no status report yet, but still inside that first window;
5. below_threshold  - the report's current count is under the host's activation threshold;
6. healthy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from licensing import policy
from licensing.models import HostPoll, HostState, HostStatusReport, KmsHost, Organisation
from licensing.probes import SrvLookup, TcpResult
from licensing.services import audit, outbox
from licensing.services.errors import ConflictError
from licensing.services.kms import reasons
from licensing.services.kms.discovery import record_srv_findings
from licensing.services.kms.probing import ProbeTarget, probe_hosts

REPORT_OVERDUE_HOURS: float = settings.KMS_REPORT_OVERDUE_HOURS
DISPATCH_BATCH = 1000
POLL_BATCH: int = settings.KMS_POLL_BATCH
# A poll (of one host or a batch: all probed at once) is a few DNS lookups and one TCP connect,
# each bounded by its own timeout (3 s by default). The limits only catch the pathological case;
# they never bound a normal poll.
POLL_TIME_LIMIT = min(75, settings.CELERY_TASK_TIME_LIMIT)
POLL_SOFT_TIME_LIMIT = max(1, POLL_TIME_LIMIT * 4 // 5)
# The dispatcher leases a due host for this long instead of a whole interval: a poll that is
# lost (its worker killed, its message dropped) comes due again once the lease runs out, and the
# completed poll sets the real next due time.
POLL_LEASE = timedelta(seconds=POLL_TIME_LIMIT + 30)


def queue_poll(*, actor: Any, host: KmsHost, ip_address: str | None = None) -> None:
    """ "Poll now": the poll is queued in the same transaction as the audit entry."""
    policy.require(actor, policy.Action.MANAGE_HOSTS, host.organisation)
    if host.retired_at is not None:
        raise ConflictError(_("This host is retired; it is not polled any more."))
    with transaction.atomic():
        audit.record(
            action="kms_host.poll_now",
            actor=actor,
            organisation=host.organisation_id,
            obj=host,
            ip_address=ip_address,
        )
        outbox.enqueue("licensing.kms.poll_host", host.pk)


def claim_due_hosts(*, now: datetime | None = None, limit: int = DISPATCH_BATCH) -> list[int]:
    """Lease live hosts whose poll is due, in one statement: SKIP LOCKED lets concurrent
    dispatchers take disjoint rows, and the lease moves next_poll_at just past the poll's time
    limit, so a second dispatch in the same minute finds nothing to do while a lost poll is
    retried within minutes rather than skipping a whole interval. Returns their ids, sorted."""
    return sorted(pk for pk, _org in _claim(now=now or timezone.now(), limit=limit))


def _claim(*, now: datetime, limit: int) -> list[tuple[int, int]]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH due AS (
                SELECT id FROM licensing_kmshost
                WHERE retired_at IS NULL AND next_poll_at <= %(now)s
                ORDER BY next_poll_at
                LIMIT %(limit)s
                FOR UPDATE SKIP LOCKED
            )
            UPDATE licensing_kmshost h
            SET next_poll_at = %(leased_until)s
            FROM due WHERE h.id = due.id
            RETURNING h.id, h.organisation_id
            """,
            {"now": now, "limit": limit, "leased_until": now + POLL_LEASE},
        )
        return cursor.fetchall()


def poll_batches(claimed: list[tuple[int, Any]], size: int | None = None) -> list[list[int]]:
    """(host id, organisation id) pairs -> lists of at most `size` host ids (KMS_POLL_BATCH).
    An organisation's hosts go into one batch when they fit in what is left of it (else they
    start a new one; more than `size` hosts fill whole batches), so a batch asks each SRV
    record once and two batches seldom wait for the same organisation's findings lock."""
    size = size or POLL_BATCH
    by_org: dict[Any, list[int]] = {}
    for pk, org in sorted(claimed, key=lambda row: (row[1], row[0])):
        by_org.setdefault(org, []).append(pk)
    batches: list[list[int]] = []
    current: list[int] = []
    for ids in by_org.values():
        if current and len(current) + len(ids) > size:
            batches.append(current)
            current = []
        for i in range(0, len(ids), size):
            chunk = ids[i : i + size]
            if len(current) + len(chunk) > size:
                batches.append(current)
                current = []
            current.extend(chunk)
    if current:
        batches.append(current)
    return batches


def dispatch_due_polls(*, now: datetime | None = None) -> int:
    """Lease the due hosts and queue their polls in batches of KMS_POLL_BATCH hosts (one task
    each), DISPATCH_BATCH hosts per transaction until none is due (SKIP LOCKED: concurrent
    dispatchers take disjoint hosts). A poll that is lost comes due again when its lease runs
    out. Returns the number of hosts queued."""
    now = now or timezone.now()
    queued = 0
    while True:
        with transaction.atomic():
            claimed = _claim(now=now, limit=DISPATCH_BATCH)
            outbox.enqueue_many(
                "licensing.kms.poll_hosts", ([batch] for batch in poll_batches(claimed))
            )
        queued += len(claimed)
        if len(claimed) < DISPATCH_BATCH:
            return queued


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str
    srv_published: bool | None
    srv_detail: list[dict[str, Any]] = field(default_factory=list)


def srv_verdict(
    fqdn: str, port: int, lookups: list[SrvLookup]
) -> tuple[bool | None, list[dict[str, Any]]]:
    """Is the host in the SRV records of any domain with its port? None when no domain is
    configured or no DNS server answered (unknown is not "missing")."""
    detail: list[dict[str, Any]] = []
    for lookup in lookups:
        ports = sorted({r.port for r in lookup.records if r.target == fqdn})
        detail.append(
            {
                "domain": lookup.domain,
                "published": port in ports,
                "ports": ports,
                "error": lookup.error or "",
            }
        )
    if any(d["published"] for d in detail):
        return True, detail
    if not lookups or all(lookup.error for lookup in lookups):
        return None, detail
    return False, detail


def decide_state(
    *,
    host: KmsHost,
    tcp: TcpResult,
    lookups: list[SrvLookup],
    report: HostStatusReport | None,
    now: datetime,
) -> Verdict:
    """The state a poll puts the host in (rule in the module docstring). Pure: no writes."""
    published, detail = srv_verdict(host.fqdn, host.port, lookups)
    if not tcp.reachable:
        return Verdict(HostState.UNREACHABLE, tcp.error or reasons.NO_TCP, published, detail)
    if published is False:
        wrong_port = [d for d in detail if d["ports"]]
        if wrong_port:
            d = wrong_port[0]
            reason = reasons.WRONG_PORT % {
                "domain": d["domain"],
                "ports": ", ".join(map(str, d["ports"])),
                "port": host.port,
            }
        else:
            domains = ", ".join(d["domain"] for d in detail if not d["error"])
            reason = reasons.NOT_IN_SRV % {"domains": domains}
        return Verdict(HostState.NOT_PUBLISHED, reason, published, detail)
    window = timedelta(hours=REPORT_OVERDUE_HOURS)
    if report is None:
        if now - host.created_at >= window:
            return Verdict(
                HostState.REPORT_OVERDUE,
                reasons.NEVER_REPORTED % {"hours": f"{REPORT_OVERDUE_HOURS:g}"},
                published,
                detail,
            )
        return Verdict(HostState.PENDING, reasons.WAITING_FOR_REPORT, published, detail)
    if now - report.received_at >= window:
        hours = (now - report.received_at).total_seconds() / 3600
        return Verdict(
            HostState.REPORT_OVERDUE,
            reasons.REPORT_TOO_OLD % {"age": f"{hours:.0f}", "hours": f"{REPORT_OVERDUE_HOURS:g}"},
            published,
            detail,
        )
    count = report.current_count
    if count is None or count < 0:
        return Verdict(
            HostState.BELOW_THRESHOLD,
            reasons.NO_COUNT,
            published,
            detail,
        )
    if count < host.activation_threshold:
        return Verdict(
            HostState.BELOW_THRESHOLD,
            reasons.BELOW_THRESHOLD % {"count": count, "threshold": host.activation_threshold},
            published,
            detail,
        )
    return Verdict(
        HostState.HEALTHY,
        reasons.HEALTHY % {"count": count, "threshold": host.activation_threshold},
        published,
        detail,
    )


def poll_host(*, host_id: int, now: datetime | None = None) -> HostPoll | None:
    """Poll one host ("Poll now"): `poll_hosts` of one id. None when it is retired or gone."""
    polls = poll_hosts(host_ids=[host_id], now=now)
    return polls[0] if polls else None


def poll_hosts(*, host_ids: Sequence[int], now: datetime | None = None) -> list[HostPoll]:
    """Poll a batch of hosts: every probe at once outside any transaction (a dead host costs
    one timeout beside the others), then one short transaction that locks the hosts (in id
    order), stores one HostPoll each, moves their states and decides each host's (single)
    notification. Retired or deleted hosts are skipped. Safe to run twice: each run stores
    its own polls, and a state change is decided under the row lock."""
    hosts = list(
        KmsHost.objects.select_related("organisation")
        .filter(pk__in=list(host_ids), retired_at__isnull=True)
        .order_by("pk")
    )
    if not hosts:
        return []
    probed = {h.pk: _probe_inputs(h, h.organisation) for h in hosts}
    probes = dict(
        zip(
            (h.pk for h in hosts),
            probe_hosts(
                [
                    ProbeTarget(
                        h.fqdn,
                        h.port,
                        tuple(h.organisation.dns_domains),
                        tuple(h.organisation.dns_resolvers),
                    )
                    for h in hosts
                ]
            ),
            strict=True,
        )
    )
    now = now or timezone.now()
    with transaction.atomic():
        # The hosts only (not their organisations): batches and "poll now" lock rows in the
        # same order, and an organisation's DNS settings are read after the lock, fresh.
        locked = list(
            KmsHost.objects.select_for_update(of=("self",))
            .filter(pk__in=list(probes), retired_at__isnull=True)
            .order_by("pk")
        )
        orgs = Organisation.objects.in_bulk({h.organisation_id for h in locked})
        reports = newest_reports([h.pk for h in locked])
        polls: list[HostPoll] = []
        verdicts: list[Verdict] = []
        for host in locked:
            host.organisation = orgs[host.organisation_id]
            probe = probes[host.pk]
            report = reports.get(host.pk)
            verdict = decide_state(
                host=host, tcp=probe.tcp, lookups=probe.lookups, report=report, now=now
            )
            verdicts.append(verdict)
            notes = [verdict.reason] + [
                reasons.DNS_ERROR % {"domain": d["domain"], "error": d["error"]}
                for d in verdict.srv_detail
                if d["error"]
            ]
            polls.append(
                HostPoll(
                    host=host,
                    polled_at=now,
                    reachable=probe.tcp.reachable,
                    srv_published=verdict.srv_published,
                    current_count=report.current_count if report else None,
                    latency_ms=probe.tcp.latency_ms,
                    state=verdict.state,
                    error="\n".join(notes) if verdict.state != HostState.HEALTHY else "",
                    srv_detail=verdict.srv_detail,
                    report=report,
                    duration_ms=probe.duration_ms,
                )
            )
        HostPoll.objects.bulk_create(polls)
        changed: list[tuple[int, str]] = []
        for host, poll, verdict in zip(locked, polls, verdicts, strict=True):
            previous = host.state
            host.last_polled_at = now
            # The completed poll sets the next due time (the dispatcher only leased the host);
            # if the address or the DNS settings changed while it probed, it stays due.
            host.next_poll_at = (
                now + timedelta(minutes=host.poll_interval_minutes)
                if _probe_inputs(host, host.organisation) == probed[host.pk]
                else timezone.now()
            )
            host.state_reason = verdict.reason[:300]
            host.srv_published = poll.srv_published
            if poll.report is not None:
                host.current_count = poll.report.current_count
                host.license_status = poll.report.license_status
            if previous != poll.state:
                host.state = poll.state
                host.state_changed_at = now
                audit.record(
                    action="kms_host.state_change",
                    actor="celery",
                    organisation=host.organisation_id,
                    obj=host,
                    changes={"state": [previous, poll.state], "reason": verdict.reason},
                )
            if _should_notify(host.last_notified_state, poll.state):
                host.last_notified_state = poll.state
                changed.append((poll.pk, previous))
            elif poll.state != HostState.PENDING:
                host.last_notified_state = poll.state
        _save_hosts(locked, POLLED_FIELDS)
        outbox.enqueue_many("licensing.kms.notify_state_change", changed)
        # Rogue SRV records: once per organisation of the batch, in id order (advisory locks).
        for org_id in sorted(orgs):
            lookups = next(probes[h.pk].lookups for h in locked if h.organisation_id == org_id)
            record_srv_findings(organisation=orgs[org_id], lookups=lookups, now=now)
    return polls


# What a poll writes on its host.
POLLED_FIELDS = (
    "last_polled_at",
    "next_poll_at",
    "state",
    "state_changed_at",
    "state_reason",
    "srv_published",
    "current_count",
    "license_status",
    "last_notified_state",
)


def _save_hosts(hosts: list[KmsHost], fields: Sequence[str]) -> None:
    """One UPDATE for the whole batch, each row's values from arrays (`unnest`): what
    `bulk_update` does, without building a CASE expression per row and field."""
    if not hosts:
        return
    meta = KmsHost._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    arrays = [
        [f.get_db_prep_value(getattr(h, f.attname), connection) for h in hosts] for f in columns
    ]
    names = [connection.ops.quote_name(f.column) for f in columns]
    sql = "UPDATE {table} AS h SET {sets} FROM unnest({arrays}) AS v({names}) WHERE h.{pk} = v.{pk}"
    with connection.cursor() as cursor:
        cursor.execute(
            sql.format(
                table=connection.ops.quote_name(meta.db_table),
                sets=", ".join(f"{n} = v.{n}" for n in names[1:]),
                arrays=", ".join(f"%s::{f.db_type(connection)}[]" for f in columns),
                names=", ".join(names),
                pk=names[0],
            ),
            arrays,
        )


def _probe_inputs(host: KmsHost, org: Organisation) -> tuple[Any, ...]:
    return (host.fqdn, host.port, list(org.dns_domains), list(org.dns_resolvers))


def _should_notify(last_notified: str, new_state: str) -> bool:
    """Once per change: never for "pending", and not for a new host's first healthy poll."""
    if new_state == HostState.PENDING or new_state == last_notified:
        return False
    return bool(last_notified) or new_state != HostState.HEALTHY


def newest_report(host: KmsHost) -> HostStatusReport | None:
    return newest_reports([host.pk]).get(host.pk)


def newest_reports(host_ids: list[int]) -> dict[int, HostStatusReport]:
    """Each host's newest accepted status report, in one query."""
    return {
        r.host_id: r
        for r in HostStatusReport.objects.filter(host_id__in=host_ids, accepted=True)
        .order_by("host_id", "-received_at", "-id")
        .distinct("host_id")
    }
