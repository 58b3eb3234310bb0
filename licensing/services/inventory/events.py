"""KMS host event 12290 exports: each client's newest activation request sets its state; the
records go through the batch ingest."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
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
    max_rows: int | None = None,
) -> ImportRun:
    """Import an export of event 12290 (a KMS host's "activation request processed" log): each
    client's newest request sets its licence state; successful requests set `last_renewal_at`
    (and `last_activation_at` when the client was not licensed yet). Clients are matched by
    hostname (the FQDN's first label), else by a CMID that identifies exactly one client.

    Bounded: more than `max_rows` records (INVENTORY_CSV_MAX_ROWS by default) refuses the file;
    a file whose first INVENTORY_EVENTS_SNIFF_RECORDS records hold no readable event, or that
    holds none at all, is refused (nothing is written but the refused run); at most
    INVENTORY_REJECTIONS_KEPT rejected lines are kept for the report."""
    from licensing.parsers import EventError, parse_12290_export

    require_ingest(actor, organisation)
    if kms_host is not None and kms_host.organisation_id != organisation.pk:
        raise DomainError("That KMS host belongs to another organisation.")
    now = now or timezone.now()
    max_rows = max_rows or settings.INVENTORY_CSV_MAX_ROWS
    sniff = settings.INVENTORY_EVENTS_SNIFF_RECORDS
    kept = settings.INVENTORY_REJECTIONS_KEPT
    refused = functools.partial(
        refuse,
        actor=actor,
        organisation=organisation,
        source=ImportSource.EVENTS_12290,
        filename=filename,
        ip_address=ip_address,
    )
    rejections: list[tuple[int, str, str, str]] = []
    rejected = 0
    good = 0
    first_error: Any = None
    latest: dict[str, Any] = {}
    last_success: dict[str, datetime] = {}
    first_activation: dict[str, datetime] = {}
    lines_seen = 0
    names_by_cmid: dict[str, set[str]] = {}
    for item in parse_12290_export(text):
        lines_seen += 1
        if lines_seen > max_rows:
            return refused(
                reason=f"The file has more than {max_rows:,} records. Split it into smaller files."
            )
        if isinstance(item, EventError):
            first_error = first_error or item
            if good == 0 and lines_seen >= sniff:
                return refused(reason=_not_events(text, lines_seen, first_error))
            rejected += 1
            if len(rejections) < kept:
                rejections.append((item.line, "", item.reason, ""))
            continue
        good += 1
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
        return refused(reason="No 12290 events found in the file.")
    if good == 0:
        return refused(reason=_not_events(text, lines_seen, first_error))
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
    total_rejected = run.rejected + (rejected - len(rejections))
    if run.received != lines_seen or run.rejected != total_rejected:
        ImportRun.objects.filter(pk=run.pk).update(received=lines_seen, rejected=total_rejected)
        run.received, run.rejected = lines_seen, total_rejected
    return run


def _not_events(text: str, records: int, first_error: Any) -> str:
    """Why a file with no readable 12290 event is refused, naming the likely mistake."""
    head = text.lstrip("\ufeff").split("\n", 1)[0].lower()
    columns = {c.strip().strip('"').strip() for c in head.split(",")}
    if "hostname" in columns:
        return (
            "This is an inventory CSV (it has a hostname column), not an event 12290 export: "
            "upload it as an inventory CSV."
        )
    reason = f" (line {first_error.line}: {first_error.reason})" if first_error else ""
    return (
        f"No readable 12290 event in the first {records:,} records{reason}: this is not an "
        "export of KMS event 12290. Nothing was imported."
    )
