"""Posted `ospp.vbs /dstatus` and `slmgr.vbs /dlv` output of one client, read into one inventory
record and upserted through the batch ingest."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from licensing.models import ActivationMethod, ImportSource, LicenseStatus, Organisation
from licensing.services.inventory import rules, upsert
from licensing.services.inventory.ingest import IngestResult, ingest_records
from licensing.services.inventory.runs import ImportRefused, refuse, require_ingest

_S = LicenseStatus
# Which licence of a machine its record follows: the worst one.
_SEVERITY = {
    _S.LICENSED: 0,
    _S.OOB_GRACE: 1,
    _S.EXTENDED_GRACE: 1,
    _S.OOT_GRACE: 2,
    _S.NON_GENUINE_GRACE: 3,
    _S.UNLICENSED: 4,
    _S.NOTIFICATION: 4,
}


def status_text_record(
    *, hostname: str, text: str, now: datetime, kms_hosts: Mapping[str, int]
) -> tuple[dict[str, Any], list[str]]:
    """Turn posted tool output into one inventory record (raises UnreadableStatusText).

    The machine's record follows its worst volume licence (KMS client or MAK), else its worst
    licence of any kind. A licensed KMS client's remaining grace is the time left of its 180-day
    validity, so its last renewal was `now + remaining - 180 days`."""
    from licensing.parsers import parse_status

    return document_record(hostname=hostname, doc=parse_status(text), now=now, kms_hosts=kms_hosts)


def document_record(
    *, hostname: str, doc: Any, now: datetime, kms_hosts: Mapping[str, int]
) -> tuple[dict[str, Any], list[str]]:
    """One inventory record from a parsed StatusDocument: the status text's, or the WMI
    report's (`licensing.parsers.wmi`), so both paths give a machine the same state."""
    notes: list[str] = []
    licences = [lic for lic in doc.licenses if lic.state_code is not None]
    if not licences:
        from licensing.parsers import UnreadableStatusText

        raise UnreadableStatusText("no licence with a status in the text")

    def is_volume(lic: Any) -> bool:
        words = f"{lic.name or ''} {lic.description or ''}".upper()
        return (
            lic.kms_client is not None or "KMSCLIENT" in words or "MAK" in words or "VL_" in words
        )

    volume = [lic for lic in licences if is_volume(lic)] or licences
    lic = max(volume, key=lambda x: _SEVERITY.get(x.state_code, 0))
    words = f"{lic.name or ''} {lic.description or ''}".upper()
    method = ActivationMethod.KMS if (lic.kms_client is not None or "KMS" in words) else None
    if method is None and "MAK" in words:
        method = ActivationMethod.MAK
    record: dict[str, Any] = {
        "hostname": hostname,
        "license_status": lic.state_code,
        "last_seen_at": now.isoformat(),
    }
    if method:
        record["activation_method"] = method.value
    if lic.sku_id:
        record["edition_sku"] = str(lic.sku_id)
    if lic.grace_minutes is not None:
        record["grace_minutes"] = lic.grace_minutes
        if lic.state_code == _S.LICENSED and method == ActivationMethod.KMS:
            renewed = (
                now + timedelta(minutes=lic.grace_minutes) - timedelta(days=rules.KMS_VALIDITY_DAYS)
            )
            record["last_renewal_at"] = min(renewed, now).isoformat()
    if lic.kms_client is not None:
        if lic.kms_client.cmid:
            record["cmid"] = str(lic.kms_client.cmid)
        host = (lic.kms_client.kms_host or "").lower().rstrip(".")
        if host:
            if host in kms_hosts or host.split(".", 1)[0] in kms_hosts:
                record["kms_host"] = host
            else:
                notes.append(f"KMS host {host} is not registered in the portal: not linked")
    return record, notes


def ingest_status_text(
    *,
    actor: Any,
    organisation: Organisation,
    hostname: str,
    text: str,
    extra: Mapping[str, Any] | None = None,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Parse `ospp.vbs /dstatus` or `slmgr.vbs /dlv` output of one client and upsert it.
    Unreadable text raises ImportRefused (400) and is kept in a refused run for inspection."""
    from licensing.parsers import UnreadableStatusText

    require_ingest(actor, organisation)
    now = now or timezone.now()
    lookups = upsert.load_lookups(organisation, now)
    try:
        record, notes = status_text_record(
            hostname=hostname, text=text, now=now, kms_hosts=lookups.kms_hosts
        )
    except UnreadableStatusText as exc:
        reason = f"Unreadable status text: {exc.reason}"
        refuse(
            actor=actor,
            organisation=organisation,
            source=ImportSource.STATUS_TEXT,
            filename=hostname[:255],
            reason=reason,
            ip_address=ip_address,
            raw=text[:1000],
        )
        raise ImportRefused(reason) from None
    sku = record.pop("edition_sku", None)
    if sku and sku.lower() in lookups.editions:
        record["edition"] = sku
    for key, value in (extra or {}).items():
        record.setdefault(key, value)
    return ingest_records(
        actor=actor,
        organisation=organisation,
        records=[record],
        source=ImportSource.STATUS_TEXT,
        filename=hostname[:255],
        ip_address=ip_address,
        now=now,
        message="; ".join(notes),
    )
