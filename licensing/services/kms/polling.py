"""Polling KMS hosts: beat leases the due hosts, one task polls each (DNS SRV + TCP + newest
status report) and moves its state, with one notification per change.

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

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from licensing import policy
from licensing.models import HostPoll, HostState, HostStatusReport, KmsHost
from licensing.probes import SrvLookup, TcpResult
from licensing.services import audit, outbox
from licensing.services.errors import ConflictError
from licensing.services.kms import reasons
from licensing.services.kms.discovery import record_srv_findings
from licensing.services.kms.probing import probe_host

REPORT_OVERDUE_HOURS: float = settings.KMS_REPORT_OVERDUE_HOURS
DISPATCH_BATCH = 1000
# A poll is a few DNS lookups and one TCP connect, each bounded by its own timeout (3 s by
# default). The limits only catch the pathological case; they never bound a normal poll.
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
    retried within minutes rather than skipping a whole interval."""
    now = now or timezone.now()
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
            RETURNING h.id
            """,
            {"now": now, "limit": limit, "leased_until": now + POLL_LEASE},
        )
        return sorted(row[0] for row in cursor.fetchall())


def dispatch_due_polls() -> int:
    """Lease the due hosts and queue one poll each, in one transaction (SKIP LOCKED: concurrent
    dispatchers take disjoint hosts). A poll that is lost comes due again when its lease runs
    out. Returns the number of polls queued."""
    with transaction.atomic():
        ids = claim_due_hosts()
        outbox.enqueue_many("licensing.kms.poll_host", ([pk] for pk in ids))
    return len(ids)


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
    """Poll one host: probes outside any transaction, then one short transaction that stores
    the HostPoll, moves the state and decides the (single) notification under a row lock."""
    host = (
        KmsHost.objects.select_related("organisation")
        .filter(pk=host_id, retired_at__isnull=True)
        .first()
    )
    if host is None:
        return None
    org = host.organisation
    probed = _probe_inputs(host)
    started = timezone.now()
    tcp, lookups = probe_host(
        fqdn=host.fqdn,
        port=host.port,
        domains=list(org.dns_domains),
        resolvers=list(org.dns_resolvers),
    )
    duration_ms = (timezone.now() - started).total_seconds() * 1000
    now = now or timezone.now()
    with transaction.atomic():
        host = KmsHost.objects.select_for_update().select_related("organisation").get(pk=host_id)
        if host.retired_at is not None:
            return None
        report = newest_report(host)
        verdict = decide_state(host=host, tcp=tcp, lookups=lookups, report=report, now=now)
        notes = [verdict.reason] + [
            reasons.DNS_ERROR % {"domain": d["domain"], "error": d["error"]}
            for d in verdict.srv_detail
            if d["error"]
        ]
        poll = HostPoll.objects.create(
            host=host,
            polled_at=now,
            reachable=tcp.reachable,
            srv_published=verdict.srv_published,
            current_count=report.current_count if report else None,
            latency_ms=tcp.latency_ms,
            state=verdict.state,
            error="\n".join(notes) if verdict.state != HostState.HEALTHY else "",
            srv_detail=verdict.srv_detail,
            report=report,
            duration_ms=round(duration_ms, 1),
        )
        previous = host.state
        host.last_polled_at = now
        # The completed poll sets the next due time (the dispatcher only leased the host); if
        # the address or the DNS settings changed while it probed, the host stays due.
        host.next_poll_at = (
            now + timedelta(minutes=host.poll_interval_minutes)
            if _probe_inputs(host) == probed
            else timezone.now()
        )
        host.state_reason = verdict.reason[:300]
        host.srv_published = verdict.srv_published
        if report is not None:
            host.current_count = report.current_count
            host.license_status = report.license_status
        if previous != verdict.state:
            host.state = verdict.state
            host.state_changed_at = now
            audit.record(
                action="kms_host.state_change",
                actor="celery",
                organisation=host.organisation_id,
                obj=host,
                changes={"state": [previous, verdict.state], "reason": verdict.reason},
            )
        notify = _should_notify(host.last_notified_state, verdict.state)
        if notify:
            host.last_notified_state = verdict.state
            outbox.enqueue("licensing.kms.notify_state_change", poll.pk, previous)
        elif verdict.state != HostState.PENDING:
            host.last_notified_state = verdict.state
        host.save(
            update_fields=[
                "last_polled_at",
                "next_poll_at",
                "state",
                "state_changed_at",
                "state_reason",
                "srv_published",
                "current_count",
                "license_status",
                "last_notified_state",
            ]
        )
        record_srv_findings(organisation=host.organisation, lookups=lookups, now=now)
    return poll


def _probe_inputs(host: KmsHost) -> tuple[Any, ...]:
    org = host.organisation
    return (host.fqdn, host.port, list(org.dns_domains), list(org.dns_resolvers))


def _should_notify(last_notified: str, new_state: str) -> bool:
    """Once per change: never for "pending", and not for a new host's first healthy poll."""
    if new_state == HostState.PENDING or new_state == last_notified:
        return False
    return bool(last_notified) or new_state != HostState.HEALTHY


def newest_report(host: KmsHost) -> HostStatusReport | None:
    return (
        HostStatusReport.objects.filter(host=host, accepted=True)
        .order_by("-received_at", "-id")
        .first()
    )
