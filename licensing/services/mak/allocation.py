"""Allocating MAK activations to clients: one activation of a key of the client's edition pool,
safe under concurrency (never more than the keys hold; blocked and exhausted keys never picked).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from licensing import policy
from licensing.crypto import mask_last5
from licensing.keyformat import redact
from licensing.models import (
    ActivationMethod,
    ActivationReason,
    Client,
    LicenseStatus,
    MakActivation,
    MakKey,
    MakPool,
)
from licensing.services import audit
from licensing.services.errors import DomainError
from licensing.services.mak.alerts import update_low_water_state

_PICK_SQL = """
SELECT id FROM licensing_makkey
WHERE pool_id = %s AND status = 'active' AND activations_used < activation_limit
ORDER BY id
LIMIT 1
FOR UPDATE {skip}
"""

# The WHERE clause repeats the conditions: even if a caller got here without the row lock,
# the update can never push a key past its limit (and the CHECK constraint backs it up).
_USE_SQL = """
UPDATE licensing_makkey
SET activations_used = activations_used + 1,
    status = CASE WHEN activations_used + 1 >= activation_limit THEN 'exhausted' ELSE 'active' END
WHERE id = %s AND status = 'active' AND activations_used < activation_limit
RETURNING id
"""


def _use_activation_of(key_id: int) -> int | None:
    """Take one activation of this key (the one the client has installed), or None when it is
    blocked or exhausted; same guarded UPDATE as the pool pick."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM licensing_makkey WHERE id = %s FOR UPDATE", [key_id])
        cursor.execute(_USE_SQL, [key_id])
        used = cursor.fetchone()
    return used[0] if used is not None else None


def _use_one_activation(pool_id: int) -> int | None:
    """Take one activation from a key of the pool, or None when the pool is exhausted.

    First try keys no concurrent transaction holds (SKIP LOCKED: allocations spread over the
    keys without waiting). If every candidate is locked, wait for them (plain FOR UPDATE):
    PostgreSQL re-checks the row after the lock is granted, so a key the other transaction
    just exhausted is passed over, and "exhausted" is only reported when it is true.
    """
    with connection.cursor() as cursor:
        for skip in ("SKIP LOCKED", ""):
            cursor.execute(_PICK_SQL.format(skip=skip), [pool_id])
            row = cursor.fetchone()
            if row is None:
                continue
            cursor.execute(_USE_SQL, [row[0]])
            used = cursor.fetchone()
            if used is not None:
                return used[0]
    return None


def _reflag_client(client_id: int, changed_by: str) -> None:
    """Recompute one client's compliance flag with the shared rules (same SQL as the sweep)."""
    from licensing.services.inventory.sweep import reflag_clients

    reflag_clients(client_ids=[client_id], changed_by=changed_by)


@transaction.atomic
def record_activation(
    *,
    actor: Any,
    client: Client,
    reason: str = ActivationReason.FIRST_ACTIVATION,
    note: str = "",
    activated_at: datetime | None = None,
    ip_address: str | None = None,
    key: MakKey | None = None,
) -> MakActivation:
    """Use one activation of a key of the client's edition pool for the client.

    Safe under concurrency: concurrent calls never use more activations than the keys hold;
    blocked and exhausted keys are never picked. Raises DomainError(code="pool_exhausted")
    when no key of the pool has an activation left. With `key` (the client's installed key,
    known by its last five characters, e.g. an offline activation), that key's activation is
    used, or DomainError(code="key_unavailable") when it is blocked or exhausted.
    """
    policy.require(actor, policy.Action.MANAGE_KEYS, client.organisation_id)
    if reason not in ActivationReason.values:
        raise DomainError(
            _("The reason is one of: %(reasons)s.")
            % {"reasons": ", ".join(ActivationReason.values)},
            code="invalid",
        )
    now = timezone.now()
    if activated_at is not None and activated_at > now + timedelta(minutes=5):
        raise DomainError(_("An activation cannot be in the future."), code="invalid")
    # One allocation per client at a time; the key rows are locked after the client row.
    client = Client.objects.select_for_update().get(pk=client.pk)
    if key is not None:
        return _record_on_key(actor, client, key, reason, note, activated_at or now, ip_address)
    if client.edition_id is None:
        raise DomainError(
            _("%(hostname)s has no Office edition recorded, so no MAK pool can be chosen.")
            % {"hostname": client.hostname},
            code="no_pool",
        )
    pool = (
        MakPool.objects.filter(organisation_id=client.organisation_id, edition_id=client.edition_id)
        .select_related("edition")
        .first()
    )
    if pool is None:
        raise DomainError(
            _("There is no MAK pool for %(edition)s in this organisation.")
            % {"edition": client.edition},
            code="no_pool",
        )
    key_id = _use_one_activation(pool.pk)
    if key_id is None:
        raise DomainError(
            _(
                "The %(edition)s MAK pool is exhausted: no unblocked key has activations left. "
                "Request extra activations for the pool."
            )
            % {"edition": pool.edition},
            code="pool_exhausted",
        )
    return _ledger(actor, client, key_id, pool.pk, reason, note, activated_at or now, ip_address)


def _record_on_key(
    actor: Any,
    client: Client,
    key: MakKey,
    reason: str,
    note: str,
    activated_at: datetime,
    ip_address: str | None,
) -> MakActivation:
    pool_id = MakKey.objects.filter(pk=key.pk).values_list("pool_id", flat=True).get()
    if MakPool.objects.filter(pk=pool_id, organisation_id=client.organisation_id).count() != 1:
        raise DomainError(_("That MAK key is not one of this organisation's."), code="invalid")
    key_id = _use_activation_of(key.pk)
    if key_id is None:
        raise DomainError(
            _(
                "MAK key %(key)s is blocked or has no activation left. "
                "Request extra activations for its pool."
            )
            % {"key": mask_last5(key.last5)},
            code="key_unavailable",
        )
    return _ledger(actor, client, key_id, pool_id, reason, note, activated_at, ip_address)


def _ledger(
    actor: Any,
    client: Client,
    key_id: int,
    pool_id: int,
    reason: str,
    note: str,
    activated_at: datetime,
    ip_address: str | None,
) -> MakActivation:
    now = timezone.now()
    activation = MakActivation.objects.create(
        key_id=key_id,
        pool_id=pool_id,
        client=client,
        reason=reason,
        activated_at=activated_at,
        recorded_by=actor if getattr(actor, "pk", None) else None,
        note=redact((note or "").strip())[:500],
    )
    Client.objects.filter(pk=client.pk).update(
        activation_method=ActivationMethod.MAK,
        mak_key_id=key_id,
        kms_host=None,  # a client is activated by one method (client_kms_host_only_for_kms)
        last_activation_at=activated_at,
        reactivation_required=False,
        license_status=LicenseStatus.LICENSED,
        grace_minutes=None,
        updated_at=now,
    )
    _reflag_client(client.pk, f"mak:{audit.actor_label(actor)}")
    last5 = MakKey.objects.filter(pk=key_id).values_list("last5", flat=True).get()
    audit.record(
        action="mak_activation.record",
        actor=actor,
        organisation=client.organisation_id,
        obj=activation,
        changes={"client": client.hostname, "key": mask_last5(last5), "reason": reason},
        ip_address=ip_address,
    )
    update_low_water_state(pool_ids=[pool_id])
    return activation
