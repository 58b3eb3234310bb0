"""Offline (proxy) activation: the organisation's queue of products that reported an
Installation ID and are not activated, the Confirmation ID an admin records for each (which
uses one activation of the MAK key through the one MAK ledger, `services.mak.allocation`), and
the CILX file that carries pending Installation IDs to a connected VAMT and the Confirmation IDs
back. Every step is audited."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from licensing import policy
from licensing.crypto import mask_last5
from licensing.models import (
    ActivationReason,
    Client,
    MakKey,
    OfflineActivation,
    OfflineStatus,
    Organisation,
)
from licensing.services import audit
from licensing.services.errors import ConflictError, InvalidInput

# Microsoft's Confirmation ID is 48 digits (8 groups of 6); Installation IDs are 54 or 63
# digits. DOMAIN.md section 7: validate digits, warn about an unusual length.
CID_DIGITS = 48
_SEPARATORS = re.compile(r"[\s-]")


def normalise_confirmation_id(value: str) -> tuple[str, str]:
    """(digits, warning) or InvalidInput naming the problem."""
    digits = _SEPARATORS.sub("", value or "")
    if not digits:
        raise InvalidInput(field_errors={"confirmation_id": [_("Enter the Confirmation ID.")]})
    if not digits.isdigit():
        raise InvalidInput(
            field_errors={
                "confirmation_id": [
                    _("A Confirmation ID is digits only (spaces and dashes are ignored).")
                ]
            }
        )
    if not 36 <= len(digits) <= 60 or len(digits) % 6:
        raise InvalidInput(
            field_errors={
                "confirmation_id": [
                    _(
                        "A Confirmation ID is groups of six digits (usually %(usual)s); this "
                        "one has %(count)s digits."
                    )
                    % {"usual": CID_DIGITS, "count": len(digits)}
                ]
            }
        )
    warning = (
        ""
        if len(digits) == CID_DIGITS
        else _("This Confirmation ID has %(count)s digits; Office's usually have %(usual)s.")
        % {"count": len(digits), "usual": CID_DIGITS}
    )
    return digits, warning


def mak_keys_by_last5(organisation_id: int) -> dict[str, MakKey]:
    """The organisation's MAK keys by last five characters; a last five shared by two keys
    links to neither (the portal cannot tell which one the client has)."""
    keys: dict[str, MakKey | None] = {}
    for key in MakKey.objects.filter(pool__organisation_id=organisation_id):
        keys[key.last5] = None if key.last5 in keys else key
    return {last5: key for last5, key in keys.items() if key is not None}


def is_offline_candidate(description: str | None, name: str | None, status: int | None) -> bool:
    """A MAK (or retail) product that is not activated: KMS clients activate on the network."""
    words = f"{name or ''} {description or ''}".upper()
    return status not in (None, 1) and "KMS" not in words


@dataclass(frozen=True)
class Pending:
    """One product to queue: its client, Installation ID (digits) and what is known of it."""

    client: Client
    installation_id: str
    sku_id: str | None = None
    product_name: str = ""
    last5: str | None = None


@transaction.atomic
def queue_many(
    *,
    organisation: Organisation,
    entries: Iterable[Pending],
    source: str,
    actor: Any,
    ip_address: str | None = None,
) -> list[OfflineActivation]:
    """Add products to the queue, once per Installation ID per organisation (known ones are
    left as they are); each queued item is audited. Returns the new items."""
    entries = list(entries)
    if not entries:
        return []
    known = set(
        OfflineActivation.objects.filter(
            organisation=organisation,
            installation_id__in=[e.installation_id for e in entries],
        ).values_list("installation_id", flat=True)
    )
    keys = mak_keys_by_last5(organisation.pk)
    now = timezone.now()
    new: dict[str, OfflineActivation] = {}
    for e in entries:
        if e.installation_id in known or e.installation_id in new:
            continue
        new[e.installation_id] = OfflineActivation(
            organisation=organisation,
            client=e.client,
            installation_id=e.installation_id,
            sku_id=e.sku_id,
            product_name=(e.product_name or "")[:200],
            last5=(e.last5 or "")[:5],
            mak_key=keys.get(e.last5 or ""),
            source=source,
            requested_at=now,
        )
    try:
        with transaction.atomic():
            items = OfflineActivation.objects.bulk_create(list(new.values()))
    except IntegrityError:  # the same Installation ID queued concurrently: one at a time
        items = []
        for item in new.values():
            try:
                with transaction.atomic():
                    item.save()
                items.append(item)
            except IntegrityError:
                continue
    # A product that reports a new Installation ID (hardware change, reinstall) cannot use a
    # Confirmation ID for its old one: its older pending items are cancelled.
    newest = {(item.client_id, str(item.sku_id)): item for item in items if item.sku_id}
    stale = (
        OfflineActivation.objects.filter(
            organisation=organisation,
            status=OfflineStatus.PENDING,
            client_id__in={client_id for client_id, _seen in newest},
        )
        .exclude(pk__in=[item.pk for item in items])
        .select_related("client")
    )
    if newest:
        for old in stale.select_for_update(of=("self",)):
            if (old.client_id, str(old.sku_id)) not in newest:
                continue
            old.status = OfflineStatus.CANCELLED
            old.save(update_fields=["status"])
            audit.record(
                action="offline_activation.cancel",
                actor=actor,
                organisation=organisation,
                obj=old,
                changes={
                    "client": old.client.hostname,
                    "installation_id": old.installation_id,
                    "reason": "superseded by a newer Installation ID",
                },
                ip_address=ip_address,
            )
    for item in items:
        audit.record(
            action="offline_activation.queue",
            actor=actor,
            organisation=organisation,
            obj=item,
            changes={
                "client": item.client.hostname,
                "installation_id": item.installation_id,
                "source": source,
                **({"key": mask_last5(item.mak_key.last5)} if item.mak_key else {}),
            },
            ip_address=ip_address,
        )
    return items


def queue_from_report(
    *,
    organisation: Organisation,
    hostname: str,
    licences: Iterable[Any],
    installation_ids: Mapping[str, str],
    actor: Any,
    ip_address: str | None = None,
    source: str = "wmi",
) -> list[OfflineActivation]:
    client = Client.objects.filter(organisation=organisation, hostname=hostname).first()
    if client is None:
        return []
    entries = []
    for lic in licences:
        iid = installation_ids.get(lic.sku_id or "")
        if iid and is_offline_candidate(lic.description, lic.name, lic.state_code):
            entries.append(Pending(client, iid, lic.sku_id, lic.name or "", lic.last5))
    return queue_many(
        organisation=organisation,
        entries=entries,
        source=source,
        actor=actor,
        ip_address=ip_address,
    )


@transaction.atomic
def record_confirmation(
    *,
    actor: Any,
    item: OfflineActivation,
    confirmation_id: str,
    ip_address: str | None = None,
    source: str = "manual",
) -> tuple[OfflineActivation, str]:
    """Record the Confirmation ID of a pending offline activation; one activation of its MAK
    key (or of the client's edition pool when the key is not known) is used through the MAK
    ledger. Returns (item, warning)."""
    policy.require(actor, policy.Action.MANAGE_KEYS, item.organisation_id)
    digits, warning = normalise_confirmation_id(confirmation_id)
    item = OfflineActivation.objects.select_for_update().get(pk=item.pk)
    if item.status != OfflineStatus.PENDING:
        raise ConflictError(
            _("This offline activation is already %(status)s.")
            % {"status": str(item.get_status_display()).lower()}
        )
    from licensing.services.mak.allocation import record_activation

    activation = record_activation(
        actor=actor,
        client=item.client,
        reason=ActivationReason.FIRST_ACTIVATION,
        note=f"offline activation {item.pk} (Confirmation ID recorded)",
        ip_address=ip_address,
        key=item.mak_key,
    )
    item.confirmation_id = digits
    item.status = OfflineStatus.CONFIRMED
    item.activation = activation
    item.mak_key_id = activation.key_id
    item.confirmed_at = timezone.now()
    item.confirmed_by = actor if getattr(actor, "pk", None) else None
    item.save()
    audit.record(
        action="offline_activation.confirm",
        actor=actor,
        organisation=item.organisation_id,
        obj=item,
        changes={
            "client": item.client.hostname,
            "installation_id": item.installation_id,
            "confirmation_id": digits,
            "mak_activation": activation.pk,
            "source": source,
        },
        ip_address=ip_address,
    )
    return item, warning


@transaction.atomic
def cancel(*, actor: Any, item: OfflineActivation, ip_address: str | None = None) -> None:
    policy.require(actor, policy.Action.MANAGE_KEYS, item.organisation_id)
    item = OfflineActivation.objects.select_for_update().get(pk=item.pk)
    if item.status != OfflineStatus.PENDING:
        raise ConflictError(_("Only a pending offline activation can be cancelled."))
    item.status = OfflineStatus.CANCELLED
    item.save(update_fields=["status"])
    audit.record(
        action="offline_activation.cancel",
        actor=actor,
        organisation=item.organisation_id,
        obj=item,
        changes={"client": item.client.hostname, "installation_id": item.installation_id},
        ip_address=ip_address,
    )


def export_cilx(*, actor: Any, organisation: Organisation, ip_address: str | None = None) -> bytes:
    """A CILX of the pending Installation IDs (and Confirmation IDs received), in the
    "Installation ID and Product ID only" shape: no computer names, no keys."""
    policy.require(actor, policy.Action.MANAGE_KEYS, organisation)
    items = list(
        OfflineActivation.objects.filter(
            organisation=organisation,
            status__in=[OfflineStatus.PENDING, OfflineStatus.CONFIRMED],
        ).order_by("client_id", "id")
    )
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<SoftwareLicensingData Version="2.0">',
        "  <Computers>",
    ]
    by_client: dict[int, list[OfflineActivation]] = {}
    for item in items:
        by_client.setdefault(item.client_id, []).append(item)
    for client_id, group in by_client.items():
        lines.append(f'    <Computer Id={quoteattr(str(client_id))} NetworkType="None">')
        lines.append("      <Products>")
        for item in group:
            lines.append("        <Product>")
            sku = f" Id={quoteattr(str(item.sku_id))}" if item.sku_id else ""
            lines.append(f"          <Sku{sku} Name={quoteattr(item.product_name)}/>")
            lines.append(f"          <InstallationId>{item.installation_id}</InstallationId>")
            if item.confirmation_id:
                lines.append(f"          <ConfirmationId>{item.confirmation_id}</ConfirmationId>")
            lines.append("        </Product>")
        lines.append("      </Products>")
        lines.append("    </Computer>")
    lines += ["  </Computers>", "</SoftwareLicensingData>", ""]
    audit.record(
        action="offline_activation.export",
        actor=actor,
        organisation=organisation,
        changes={
            "pending": sum(1 for i in items if i.status == OfflineStatus.PENDING),
            "confirmed": sum(1 for i in items if i.status == OfflineStatus.CONFIRMED),
        },
        ip_address=ip_address,
    )
    return "\n".join(lines).encode()


def pending_by_iid(organisation: Organisation, iids: Iterable[str]) -> dict[str, OfflineActivation]:
    return {
        item.installation_id: item
        for item in OfflineActivation.objects.filter(
            organisation=organisation, installation_id__in=list(iids)
        ).select_related("client", "mak_key")
    }
