"""KMS host event 12290 exports: each client's newest activation request sets its state; the
records go through the batch ingest."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from licensing.models import (
    ActivationMethod,
    ImportRun,
    ImportSource,
    KmsHost,
    LicenseStatus,
    Organisation,
)
from licensing.services.errors import DomainError
from licensing.services.inventory.ingest import ingest_records
from licensing.services.inventory.runs import refuse, require_ingest


def import_kms_events(
    *,
    actor: Any,
    organisation: Organisation,
    text: str,
    filename: str = "",
    kms_host: KmsHost | None = None,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> ImportRun:
    """Import an export of event 12290 (a KMS host's "activation request processed" log): each
    client's newest request sets its licence state; successful requests set `last_renewal_at`
    (and `last_activation_at` when the client was not licensed yet). Clients are matched by
    hostname (the FQDN's first label), else by a CMID that identifies exactly one client."""
    from licensing.parsers import EventError, parse_12290_export

    require_ingest(actor, organisation)
    if kms_host is not None and kms_host.organisation_id != organisation.pk:
        raise DomainError("That KMS host belongs to another organisation.")
    now = now or timezone.now()
    rejections: list[tuple[int, str, str, str]] = []
    latest: dict[str, Any] = {}
    last_success: dict[str, datetime] = {}
    first_activation: dict[str, datetime] = {}
    lines_seen = 0
    names_by_cmid: dict[str, set[str]] = {}
    for item in parse_12290_export(text):
        lines_seen += 1
        if isinstance(item, EventError):
            rejections.append((item.line, "", item.reason, ""))
            continue
        host = (item.client_fqdn or "").strip().lower().rstrip(".")
        if not host:
            rejections.append((item.line, "", "the event has no client name", ""))
            continue
        name = host.split(".", 1)[0]
        if item.cmid:
            names_by_cmid.setdefault(str(item.cmid).lower(), set()).add(name)
        when = item.client_time
        if when is not None and when > now + timedelta(days=1):
            rejections.append((item.line, name, "the client time is in the future", ""))
            continue
        current = latest.get(name)
        if current is None or (when is not None and (current.client_time or when) <= when):
            latest[name] = item
        if item.succeeded and when is not None:
            if name not in last_success or last_success[name] < when:
                last_success[name] = when
            if item.license_state != LicenseStatus.LICENSED and (
                name not in first_activation or first_activation[name] < when
            ):
                first_activation[name] = when
    if lines_seen == 0:
        return refuse(
            actor=actor,
            organisation=organisation,
            source=ImportSource.EVENTS_12290,
            filename=filename,
            reason="No 12290 events found in the file.",
            ip_address=ip_address,
        )
    # Match unknown names by a CMID that belongs to exactly one client of the organisation.
    from licensing.models import Client

    names = list(latest)
    known = set(
        Client.objects.for_organisation(organisation)
        .filter(hostname__in=names)
        .values_list("hostname", flat=True)
    )
    unknown_cmids = {
        str(latest[n].cmid).lower(): n for n in names if n not in known and latest[n].cmid
    }
    renamed: dict[str, str] = {}
    if unknown_cmids:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT cmid::text, min(hostname) FROM licensing_client
                WHERE organisation_id = %s AND cmid = ANY(%s::uuid[])
                GROUP BY cmid HAVING count(*) = 1
                """,
                [organisation.pk, list(unknown_cmids)],
            )
            for cmid, hostname in cursor.fetchall():
                renamed[unknown_cmids[cmid]] = hostname
    records = []
    for name, item in latest.items():
        record: dict[str, Any] = {
            "hostname": renamed.get(name, name),
            "activation_method": ActivationMethod.KMS.value,
            "last_seen_at": item.client_time.isoformat() if item.client_time else None,
        }
        fqdn = (item.client_fqdn or "").strip().lower().rstrip(".")
        if "." in fqdn and name not in renamed:
            record["fqdn"] = fqdn
        if item.cmid:
            record["cmid"] = str(item.cmid)
        if kms_host is not None:
            record["kms_host"] = kms_host.fqdn
        if item.succeeded:
            record["license_status"] = int(LicenseStatus.LICENSED)
        else:
            record["license_status"] = item.license_state
            record["grace_minutes"] = item.minutes_to_expiry
        if name in last_success:
            record["last_renewal_at"] = last_success[name].isoformat()
        if name in first_activation:
            record["last_activation_at"] = first_activation[name].isoformat()
        records.append(record)
    shared = sum(1 for hosts in names_by_cmid.values() if len(hosts) > 1)
    notes = [f"{lines_seen:,} events, {len(latest):,} clients"]
    if renamed:
        notes.append(f"{len(renamed)} matched by CMID")
    if shared:
        notes.append(
            f"{shared} CMID(s) shared by several machines (images not generalised with sysprep: "
            "the KMS host counts them once)"
        )
    result = ingest_records(
        actor=actor,
        organisation=organisation,
        records=records,
        source=ImportSource.EVENTS_12290,
        filename=filename,
        ip_address=ip_address,
        now=now,
        extra_rejections=rejections,
        message="; ".join(notes) + ".",
    )
    run = result.run
    if run.received != lines_seen:
        ImportRun.objects.filter(pk=run.pk).update(received=lines_seen)
        run.received = lines_seen
    return run
