"""KMS hosts: the registry, polling (DNS SRV + TCP + newest status report), state changes with
one notification each, and rogue SRV records.

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

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from licensing import crypto, policy
from licensing.models import (
    DEFAULT_KMS_PORT,
    DnsFinding,
    HostPoll,
    HostState,
    HostStatusReport,
    KmsHost,
    KmsProductGroup,
    Organisation,
    Role,
)
from licensing.probes import SrvLookup, TcpResult, check_tcp, lookup_srv, resolve_address
from licensing.querysets import member_emails
from licensing.services import audit, reauth
from licensing.services.errors import ConflictError, DomainError

log = logging.getLogger(__name__)


# Tunables from settings (defaults and environment variables in portal/settings.py).
TCP_TIMEOUT_SECONDS: float = settings.KMS_TCP_TIMEOUT_SECONDS
DNS_LIFETIME_SECONDS: float = settings.KMS_DNS_LIFETIME_SECONDS
REPORT_OVERDUE_HOURS: float = settings.KMS_REPORT_OVERDUE_HOURS
DISPATCH_BATCH = 1000

# RFC 1123 host names: labels of letters, digits and inner hyphens; at least two labels.
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalise_fqdn(raw: str) -> str:
    """Lower-case FQDN without the trailing dot, or ValidationError with a readable reason."""
    fqdn = (raw or "").strip().rstrip(".").lower()
    if not fqdn:
        raise ValidationError({"fqdn": "Give the host's fully qualified domain name."})
    if len(fqdn) > 253:
        raise ValidationError({"fqdn": "A DNS name has at most 253 characters."})
    labels = fqdn.split(".")
    if len(labels) < 2:
        raise ValidationError(
            {"fqdn": f"'{fqdn}' is not fully qualified: add the domain (e.g. {fqdn}.contoso.com)."}
        )
    for label in labels:
        if not _LABEL.match(label):
            raise ValidationError(
                {
                    "fqdn": f"'{label}' is not a valid DNS label: use letters, digits and "
                    "hyphens (not at the start or end), at most 63 characters."
                }
            )
    if labels[-1].isdigit():
        raise ValidationError({"fqdn": "Give the host's DNS name, not an IP address."})
    return fqdn


def _validate_numbers(*, port: int, activation_threshold: int, poll_interval_minutes: int) -> None:
    errors = {}
    if not 1 <= int(port) <= 65535:
        errors["port"] = "The port must be between 1 and 65535 (KMS listens on 1688 by default)."
    if not 1 <= int(activation_threshold) <= 50:
        errors["activation_threshold"] = (
            "The activation threshold is between 1 and 50 (5 for Office and Windows Server, "
            "25 for Windows clients)."
        )
    if not 1 <= int(poll_interval_minutes) <= 1440:
        errors["poll_interval_minutes"] = "Poll every 1 to 1440 minutes."
    if errors:
        raise ValidationError(errors)


def _seal_host_key(raw: str) -> crypto.SealedKey:
    try:
        return crypto.seal_product_key(raw)
    except crypto.InvalidProductKey as exc:
        raise ValidationError({"host_key": str(exc)}) from None


def _duplicate_error(organisation: Organisation, fqdn: str) -> ValidationError:
    other = KmsHost.objects.for_organisation(organisation).filter(fqdn=fqdn).first()
    if other is not None and other.retired_at is not None:
        return ValidationError(
            {
                "fqdn": f"{fqdn} is registered already (retired on "
                f"{other.retired_at:%Y-%m-%d}); retired hosts keep their history."
            }
        )
    return ValidationError({"fqdn": f"{fqdn} is registered already in this organisation."})


@transaction.atomic
def register_host(
    *,
    actor: Any,
    organisation: Organisation,
    fqdn: str,
    product_group: str,
    port: int = DEFAULT_KMS_PORT,
    host_key: str = "",
    activation_threshold: int = 5,
    poll_interval_minutes: int = 15,
    ip_address: str | None = None,
) -> KmsHost:
    """Add a KMS host. It is polled at the next dispatch (within a minute)."""
    policy.require(actor, policy.Action.MANAGE_HOSTS, organisation)
    fqdn = normalise_fqdn(fqdn)
    if product_group not in KmsProductGroup.values:
        raise ValidationError({"product_group": "Choose the Office version of the host key."})
    _validate_numbers(
        port=port,
        activation_threshold=activation_threshold,
        poll_interval_minutes=poll_interval_minutes,
    )
    if KmsHost.objects.for_organisation(organisation).filter(fqdn=fqdn).exists():
        raise _duplicate_error(organisation, fqdn)
    sealed = _seal_host_key(host_key) if (host_key or "").strip() else None
    now = timezone.now()
    try:
        with transaction.atomic():
            host = KmsHost.objects.create(
                organisation=organisation,
                fqdn=fqdn,
                port=int(port),
                product_group=product_group,
                activation_threshold=int(activation_threshold),
                poll_interval_minutes=int(poll_interval_minutes),
                host_key_ciphertext=sealed.ciphertext if sealed else "",
                host_key_last5=sealed.last5 if sealed else "",
                host_key_fingerprint=sealed.fingerprint if sealed else None,
                next_poll_at=now,
                state_changed_at=now,
            )
    except IntegrityError:  # a concurrent registration of the same name won the race
        raise _duplicate_error(organisation, fqdn) from None
    audit.record(
        action="kms_host.create",
        actor=actor,
        organisation=organisation,
        obj=host,
        changes={
            "fqdn": fqdn,
            "port": host.port,
            "product_group": product_group,
            "activation_threshold": host.activation_threshold,
            "poll_interval_minutes": host.poll_interval_minutes,
            "host_key": crypto.mask_last5(host.host_key_last5) if sealed else "",
        },
        ip_address=ip_address,
    )
    return host


EDITABLE = ("fqdn", "port", "product_group", "activation_threshold", "poll_interval_minutes")


@transaction.atomic
def update_host(
    *,
    actor: Any,
    host: KmsHost,
    ip_address: str | None = None,
    host_key: str = "",
    **changes: Any,
) -> KmsHost:
    """Edit a live host. `host_key` replaces the stored key when given (blank keeps it)."""
    policy.require(actor, policy.Action.MANAGE_HOSTS, host.organisation)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({"__all__": f"Cannot change {', '.join(sorted(unknown))}."})
    host = KmsHost.objects.select_for_update().get(pk=host.pk)
    if host.retired_at is not None:
        raise ConflictError("This host is retired; retired hosts cannot be edited.")
    if "fqdn" in changes:
        changes["fqdn"] = normalise_fqdn(changes["fqdn"])
        if (
            changes["fqdn"] != host.fqdn
            and KmsHost.objects.for_organisation(host.organisation_id)
            .filter(fqdn=changes["fqdn"])
            .exists()
        ):
            raise _duplicate_error(host.organisation, changes["fqdn"])
    if "product_group" in changes and changes["product_group"] not in KmsProductGroup.values:
        raise ValidationError({"product_group": "Choose the Office version of the host key."})
    _validate_numbers(
        port=changes.get("port", host.port),
        activation_threshold=changes.get("activation_threshold", host.activation_threshold),
        poll_interval_minutes=changes.get("poll_interval_minutes", host.poll_interval_minutes),
    )
    diff: dict[str, Any] = {}
    for name, value in changes.items():
        old = getattr(host, name)
        if name in ("port", "activation_threshold", "poll_interval_minutes"):
            value = int(value)
        if old != value:
            diff[name] = [old, value]
            setattr(host, name, value)
    if (host_key or "").strip():
        sealed = _seal_host_key(host_key)
        if sealed.fingerprint != host.host_key_fingerprint:
            diff["host_key"] = [
                crypto.mask_last5(host.host_key_last5) if host.host_key_last5 else "",
                crypto.mask_last5(sealed.last5),
            ]
            host.host_key_ciphertext = sealed.ciphertext
            host.host_key_last5 = sealed.last5
            host.host_key_fingerprint = sealed.fingerprint
    if not diff:
        return host
    if {"fqdn", "port"} & set(diff):
        host.next_poll_at = timezone.now()  # check the new address at the next dispatch
    try:
        with transaction.atomic():
            host.save()
    except IntegrityError:
        raise _duplicate_error(host.organisation, host.fqdn) from None
    audit.record(
        action="kms_host.update",
        actor=actor,
        organisation=host.organisation_id,
        obj=host,
        changes=diff,
        ip_address=ip_address,
    )
    return host


@transaction.atomic
def retire_host(*, actor: Any, host: KmsHost, ip_address: str | None = None) -> KmsHost:
    """Stop polling a host, revoke its reporter tokens and keep its history."""
    from licensing.models import ApiToken

    policy.require(actor, policy.Action.MANAGE_HOSTS, host.organisation)
    host = KmsHost.objects.select_for_update().get(pk=host.pk)
    if host.retired_at is not None:
        return host
    now = timezone.now()
    previous = host.state
    host.retired_at = now
    host.state = HostState.RETIRED
    host.state_changed_at = now
    host.state_reason = "Retired by an administrator."
    host.next_poll_at = None
    host.save(
        update_fields=["retired_at", "state", "state_changed_at", "state_reason", "next_poll_at"]
    )
    revoked = ApiToken.objects.filter(kms_host=host, revoked_at__isnull=True).update(revoked_at=now)
    audit.record(
        action="kms_host.retire",
        actor=actor,
        organisation=host.organisation_id,
        obj=host,
        changes={"state": [previous, HostState.RETIRED], "reporter_tokens_revoked": revoked},
        ip_address=ip_address,
    )
    return host


@transaction.atomic
def reveal_host_key(
    *,
    actor: Any,
    host: KmsHost,
    password_confirmed_at: float | datetime | None,
    ip_address: str | None = None,
) -> str:
    """The host key in clear, for an administrator who confirmed their password in the last
    few minutes. Every reveal is audited (masked) in the same transaction."""
    policy.require(actor, policy.Action.REVEAL_SECRET, host.organisation)
    if not reauth.is_fresh(password_confirmed_at):
        raise DomainError(
            "Confirm your password to reveal a host key.", code="password_confirmation_required"
        )
    if not host.host_key_ciphertext:
        raise DomainError("No host key is stored for this host.", code="no_host_key")
    key = crypto.decrypt_product_key(host.host_key_ciphertext)
    audit.record(
        action="kms_host.reveal_key",
        actor=actor,
        organisation=host.organisation_id,
        obj=host,
        changes={"host_key": crypto.mask_last5(host.host_key_last5)},
        ip_address=ip_address,
    )
    return key


def queue_poll(*, actor: Any, host: KmsHost, ip_address: str | None = None) -> None:
    """ "Poll now": the task is queued once the surrounding transaction commits."""
    from licensing.tasks_kms import poll_kms_host

    policy.require(actor, policy.Action.MANAGE_HOSTS, host.organisation)
    if host.retired_at is not None:
        raise ConflictError("This host is retired; it is not polled any more.")
    with transaction.atomic():
        audit.record(
            action="kms_host.poll_now",
            actor=actor,
            organisation=host.organisation_id,
            obj=host,
            ip_address=ip_address,
        )
        transaction.on_commit(lambda: poll_kms_host.delay(host.pk))


@transaction.atomic
def update_dns_settings(
    *,
    actor: Any,
    organisation: Organisation,
    dns_domains: list[str],
    dns_resolvers: list[str],
    ip_address: str | None = None,
) -> Organisation:
    """The domains whose `_vlmcs._tcp` records the portal reads, and the resolvers it asks."""
    from licensing.probes import parse_resolver

    policy.require(actor, policy.Action.MANAGE_ORGANISATION, organisation)
    domains = list(dict.fromkeys(normalise_fqdn(d) for d in dns_domains))
    for value in dns_resolvers:
        try:
            parse_resolver(value)
        except ValueError as exc:
            raise ValidationError({"dns_resolvers": str(exc)}) from None
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    diff = {}
    if org.dns_domains != domains:
        diff["dns_domains"] = [org.dns_domains, domains]
    if org.dns_resolvers != list(dns_resolvers):
        diff["dns_resolvers"] = [org.dns_resolvers, list(dns_resolvers)]
    if not diff:
        return org
    org.dns_domains = domains
    org.dns_resolvers = list(dns_resolvers)
    org.save(update_fields=["dns_domains", "dns_resolvers"])
    # Findings of domains no longer watched are closed; every host is checked again now.
    DnsFinding.objects.filter(organisation=org, resolved_at__isnull=True).exclude(
        domain__in=domains
    ).update(resolved_at=timezone.now())
    KmsHost.objects.for_organisation(org).filter(retired_at__isnull=True).update(
        next_poll_at=timezone.now()
    )
    audit.record(
        action="organisation.dns_settings",
        actor=actor,
        organisation=org,
        obj=org,
        changes=diff,
        ip_address=ip_address,
    )
    transaction.on_commit(lambda: _queue_discovery(org.pk))
    return org


def _queue_discovery(organisation_id: int) -> None:
    from licensing.tasks_kms import discover_organisation_srv

    discover_organisation_srv.delay(organisation_id)


def queue_discovery(*, actor: Any, organisation: Organisation) -> None:
    """ "Check DNS now" on the host list."""
    policy.require(actor, policy.Action.MANAGE_HOSTS, organisation)
    transaction.on_commit(lambda: _queue_discovery(organisation.pk))


# --- Polling -------------------------------------------------------------------------------


def claim_due_hosts(*, now: datetime | None = None, limit: int = DISPATCH_BATCH) -> list[int]:
    """Claim live hosts whose poll is due and push their next poll forward by their interval, in
    one statement. SKIP LOCKED lets concurrent dispatchers take disjoint rows, and because the
    claim moves next_poll_at, a second dispatch in the same minute finds nothing to do."""
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
            SET next_poll_at = %(now)s + make_interval(mins => h.poll_interval_minutes)
            FROM due WHERE h.id = due.id
            RETURNING h.id
            """,
            {"now": now, "limit": limit},
        )
        return sorted(row[0] for row in cursor.fetchall())


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
        return Verdict(HostState.UNREACHABLE, tcp.error or "No TCP connection.", published, detail)
    if published is False:
        wrong_port = [d for d in detail if d["ports"]]
        if wrong_port:
            d = wrong_port[0]
            reason = (
                f"_vlmcs._tcp.{d['domain']} points at this host with port "
                f"{', '.join(map(str, d['ports']))}, not {host.port}."
            )
        else:
            domains = ", ".join(d["domain"] for d in detail if not d["error"])
            reason = f"No _vlmcs._tcp SRV record for this host in {domains}."
        return Verdict(HostState.NOT_PUBLISHED, reason, published, detail)
    window = timedelta(hours=REPORT_OVERDUE_HOURS)
    if report is None:
        if now - host.created_at >= window:
            return Verdict(
                HostState.REPORT_OVERDUE,
                f"No status report received since the host was registered "
                f"({REPORT_OVERDUE_HOURS:g} h ago or more).",
                published,
                detail,
            )
        return Verdict(
            HostState.PENDING, "Reachable; waiting for the first status report.", published, detail
        )
    if now - report.received_at >= window:
        hours = (now - report.received_at).total_seconds() / 3600
        return Verdict(
            HostState.REPORT_OVERDUE,
            f"The newest status report is {hours:.0f} h old (more than {REPORT_OVERDUE_HOURS:g} h).",
            published,
            detail,
        )
    count = report.current_count
    if count is None or count < 0:
        return Verdict(
            HostState.BELOW_THRESHOLD,
            "The host reports no current count (KMS not enabled, or no requests yet).",
            published,
            detail,
        )
    if count < host.activation_threshold:
        return Verdict(
            HostState.BELOW_THRESHOLD,
            f"Current count {count} is under the activation threshold of "
            f"{host.activation_threshold}: clients cannot activate (0xC004F038).",
            published,
            detail,
        )
    return Verdict(
        HostState.HEALTHY,
        f"Current count {count} (threshold {host.activation_threshold}).",
        published,
        detail,
    )


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
            f"DNS {d['domain']}: {d['error']}" for d in verdict.srv_detail if d["error"]
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
            transaction.on_commit(
                lambda: notify_state_change(host_id=host.pk, previous=previous, poll_id=poll.pk)
            )
        elif verdict.state != HostState.PENDING:
            host.last_notified_state = verdict.state
        host.save(
            update_fields=[
                "last_polled_at",
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


def _should_notify(last_notified: str, new_state: str) -> bool:
    """Once per change: never for "pending", and not for a new host's first healthy poll."""
    if new_state == HostState.PENDING or new_state == last_notified:
        return False
    return bool(last_notified) or new_state != HostState.HEALTHY


def notify_state_change(*, host_id: int, previous: str, poll_id: int) -> int:
    """Email the organisation's administrators about a host's new state. Returns the number
    of recipients. Runs after the poll committed; a mail failure is logged, not retried."""
    host = KmsHost.objects.select_related("organisation").get(pk=host_id)
    recipients = member_emails(host.organisation_id, Role.ADMIN)
    if not recipients:
        return 0
    label = HostState(host.state).label
    was = HostState(previous).label if previous in HostState.values else previous
    url = f"{settings.PORTAL_BASE_URL.rstrip('/')}/kms/hosts/{host.pk}/"
    body = (
        f"KMS host {host.fqdn} ({host.organisation.name}) is now: {label}.\n"
        f"Before: {was}.\n\n{host.state_reason}\n\n"
        f"{_ADVICE.get(host.state, '')}\n\nHost page: {url}\n"
        "You get one email per change of state, not one per poll.\n"
    )
    try:
        send_mail(f"[KMS] {host.fqdn}: {label}", body, None, recipients)
    except Exception:  # the state is stored; a mail outage must not fail the poll
        log.exception("could not email the state change of KMS host %s", host.pk)
        return 0
    return len(recipients)


_ADVICE = {
    HostState.HEALTHY: "Nothing to do.",
    HostState.BELOW_THRESHOLD: "Clients cannot activate until the count reaches the threshold: "
    "check that clients reach this host and that images were generalised (duplicate CMIDs).",
    HostState.UNREACHABLE: "Clients cannot reach the KMS port: check the Software Protection "
    "service, the firewall rule for the port, and the host itself.",
    HostState.NOT_PUBLISHED: "Clients using DNS auto-discovery will not find this host: check "
    "DNS publishing (slmgr /sdns), DnsDomainPublishList and the zone's permissions.",
    HostState.REPORT_OVERDUE: "The scheduled task that posts slmgr.vbs /dlv has stopped: check "
    "the task and its reporter token (tokens expire).",
}


def newest_report(host: KmsHost) -> HostStatusReport | None:
    return (
        HostStatusReport.objects.filter(host=host, accepted=True)
        .order_by("-received_at", "-id")
        .first()
    )


# --- DNS discovery: rogue SRV records ----------------------------------------------------


def record_srv_findings(
    *, organisation: Organisation, lookups: list[SrvLookup], now: datetime
) -> None:
    """Open findings for SRV targets the organisation has not registered (live hosts only: a
    retired host still in DNS is a finding too); resolve the ones that left DNS. Domains whose
    lookup failed are left as they are."""
    known = set(
        KmsHost.objects.for_organisation(organisation)
        .filter(retired_at__isnull=True)
        .values_list("fqdn", flat=True)
    )
    for lookup in lookups:
        if lookup.error:
            continue
        seen = []
        for record in lookup.records:
            if record.target in known:
                continue
            seen.append((record.target, record.port))
            DnsFinding.objects.update_or_create(
                organisation=organisation,
                domain=lookup.domain,
                target=record.target,
                port=record.port,
                defaults={
                    "priority": record.priority,
                    "weight": record.weight,
                    "last_seen_at": now,
                    "resolved_at": None,
                },
                create_defaults={
                    "priority": record.priority,
                    "weight": record.weight,
                    "first_seen_at": now,
                    "last_seen_at": now,
                },
            )
        stale = DnsFinding.objects.filter(
            organisation=organisation, domain=lookup.domain, resolved_at__isnull=True
        )
        for target, port in seen:
            stale = stale.exclude(target=target, port=port)
        stale.update(resolved_at=now)


def discover_organisation(*, organisation_id: int, now: datetime | None = None) -> int:
    """Look up every DNS domain of the organisation and refresh its findings. Returns the
    number of open findings."""
    org = Organisation.objects.get(pk=organisation_id)
    lookups = [
        lookup_srv(d, list(org.dns_resolvers), lifetime=DNS_LIFETIME_SECONDS)
        for d in org.dns_domains
    ]
    with transaction.atomic():
        record_srv_findings(organisation=org, lookups=lookups, now=now or timezone.now())
    return open_findings(org).count()


def open_findings(organisation: Any):
    return DnsFinding.objects.for_organisation(organisation).filter(resolved_at__isnull=True)


def organisations_with_domains() -> list[int]:
    return list(
        Organisation.objects.exclude(dns_domains=[]).order_by("pk").values_list("pk", flat=True)
    )


def missing_hosts(organisation: Any):
    """Live hosts the newest poll did not find in DNS."""
    return KmsHost.objects.for_organisation(organisation).filter(
        retired_at__isnull=True, srv_published=False
    )
