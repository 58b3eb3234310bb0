"""MAK pools and the key vault: pools, adding and importing keys, blocking, Microsoft's figure
and revealing a key.

Keys are sealed by `licensing.crypto` (ciphertext + last5 + fingerprint); nothing here logs,
audits or returns a key in clear except `reveal_key`, whose caller shows it once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from licensing import policy
from licensing.crypto import (
    InvalidProductKey,
    SealedKey,
    decrypt_product_key,
    mask_last5,
    seal_product_key,
)
from licensing.keyformat import redact
from licensing.models import Edition, MakKey, MakKeyStatus, MakPool, Organisation
from licensing.services import audit, reauth
from licensing.services.csv_upload import ImportReport, open_csv, rows
from licensing.services.errors import ConflictError, DomainError
from licensing.services.mak.alerts import update_low_water_state

# A MAK rarely carries more than a few thousand activations; anything above this is a typo.
MAX_KEY_ACTIVATIONS = 1_000_000
MAX_IMPORT_ROWS = 5_000
MAX_IMPORT_BYTES = 1_000_000
DUPLICATE_MESSAGE = gettext_noop(
    "This key is already stored in the portal (…%(last5)s); each MAK is stored once."
)


def _duplicate(last5: str) -> str:
    return _(DUPLICATE_MESSAGE) % {"last5": last5}


def _limit(value: Any, *, name: str, minimum: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise DomainError(
            _("%(name)s must be a whole number.") % {"name": name}, code="invalid"
        ) from None
    if not minimum <= number <= MAX_KEY_ACTIVATIONS:
        raise DomainError(
            _("%(name)s must be between %(minimum)s and %(maximum)s.")
            % {"name": name, "minimum": minimum, "maximum": intcomma(MAX_KEY_ACTIVATIONS)},
            code="invalid",
        )
    return number


def _seal(raw: str) -> SealedKey:
    try:
        return seal_product_key(raw)
    except InvalidProductKey as exc:
        # The message of InvalidProductKey never repeats the key.
        raise DomainError(str(exc), code="invalid_key") from None


# --- pools -----------------------------------------------------------------------------------


@transaction.atomic
def create_pool(
    *,
    actor: Any,
    organisation: Organisation,
    edition: Edition,
    agreement_number: str = "",
    low_water_mark: int = 10,
    ip_address: str | None = None,
) -> MakPool:
    policy.require(actor, policy.Action.MANAGE_KEYS, organisation)
    if MakPool.objects.filter(organisation=organisation, edition=edition).exists():
        raise DomainError(
            _("There is already a MAK pool for %(edition)s.") % {"edition": edition},
            code="duplicate_pool",
        )
    mark = _limit(low_water_mark, name=_("The low-water mark"), minimum=0)
    pool = MakPool.objects.create(
        organisation=organisation,
        edition=edition,
        agreement_number=(agreement_number or "").strip()[:60],
        low_water_mark=mark,
    )
    audit.record(
        action="mak_pool.create",
        actor=actor,
        organisation=organisation,
        obj=pool,
        changes={"edition": edition.name, "low_water_mark": mark},
        ip_address=ip_address,
    )
    return pool


@transaction.atomic
def update_pool(
    *,
    actor: Any,
    pool: MakPool,
    agreement_number: str | None = None,
    low_water_mark: int | None = None,
    ip_address: str | None = None,
) -> MakPool:
    policy.require(actor, policy.Action.MANAGE_KEYS, pool.organisation_id)
    changes: dict[str, Any] = {}
    if agreement_number is not None:
        pool.agreement_number = agreement_number.strip()[:60]
        changes["agreement_number"] = pool.agreement_number
    if low_water_mark is not None:
        pool.low_water_mark = _limit(low_water_mark, name=_("The low-water mark"), minimum=0)
        changes["low_water_mark"] = pool.low_water_mark
    pool.save(update_fields=["agreement_number", "low_water_mark"])
    audit.record(
        action="mak_pool.update",
        actor=actor,
        organisation=pool.organisation_id,
        obj=pool,
        changes=changes,
        ip_address=ip_address,
    )
    update_low_water_state(pool_ids=[pool.pk])
    return pool


# --- adding keys -----------------------------------------------------------------------------


@transaction.atomic
def add_key(
    *,
    actor: Any,
    pool: MakPool,
    key: str,
    activation_limit: int,
    activations_used: int = 0,
    label: str = "",
    ip_address: str | None = None,
) -> MakKey:
    """Store one MAK encrypted. A malformed key or one already stored anywhere in the
    installation (same fingerprint) is refused with a clear message and nothing is stored."""
    policy.require(actor, policy.Action.MANAGE_KEYS, pool.organisation_id)
    sealed = _seal(key)
    limit = _limit(activation_limit, name=_("The activation limit"), minimum=1)
    used = _limit(activations_used or 0, name=_("Activations already used"), minimum=0)
    if used > limit:
        raise DomainError(
            _("Activations already used cannot exceed the activation limit."), code="invalid"
        )
    if MakKey.objects.filter(fingerprint=sealed.fingerprint).exists():
        raise DomainError(_duplicate(sealed.last5), code="duplicate_key")
    try:
        with transaction.atomic():  # a concurrent insert of the same key loses on the index
            mak_key = MakKey.objects.create(
                pool=pool,
                label=redact((label or "").strip())[:120],
                ciphertext=sealed.ciphertext,
                last5=sealed.last5,
                fingerprint=sealed.fingerprint,
                activation_limit=limit,
                activations_used=used,
                status=MakKeyStatus.EXHAUSTED if used >= limit else MakKeyStatus.ACTIVE,
                added_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:
        raise DomainError(_duplicate(sealed.last5), code="duplicate_key") from None
    audit.record(
        action="mak_key.add",
        actor=actor,
        organisation=pool.organisation_id,
        obj=mak_key,
        changes={"key": mask_last5(sealed.last5), "activation_limit": limit, "used": used},
        ip_address=ip_address,
    )
    update_low_water_state(pool_ids=[pool.pk])
    return mak_key


IMPORT_COLUMNS = ("key", "activation_limit", "activations_used", "label")


def import_keys(
    *, actor: Any, pool: MakPool, csv_text: str, ip_address: str | None = None
) -> ImportReport:
    """Import many keys into one pool, all or nothing.

    Columns (header row required): `key`, `activation_limit`, optional `activations_used` and
    `label`. Every row is checked first (shape, numbers, duplicates inside the file and across
    the installation by fingerprint); if any row fails, nothing is stored and the report lists
    every failing row, so the admin fixes the file and imports it again as a whole.
    """
    policy.require(actor, policy.Action.MANAGE_KEYS, pool.organisation_id)
    report = ImportReport()
    reader = open_csv(
        csv_text,
        report,
        max_bytes=MAX_IMPORT_BYTES,
        required=("key", "activation_limit"),
        columns="key, activation_limit[, activations_used, label]",
    )
    if reader is None:
        return report
    staged: list[tuple[int, SealedKey, int, int, str]] = []
    seen: dict[str, int] = {}
    for row in rows(reader, report):
        line = reader.line_num
        report.rows += 1
        if report.rows > MAX_IMPORT_ROWS:
            report.errors.append(
                (
                    line,
                    _("At most %(maximum)s keys per file.")
                    % {"maximum": intcomma(MAX_IMPORT_ROWS)},
                )
            )
            break
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            report.rows -= 1
            continue
        try:
            sealed = _seal(row.get("key") or "")
            limit = _limit(row.get("activation_limit"), name="activation_limit", minimum=1)
            used = _limit(row.get("activations_used") or 0, name="activations_used", minimum=0)
            if used > limit:
                raise DomainError(_("activations_used is larger than activation_limit."))
        except DomainError as exc:
            report.errors.append((line, str(exc)))
            continue
        if sealed.fingerprint in seen:
            report.errors.append(
                (
                    line,
                    _("The key …%(last5)s appears twice in this file (also row %(row)s).")
                    % {"last5": sealed.last5, "row": seen[sealed.fingerprint]},
                )
            )
            continue
        seen[sealed.fingerprint] = line
        staged.append((line, sealed, limit, used, redact((row.get("label") or "").strip())[:120]))
    if not staged and not report.errors:
        report.errors.append((0, _("The file holds no keys.")))
    existing = set(
        MakKey.objects.filter(fingerprint__in=[s[1].fingerprint for s in staged]).values_list(
            "fingerprint", flat=True
        )
    )
    for line, sealed, *_rest in staged:
        if sealed.fingerprint in existing:
            report.errors.append((line, _duplicate(sealed.last5)))
    if report.errors:
        report.errors.sort()
        return report
    by = actor if getattr(actor, "pk", None) else None
    try:
        with transaction.atomic():
            report.created = MakKey.objects.bulk_create(
                MakKey(
                    pool=pool,
                    label=label,
                    ciphertext=sealed.ciphertext,
                    last5=sealed.last5,
                    fingerprint=sealed.fingerprint,
                    activation_limit=limit,
                    activations_used=used,
                    status=MakKeyStatus.EXHAUSTED if used >= limit else MakKeyStatus.ACTIVE,
                    added_by=by,
                )
                for _line, sealed, limit, used, label in staged
            )
            audit.record(
                action="mak_key.import",
                actor=actor,
                organisation=pool.organisation_id,
                obj=pool,
                changes={
                    "count": len(report.created),
                    "keys": [mask_last5(k.last5) for k in report.created],
                    "key_ids": [k.pk for k in report.created],
                },
                ip_address=ip_address,
            )
            update_low_water_state(pool_ids=[pool.pk])
    except IntegrityError:
        report.created = []
        report.errors.append(
            (
                0,
                _(
                    "Another import stored one of these keys at the same moment; nothing was stored."
                ),
            )
        )
    return report


# --- key state -------------------------------------------------------------------------------


def _locked(key: MakKey) -> MakKey:
    return MakKey.objects.select_for_update().select_related("pool").get(pk=key.pk)


@transaction.atomic
def block_key(*, actor: Any, key: MakKey, reason: str, ip_address: str | None = None) -> MakKey:
    """A blocked key (suspected leak, blocked by Microsoft) is never allocated again."""
    policy.require(actor, policy.Action.MANAGE_KEYS, key.pool.organisation_id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the key is blocked (leaked, blocked by Microsoft...)."))
    key = _locked(key)
    if key.status == MakKeyStatus.BLOCKED:
        raise ConflictError(_("The key is already blocked."))
    key.status = MakKeyStatus.BLOCKED
    key.blocked_reason = redact(reason)[:300]
    key.save(update_fields=["status", "blocked_reason"])
    audit.record(
        action="mak_key.block",
        actor=actor,
        organisation=key.pool.organisation_id,
        obj=key,
        changes={"key": key.masked, "reason": key.blocked_reason},
        ip_address=ip_address,
    )
    update_low_water_state(pool_ids=[key.pool_id])
    return key


@transaction.atomic
def unblock_key(*, actor: Any, key: MakKey, ip_address: str | None = None) -> MakKey:
    policy.require(actor, policy.Action.MANAGE_KEYS, key.pool.organisation_id)
    key = _locked(key)
    if key.status != MakKeyStatus.BLOCKED:
        raise ConflictError(_("The key is not blocked."))
    key.status = (
        MakKeyStatus.EXHAUSTED
        if key.activations_used >= key.activation_limit
        else MakKeyStatus.ACTIVE
    )
    key.blocked_reason = ""
    key.save(update_fields=["status", "blocked_reason"])
    audit.record(
        action="mak_key.unblock",
        actor=actor,
        organisation=key.pool.organisation_id,
        obj=key,
        changes={"key": key.masked, "status": key.status},
        ip_address=ip_address,
    )
    update_low_water_state(pool_ids=[key.pool_id])
    return key


@transaction.atomic
def set_microsoft_remaining(
    *, actor: Any, key: MakKey, remaining: int, ip_address: str | None = None
) -> MakKey:
    """Record the remaining count Microsoft's admin center (or VAMT) shows for the key."""
    policy.require(actor, policy.Action.MANAGE_KEYS, key.pool.organisation_id)
    value = _limit(remaining, name=_("Microsoft's remaining count"), minimum=0)
    key = _locked(key)
    key.microsoft_remaining = value
    key.microsoft_remaining_at = timezone.now()
    key.save(update_fields=["microsoft_remaining", "microsoft_remaining_at"])
    audit.record(
        action="mak_key.microsoft_remaining",
        actor=actor,
        organisation=key.pool.organisation_id,
        obj=key,
        changes={
            "key": key.masked,
            "microsoft_remaining": value,
            "portal_remaining": key.activations_left,
        },
        ip_address=ip_address,
    )
    return key


def ledger_disagrees(key: MakKey) -> bool:
    """True when Microsoft's last figure differs from the portal's own remaining count."""
    return key.microsoft_remaining is not None and key.microsoft_remaining != key.activations_left


# --- reveal ----------------------------------------------------------------------------------


@transaction.atomic
def reveal_key(
    *,
    actor: Any,
    key: MakKey,
    password_confirmed_at: float | None,
    ip_address: str | None = None,
) -> str:
    """Return the whole key, once, to an admin who confirmed their password recently.
    The audit entry names who saw which key (id and last five) and when."""
    policy.require(actor, policy.Action.REVEAL_SECRET, key.pool.organisation_id)
    if not reauth.is_fresh(password_confirmed_at):
        raise DomainError(
            _(
                "Confirm your password first: revealing a key needs a confirmation from the last "
                "%(minutes)s minutes."
            )
            % {"minutes": settings.SECRET_REVEAL_REAUTH_SECONDS // 60},
            code="reauth_required",
        )
    audit.record(
        action="mak_key.reveal",
        actor=actor,
        organisation=key.pool.organisation_id,
        obj=key,
        changes={"key": key.masked, "key_id": key.pk, "last5": key.last5},
        ip_address=ip_address,
    )
    return decrypt_product_key(key.ciphertext)
