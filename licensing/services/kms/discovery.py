"""DNS settings of an organisation and discovery of rogue KMS hosts: `_vlmcs._tcp` SRV records
that point at hosts the organisation has not registered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from licensing import policy
from licensing.models import DnsFinding, KmsHost, Organisation
from licensing.probes import SrvLookup, lookup_srv, parse_resolver
from licensing.services import audit, outbox
from licensing.services.errors import InvalidInput
from licensing.services.kms.hosts import normalise_fqdn
from licensing.services.kms.probing import DNS_LIFETIME_SECONDS


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
    policy.require(actor, policy.Action.MANAGE_ORGANISATION, organisation)
    domains = list(dict.fromkeys(normalise_fqdn(d) for d in dns_domains))
    for value in dns_resolvers:
        try:
            parse_resolver(value)
        except ValueError as exc:
            raise InvalidInput(field_errors={"dns_resolvers": str(exc)}) from None
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
    outbox.enqueue("licensing.kms.discover_srv", org.pk)
    return org


def queue_discovery(*, actor: Any, organisation: Organisation) -> None:
    """ "Check DNS now" on the host list."""
    policy.require(actor, policy.Action.MANAGE_HOSTS, organisation)
    outbox.enqueue("licensing.kms.discover_srv", organisation.pk)


def record_srv_findings(
    *, organisation: Organisation, lookups: list[SrvLookup], now: datetime
) -> None:
    """Open findings for SRV targets the organisation has not registered (live hosts only: a
    retired host still in DNS is a finding too); resolve the ones that left DNS. Domains whose
    lookup failed are left as they are."""
    # One discovery of an organisation at a time (two beats queue it twice): the second one
    # then sees the findings the first opened and does not announce them again.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('licensing.kms.discovery'), %s::int)",
            [organisation.pk],
        )
    known = set(
        KmsHost.objects.for_organisation(organisation)
        .filter(retired_at__isnull=True)
        .values_list("fqdn", flat=True)
    )
    opened: list[int] = []
    for lookup in lookups:
        if lookup.error:
            continue
        seen = []
        open_before = set(
            DnsFinding.objects.filter(
                organisation=organisation, domain=lookup.domain, resolved_at__isnull=True
            ).values_list("target", "port")
        )
        for record in lookup.records:
            if record.target in known:
                continue
            seen.append((record.target, record.port))
            finding, _ = DnsFinding.objects.update_or_create(
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
            if (record.target, record.port) not in open_before:
                opened.append(finding.pk)
        stale = DnsFinding.objects.filter(
            organisation=organisation, domain=lookup.domain, resolved_at__isnull=True
        )
        for target, port in seen:
            stale = stale.exclude(target=target, port=port)
        stale.update(resolved_at=now)
    # A new (or reopened) rogue record: the administrators hear of it once, after the commit.
    outbox.enqueue_many(
        "licensing.kms.notify_rogue_srv", ([pk, now.isoformat()] for pk in dict.fromkeys(opened))
    )


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


def dispatch_discovery() -> int:
    """Queue one SRV discovery per organisation with DNS domains (even without registered
    hosts). Returns how many were queued."""
    ids = organisations_with_domains()
    outbox.enqueue_many("licensing.kms.discover_srv", ([pk] for pk in ids))
    return len(ids)


def organisations_with_domains() -> list[int]:
    return list(
        Organisation.objects.exclude(dns_domains=[]).order_by("pk").values_list("pk", flat=True)
    )


def missing_hosts(organisation: Any):
    """Live hosts the newest poll did not find in DNS."""
    return KmsHost.objects.for_organisation(organisation).filter(
        retired_at__isnull=True, srv_published=False
    )
