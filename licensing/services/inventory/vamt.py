"""A VAMT Computer Information List (CIL/CILX) imported as one import run: its computers become
clients (matched by host name or FQDN) through the one batch ingest, with the same record
builder as posted ospp.vbs text and WMI reports; partial product keys link clients to the
organisation's MAK keys by their last five characters; products waiting for proxy activation
join the offline activation queue, and Confirmation IDs in the file complete pending ones.

All or nothing: a file that is too large, not XML, declares entities, or is not a CIL is
refused as a whole (kept in the history as refused); otherwise everything the run does is one
transaction. Computers and products the run does not take are listed in its rejections with
the reason (the downloadable report). Full product keys a file may carry are never read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from licensing.crypto import mask_last5
from licensing.models import Client, ImportRun, ImportSource, OfflineStatus, Organisation
from licensing.parsers.model import STATUS_BY_CODE, KmsClientInfo, LicenseRecord, StatusDocument
from licensing.parsers.vamt import CilComputer, CilError, CilProduct, parse_cil
from licensing.parsers.wmi import is_office_application
from licensing.services.errors import DomainError, TooLarge
from licensing.services.inventory import upsert
from licensing.services.inventory.ingest import ingest_records
from licensing.services.inventory.runs import (
    ImportRefused,
    refuse,
    require_ingest,
    write_rejections,
)
from licensing.services.inventory.status_text import document_record
from licensing.services.offline.activation import (
    Pending,
    mak_keys_by_last5,
    pending_by_iid,
    queue_many,
    record_confirmation,
)


@dataclass
class _Plan:
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[int, str, str, str]] = field(default_factory=list)
    mak_links: dict[str, int] = field(default_factory=dict)  # hostname -> key id
    offline: list[tuple[str, CilProduct]] = field(default_factory=list)  # (hostname, product)
    confirmations: list[CilProduct] = field(default_factory=list)
    other_products: int = 0
    notes: set[str] = field(default_factory=set)


def _is_office(p: CilProduct) -> bool:
    if p.application_id:
        return is_office_application(p.application_id)
    return (p.sku_name or "").lower().startswith("office")  # an "ID only" file may lack it


def _licence(p: CilProduct) -> LicenseRecord:
    channel = (p.key_type or "").strip()
    description = f"{channel} channel" if channel else None
    is_kms = bool(p.kms_host) or "KMS" in f"{channel} {p.sku_name or ''}".upper()
    return LicenseRecord(
        name=p.sku_name,
        description=description,
        sku_id=p.sku_id,
        status=STATUS_BY_CODE.get(p.license_status) if p.license_status is not None else None,
        last5=p.last5,
        kms_client=KmsClientInfo(kms_host=(p.kms_host or "").lower() or None) if is_kms else None,
    )


def _plan(computers: tuple[CilComputer, ...], organisation: Organisation, now: Any) -> _Plan:
    plan = _Plan()
    lookups = upsert.load_lookups(organisation, now)
    keys = mak_keys_by_last5(organisation.pk)
    for n, comp in enumerate(computers, start=1):
        office = [p for p in comp.products if _is_office(p)]
        plan.other_products += len(comp.products) - len(office)
        label = comp.name or comp.fqdn or ""
        if not comp.name and not comp.fqdn:
            # An "Installation ID and Product ID only" export: no names; its products can only
            # complete offline activations the portal queued (by Installation ID).
            for p in office:
                if p.installation_id and p.confirmation_id:
                    plan.confirmations.append(p)
                else:
                    plan.skipped.append(
                        (
                            n,
                            "",
                            f"computer {n}: no computer name (an 'Installation ID and Product ID "
                            "only' export) and no Confirmation ID to record",
                            "",
                        )
                    )
            continue
        if not office:
            plan.skipped.append((n, label, f"computer {n}: no Office product", ""))
            continue
        with_status = [p for p in office if p.license_status is not None]
        if not with_status:
            plan.skipped.append(
                (n, label, f"computer {n}: no Office product with a licence status", "")
            )
            continue
        doc = StatusDocument(format="vamt_cil", licenses=tuple(_licence(p) for p in with_status))
        hostname = comp.name or comp.fqdn or ""
        record, notes = document_record(
            hostname=hostname, doc=doc, now=now, kms_hosts=lookups.kms_hosts
        )
        plan.notes.update(notes)
        sku = record.pop("edition_sku", None)
        if sku and sku.lower() in lookups.editions:
            record["edition"] = sku
        if comp.fqdn:
            record["fqdn"] = comp.fqdn
        for p in with_status:
            key = keys.get(p.last5 or "")
            if key is not None and "kms" not in (p.key_type or "").lower():
                record["activation_method"] = "mak"
                record.pop("kms_host", None)
                plan.mak_links[hostname.split(".", 1)[0].lower()] = key.pk
                break
        plan.records.append(record)
        for p in with_status:
            if p.installation_id and p.confirmation_id:
                plan.confirmations.append(p)
            elif (
                p.installation_id
                and p.license_status != 1
                and "KMS" not in (f"{p.key_type or ''} {p.sku_name or ''}".upper())
            ):
                plan.offline.append((hostname.split(".", 1)[0].lower(), p))
    return plan


def import_cil(
    *,
    actor: Any,
    organisation: Organisation,
    data: bytes,
    filename: str,
    ip_address: str | None = None,
    size: int | None = None,
) -> ImportRun:
    """Import one CIL/CILX file; raises TooLarge or ImportRefused (after recording the refusal)
    for a file refused as a whole; returns the run otherwise."""
    require_ingest(actor, organisation)
    now = timezone.now()
    limit = settings.VAMT_CIL_MAX_BYTES
    size = len(data) if size is None else size
    if size > limit:
        reason = f"The file is {size:,} bytes; a CIL/CILX file may have at most {limit:,}."
        refuse(
            actor=actor,
            organisation=organisation,
            source=ImportSource.VAMT_CIL,
            filename=filename,
            reason=reason,
            ip_address=ip_address,
        )
        raise TooLarge(reason)
    try:
        doc = parse_cil(data)
    except CilError as exc:
        reason = f"Not a readable VAMT CIL/CILX file: {exc.reason}"
        refuse(
            actor=actor,
            organisation=organisation,
            source=ImportSource.VAMT_CIL,
            filename=filename,
            reason=reason,
            ip_address=ip_address,
        )
        raise ImportRefused(reason) from None
    if not doc.computers:
        reason = "Not a readable VAMT CIL/CILX file: it lists no computers"
        refuse(
            actor=actor,
            organisation=organisation,
            source=ImportSource.VAMT_CIL,
            filename=filename,
            reason=reason,
            ip_address=ip_address,
        )
        raise ImportRefused(reason)
    with transaction.atomic():
        plan = _plan(doc.computers, organisation, now)
        result = ingest_records(
            actor=actor,
            organisation=organisation,
            records=plan.records,
            source=ImportSource.VAMT_CIL,
            filename=filename,
            ip_address=ip_address,
            now=now,
            extra_rejections=plan.skipped,
        )
        run = result.run
        ok_hosts = {h for h, res, _ in result.outcomes if res != "error"}
        linked = _link_mak_keys(organisation, plan.mak_links, ok_hosts)
        queued = _queue_offline(organisation, plan.offline, ok_hosts, actor, ip_address)
        confirmed, conf_skipped = _confirm(organisation, plan.confirmations, actor, ip_address)
        if conf_skipped:
            with connection.cursor() as cursor:
                write_rejections(cursor, run, conf_skipped)
        parts = [
            f"VAMT CIL{f' version {doc.version}' if doc.version else ''}: "
            f"{len(doc.computers):,} computers, {doc.products:,} products",
            f"matched {run.updated + run.unchanged:,}, created {run.created:,}, "
            f"skipped {run.rejected + len(conf_skipped):,} (see the rejected rows)",
        ]
        if linked:
            parts.append(f"{linked:,} linked to MAK keys by the last five characters")
        if queued:
            parts.append(f"{queued:,} queued for offline activation")
        if confirmed:
            parts.append(f"{confirmed:,} Confirmation IDs recorded")
        if plan.other_products:
            parts.append(f"{plan.other_products:,} non-Office products ignored")
        parts.extend(sorted(plan.notes)[:5])
        if doc.product_keys:
            parts.append(
                f"{doc.product_keys:,} product keys in the file not read (add MAK keys on the MAK page)"
            )
        run.message = "; ".join(parts)
        run.rejected += len(conf_skipped)
        ImportRun.objects.filter(pk=run.pk).update(message=run.message, rejected=run.rejected)
    return run


def _link_mak_keys(organisation: Organisation, links: dict[str, int], ok_hosts: set[str]) -> int:
    linked = 0
    for hostname, key_id in links.items():
        if hostname in ok_hosts:
            linked += (
                Client.objects.filter(
                    organisation=organisation, hostname=hostname, activation_method="mak"
                )
                .exclude(mak_key_id=key_id)
                .update(mak_key_id=key_id, kms_host=None, updated_at=timezone.now())
            )
    return linked


def _queue_offline(
    organisation: Organisation,
    items: list[tuple[str, CilProduct]],
    ok_hosts: set[str],
    actor: Any,
    ip_address: str | None,
) -> int:
    clients = {
        c.hostname: c
        for c in Client.objects.filter(
            organisation=organisation, hostname__in=[h for h, _ in items if h in ok_hosts]
        )
    }
    entries = [
        Pending(clients[h], p.installation_id, p.sku_id, p.sku_name or "", p.last5)
        for h, p in items
        if h in clients and p.installation_id
    ]
    queued = queue_many(
        organisation=organisation,
        entries=entries,
        source=ImportSource.VAMT_CIL,
        actor=actor,
        ip_address=ip_address,
    )
    return len(queued)


def _confirm(
    organisation: Organisation, products: list[CilProduct], actor: Any, ip_address: str | None
) -> tuple[int, list[tuple[int, str, str, str]]]:
    """Record the file's Confirmation IDs on the pending offline activations they answer."""
    found = pending_by_iid(organisation, [p.installation_id or "" for p in products])
    done = 0
    skipped: list[tuple[int, str, str, str]] = []
    for n, p in enumerate(products, start=1):
        item = found.get(p.installation_id or "")
        if item is None:
            skipped.append(
                (
                    n,
                    "",
                    f"Installation ID …{(p.installation_id or '')[-6:]}: not in the offline queue",
                    "",
                )
            )
            continue
        if item.status != OfflineStatus.PENDING:
            if item.confirmation_id != p.confirmation_id:
                skipped.append(
                    (
                        n,
                        item.client.hostname,
                        f"offline activation {item.pk} is already {item.status}",
                        "",
                    )
                )
            continue
        try:
            record_confirmation(
                actor=actor,
                item=item,
                confirmation_id=p.confirmation_id or "",
                ip_address=ip_address,
                source=ImportSource.VAMT_CIL,
            )
        except DomainError as exc:
            key = f" (key {mask_last5(item.mak_key.last5)})" if item.mak_key else ""
            raise ImportRefused(
                f"Nothing was imported: the Confirmation ID for {item.client.hostname}{key} "
                f"could not be recorded: {exc}"
            ) from None
        done += 1
    return done, skipped
