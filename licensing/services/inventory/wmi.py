"""A structured agent report (WMI licence objects of one machine, `licensing.parsers.wmi`) read
into the same inventory record as posted ospp.vbs text (`status_text.document_record`) and
upserted through the one batch ingest (`ingest.ingest_records`): same merge, sweep, history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from licensing.models import ImportSource, Organisation
from licensing.parsers import UnreadableStatusText
from licensing.parsers.wmi import WmiError, parse_cmid, parse_wmi_date, parse_wmi_products
from licensing.services.inventory import upsert
from licensing.services.inventory.ingest import IngestResult, ingest_records
from licensing.services.inventory.records import FUTURE_TOLERANCE
from licensing.services.inventory.runs import ImportRefused, refuse, require_ingest
from licensing.services.inventory.status_text import document_record


def ingest_wmi_report(
    *,
    actor: Any,
    organisation: Organisation,
    payload: Mapping[str, Any],
    ip_address: str | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Ingest one machine's report. `payload` keys: `products` (the ConvertTo-Json output: one
    object or a list), optional `hostname`, `fqdn`, `service` (the service class object, for
    ClientMachineID), `collected_at` (when the agent read WMI). Raises ImportRefused (400)
    naming the property for a report that cannot be read; the refusal is kept in the history.
    Offline Installation IDs of MAK licences that are not activated join the organisation's
    offline activation queue (`licensing.services.offline`)."""
    require_ingest(actor, organisation)
    now = now or timezone.now()
    hostname = ""
    try:
        service = payload.get("service")
        if service is not None and not isinstance(service, Mapping):
            raise WmiError("service: expected an object")
        cmid = parse_cmid((service or {}).get("ClientMachineID"))
        report = parse_wmi_products(payload.get("products"), cmid=cmid)
        hostname = _text(payload, "hostname") or report.host_name or ""
        if not hostname:
            raise WmiError("hostname: missing (give 'hostname' or PSComputerName)")
        collected = parse_wmi_date(payload.get("collected_at"), "collected_at") or now
        if collected > now + FUTURE_TOLERANCE:
            raise WmiError("collected_at: in the future")
        lookups = upsert.load_lookups(organisation, now)
        record, notes = document_record(
            hostname=hostname,
            doc=report.document,
            now=min(collected, now),
            kms_hosts=lookups.kms_hosts,
        )
    except (WmiError, UnreadableStatusText) as exc:
        reason = f"Unreadable WMI report: {exc.reason}"
        refuse(
            actor=actor,
            organisation=organisation,
            source=ImportSource.WMI,
            filename=hostname[:255],
            reason=reason,
            ip_address=ip_address,
        )
        raise ImportRefused(reason) from None
    sku = record.pop("edition_sku", None)
    if sku and sku.lower() in lookups.editions:
        record["edition"] = sku
    fqdn = _text(payload, "fqdn")
    if fqdn:
        record["fqdn"] = fqdn
    # The client and its offline queue entries commit together.
    with transaction.atomic():
        result = ingest_records(
            actor=actor,
            organisation=organisation,
            records=[record],
            source=ImportSource.WMI,
            filename=hostname[:255],
            ip_address=ip_address,
            now=now,
            message="; ".join(notes),
        )
        if report.installation_ids and result.outcomes and result.outcomes[0][1] != "error":
            from licensing.services.offline.activation import queue_from_report

            queue_from_report(
                organisation=organisation,
                hostname=result.outcomes[0][0],
                licences=report.document.licenses,
                installation_ids=report.installation_ids,
                actor=actor,
                ip_address=ip_address,
            )
    return result


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ImportRefused(f"Unreadable WMI report: {key}: expected text")
    return value.strip()
