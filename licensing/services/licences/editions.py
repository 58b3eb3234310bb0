"""The edition catalogue: admins add editions that are not built in (a single application such
as Access LTSC 2024, with its GVLK and SKU id). Built-in editions (Microsoft's GVLK table,
migration 0002) stay read-only."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from licensing import policy
from licensing.keyformat import PRODUCT_KEY_REGEX
from licensing.models import Edition, OfficeVersion, Organisation, Product
from licensing.services import audit
from licensing.services.errors import ConflictError, InvalidInput

_GVLK = re.compile(PRODUCT_KEY_REGEX)


def _kms_group(version: str) -> str:
    # One Office KMS host key activates every edition of its version (DOMAIN.md 2.4); the
    # built-in rows name the group the same way.
    return f"office_{version}"


@transaction.atomic
def add_edition(
    *,
    actor: Any,
    organisation: Organisation,
    name: str,
    version: str,
    product: str,
    gvlk: str,
    sku_id: Any = None,
    application: str = "",
    ip_address: str | None = None,
) -> Edition:
    """The catalogue is shared by every organisation; an admin of any organisation may add to
    it (the audit entry names the organisation the admin acted in)."""
    policy.require(actor, policy.Action.MANAGE_EDITIONS, organisation)
    errors: dict[str, str] = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = _("Give the edition's name.")
    if version not in OfficeVersion.values:
        errors["version"] = _("Choose a version from the list.")
    if product not in Product.values:
        errors["product"] = _("Choose a product from the list.")
    gvlk = (gvlk or "").strip().upper()
    if not _GVLK.fullmatch(gvlk):
        errors["gvlk"] = _(
            "A GVLK is five groups of five characters (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX)."
        )
    application = " ".join((application or "").split())[:60]
    if product == Product.APPLICATION and not application:
        errors["application"] = _(
            "Name the application (Access, Excel, ...): downgrade rights run within it."
        )
    if product != Product.APPLICATION:
        application = ""
    if sku_id not in (None, ""):
        try:
            sku_id = uuid.UUID(str(sku_id))
        except ValueError:
            errors["sku_id"] = _("The SKU id is a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).")
    else:
        sku_id = None
    if errors:
        raise InvalidInput(field_errors=errors)
    for field, value, message in (
        ("name", name, _("An edition with this name exists already.")),
        ("gvlk", gvlk, _("An edition with this GVLK exists already.")),
        ("sku_id", sku_id, _("An edition with this SKU id exists already.")),
    ):
        if (
            value is not None
            and Edition.objects.filter(
                **{f"{field}__iexact" if field == "name" else field: value}
            ).exists()
        ):
            raise InvalidInput(field_errors={field: message})
    try:
        with transaction.atomic():
            edition = Edition.objects.create(
                name=name,
                version=version,
                product=product,
                gvlk=gvlk,
                sku_id=sku_id,
                application=application,
                kms_product_group=_kms_group(version),
            )
    except IntegrityError:
        raise ConflictError(
            _("Another edition with this name, GVLK or SKU id was added meanwhile.")
        ) from None
    audit.record(
        action="edition.create",
        actor=actor,
        organisation=organisation,
        obj=edition,
        changes={
            "name": name,
            "version": version,
            "product": product,
            "application": application,
            "gvlk_last5": gvlk[-5:],
            "sku_id": str(sku_id) if sku_id else "",
        },
        ip_address=ip_address,
    )
    return edition


@transaction.atomic
def delete_edition(
    *, actor: Any, organisation: Organisation, edition: Edition, ip_address: str | None = None
) -> None:
    """Remove an added edition nothing uses yet. Built-in editions cannot be removed."""
    policy.require(actor, policy.Action.MANAGE_EDITIONS, organisation)
    if edition.is_builtin:
        raise ConflictError(_("Built-in editions are read-only."))
    if edition.clients.exists() or edition.entitlements.exists() or edition.mak_pools.exists():
        raise ConflictError(
            _("%(edition)s is in use (clients, licences or a MAK pool); it stays.")
            % {"edition": edition}
        )
    audit.record(
        action="edition.delete",
        actor=actor,
        organisation=organisation,
        obj=edition,
        changes={"name": edition.name},
        ip_address=ip_address,
    )
    edition.delete()
