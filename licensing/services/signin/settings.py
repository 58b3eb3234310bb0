"""An organisation's sign-in settings, kept by its admins: "require 2FA" and the group mapping.
Every change is audited in the same transaction."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from licensing.models import GroupMapping, GroupSource, Organisation, Role
from licensing.services import audit
from licensing.services.errors import ConflictError, InvalidInput


@transaction.atomic
def set_require_2fa(
    *, actor: Any, organisation: Organisation, required: bool, ip_address: str | None
) -> bool:
    """Return True when the setting changed."""
    org = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if org.require_2fa == required:
        return False
    org.require_2fa = required
    org.save(update_fields=["require_2fa"])
    audit.record(
        action="signin.require_2fa_changed",
        actor=actor,
        organisation=org,
        obj=org,
        changes={"require_2fa": [not required, required]},
        ip_address=ip_address,
    )
    organisation.require_2fa = required
    return True


def add_group_mapping(
    *,
    actor: Any,
    organisation: Organisation,
    source: str,
    group: str,
    role: str,
    ip_address: str | None,
) -> GroupMapping:
    group = (group or "").strip()
    errors: dict[str, list[str]] = {}
    if source not in GroupSource.values:
        errors["source"] = [_("Choose single sign-on or the directory.")]
    if not group:
        errors["group"] = [_("Give the group's name, id or distinguished name.")]
    if role not in Role.values:
        errors["role"] = [_("Choose a role.")]
    if errors:
        raise InvalidInput(_("The mapping is not valid."), field_errors=errors)
    try:
        with transaction.atomic():
            mapping = GroupMapping.objects.create(
                organisation=organisation, source=source, group=group, role=role
            )
            audit.record(
                action="signin.group_mapping_added",
                actor=actor,
                organisation=organisation,
                obj=mapping,
                changes={"source": source, "group": group, "role": role},
                ip_address=ip_address,
            )
    except IntegrityError as exc:
        raise ConflictError(
            field_errors={"group": _("This group is already mapped in this organisation.")}
        ) from exc
    return mapping


@transaction.atomic
def remove_group_mapping(*, actor: Any, mapping: GroupMapping, ip_address: str | None) -> None:
    audit.record(
        action="signin.group_mapping_removed",
        actor=actor,
        organisation=mapping.organisation_id,
        obj=mapping,
        changes={"source": mapping.source, "group": mapping.group, "role": mapping.role},
        ip_address=ip_address,
    )
    mapping.delete()
