"""KMS host registry: register, edit, retire a host and reveal its host key.

A new or re-addressed host comes due for a poll at once (`next_poll_at = now`); the polling
itself lives in `licensing.services.kms.polling`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from licensing import crypto, policy
from licensing.models import (
    DEFAULT_KMS_PORT,
    HostState,
    KmsHost,
    KmsProductGroup,
    Organisation,
)
from licensing.services import audit, reauth
from licensing.services.errors import NON_FIELD, ConflictError, DomainError, InvalidInput
from licensing.services.kms import reasons

# RFC 1123 host names: labels of letters, digits and inner hyphens; at least two labels.
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalise_fqdn(raw: str) -> str:
    """Lower-case FQDN without the trailing dot, or InvalidInput with a readable reason."""
    fqdn = (raw or "").strip().rstrip(".").lower()
    if not fqdn:
        raise InvalidInput(field_errors={"fqdn": _("Give the host's fully qualified domain name.")})
    if len(fqdn) > 253:
        raise InvalidInput(field_errors={"fqdn": _("A DNS name has at most 253 characters.")})
    labels = fqdn.split(".")
    if len(labels) < 2:
        raise InvalidInput(
            field_errors={
                "fqdn": _(
                    "'%(fqdn)s' is not fully qualified: add the domain (e.g. %(fqdn)s.contoso.com)."
                )
                % {"fqdn": fqdn}
            }
        )
    for label in labels:
        if not _LABEL.match(label):
            raise InvalidInput(
                field_errors={
                    "fqdn": _(
                        "'%(label)s' is not a valid DNS label: use letters, digits and "
                        "hyphens (not at the start or end), at most 63 characters."
                    )
                    % {"label": label}
                }
            )
    if labels[-1].isdigit():
        raise InvalidInput(field_errors={"fqdn": _("Give the host's DNS name, not an IP address.")})
    return fqdn


def _validate_numbers(*, port: int, activation_threshold: int, poll_interval_minutes: int) -> None:
    errors = {}
    if not 1 <= int(port) <= 65535:
        errors["port"] = _("The port must be between 1 and 65535 (KMS listens on 1688 by default).")
    if not 1 <= int(activation_threshold) <= 50:
        errors["activation_threshold"] = _(
            "The activation threshold is between 1 and 50 (5 for Office and Windows Server, "
            "25 for Windows clients)."
        )
    if not 1 <= int(poll_interval_minutes) <= 1440:
        errors["poll_interval_minutes"] = _("Poll every 1 to 1440 minutes.")
    if errors:
        raise InvalidInput(field_errors=errors)


def _seal_host_key(raw: str) -> crypto.SealedKey:
    try:
        return crypto.seal_product_key(raw)
    except crypto.InvalidProductKey as exc:
        raise InvalidInput(field_errors={"host_key": str(exc)}) from None


# Microsoft activates one KMS host key (CSVLK) on at most six hosts (10 activations per host;
# over the limit the host gets 0xC004C008; Microsoft 365 admin FAQ on volume licensing keys).
CSVLK_MAX_HOSTS = 6


def _check_csvlk_limit(organisation_id: int, fingerprint: str, *, other_than: int | None) -> None:
    """Refuse a seventh live host with the same host key in the organisation. The advisory
    lock (per key) makes two registrations at once wait for each other, so both cannot pass."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 6))", [fingerprint])
    live = KmsHost.objects.filter(
        organisation_id=organisation_id, host_key_fingerprint=fingerprint, retired_at__isnull=True
    )
    if other_than is not None:
        live = live.exclude(pk=other_than)
    if live.count() >= CSVLK_MAX_HOSTS:
        raise InvalidInput(
            field_errors={
                "host_key": _(
                    "This host key is already stored on %(max)s live KMS hosts: Microsoft "
                    "activates one KMS host key on at most %(max)s hosts (0xC004C008). Retire a "
                    "host that no longer uses it, or ask Microsoft for more."
                )
                % {"max": CSVLK_MAX_HOSTS}
            }
        )


def _duplicate_error(organisation: Organisation, fqdn: str) -> InvalidInput:
    other = KmsHost.objects.for_organisation(organisation).filter(fqdn=fqdn).first()
    if other is not None and other.retired_at is not None:
        return InvalidInput(
            field_errors={
                "fqdn": _(
                    "%(fqdn)s is registered already (retired on %(date)s); retired hosts keep "
                    "their history."
                )
                % {"fqdn": fqdn, "date": date_format(other.retired_at, "SHORT_DATE_FORMAT")}
            }
        )
    return InvalidInput(
        field_errors={
            "fqdn": _("%(fqdn)s is registered already in this organisation.") % {"fqdn": fqdn}
        }
    )


@transaction.atomic
def register_host(
    *,
    actor: Any,
    organisation: Organisation,
    fqdn: str,
    product_group: str,
    port: int = DEFAULT_KMS_PORT,
    host_key: str = "",
    activation_threshold: int = 5,
    poll_interval_minutes: int = 15,
    ip_address: str | None = None,
) -> KmsHost:
    """Add a KMS host. It is polled at the next dispatch (within a minute)."""
    policy.require(actor, policy.Action.MANAGE_HOSTS, organisation)
    fqdn = normalise_fqdn(fqdn)
    if product_group not in KmsProductGroup.values:
        raise InvalidInput(
            field_errors={"product_group": _("Choose the Office version of the host key.")}
        )
    _validate_numbers(
        port=port,
        activation_threshold=activation_threshold,
        poll_interval_minutes=poll_interval_minutes,
    )
    if KmsHost.objects.for_organisation(organisation).filter(fqdn=fqdn).exists():
        raise _duplicate_error(organisation, fqdn)
    sealed = _seal_host_key(host_key) if (host_key or "").strip() else None
    if sealed is not None:
        _check_csvlk_limit(organisation.pk, sealed.fingerprint, other_than=None)
    now = timezone.now()
    try:
        with transaction.atomic():
            host = KmsHost.objects.create(
                organisation=organisation,
                fqdn=fqdn,
                port=int(port),
                product_group=product_group,
                activation_threshold=int(activation_threshold),
                poll_interval_minutes=int(poll_interval_minutes),
                host_key_ciphertext=sealed.ciphertext if sealed else "",
                host_key_last5=sealed.last5 if sealed else "",
                host_key_fingerprint=sealed.fingerprint if sealed else None,
                next_poll_at=now,
                state_changed_at=now,
            )
    except IntegrityError:  # a concurrent registration of the same name won the race
        raise _duplicate_error(organisation, fqdn) from None
    audit.record(
        action="kms_host.create",
        actor=actor,
        organisation=organisation,
        obj=host,
        changes={
            "fqdn": fqdn,
            "port": host.port,
            "product_group": product_group,
            "activation_threshold": host.activation_threshold,
            "poll_interval_minutes": host.poll_interval_minutes,
            "host_key": crypto.mask_last5(host.host_key_last5) if sealed else "",
        },
        ip_address=ip_address,
    )
    return host


EDITABLE = ("fqdn", "port", "product_group", "activation_threshold", "poll_interval_minutes")


@transaction.atomic
def update_host(
    *,
    actor: Any,
    host: KmsHost,
    ip_address: str | None = None,
    host_key: str = "",
    **changes: Any,
) -> KmsHost:
    """Edit a live host. `host_key` replaces the stored key when given (blank keeps it)."""
    policy.require(actor, policy.Action.MANAGE_HOSTS, host.organisation)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(
            field_errors={
                NON_FIELD: _("Cannot change %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
            }
        )
    host = KmsHost.objects.select_for_update().get(pk=host.pk)
    if host.retired_at is not None:
        raise ConflictError(_("This host is retired; retired hosts cannot be edited."))
    if "fqdn" in changes:
        changes["fqdn"] = normalise_fqdn(changes["fqdn"])
        if (
            changes["fqdn"] != host.fqdn
            and KmsHost.objects.for_organisation(host.organisation_id)
            .filter(fqdn=changes["fqdn"])
            .exists()
        ):
            raise _duplicate_error(host.organisation, changes["fqdn"])
    if "product_group" in changes and changes["product_group"] not in KmsProductGroup.values:
        raise InvalidInput(
            field_errors={"product_group": _("Choose the Office version of the host key.")}
        )
    _validate_numbers(
        port=changes.get("port", host.port),
        activation_threshold=changes.get("activation_threshold", host.activation_threshold),
        poll_interval_minutes=changes.get("poll_interval_minutes", host.poll_interval_minutes),
    )
    diff: dict[str, Any] = {}
    for name, value in changes.items():
        old = getattr(host, name)
        if name in ("port", "activation_threshold", "poll_interval_minutes"):
            value = int(value)
        if old != value:
            diff[name] = [old, value]
            setattr(host, name, value)
    if (host_key or "").strip():
        sealed = _seal_host_key(host_key)
        if sealed.fingerprint != host.host_key_fingerprint:
            _check_csvlk_limit(host.organisation_id, sealed.fingerprint, other_than=host.pk)
            diff["host_key"] = [
                crypto.mask_last5(host.host_key_last5) if host.host_key_last5 else "",
                crypto.mask_last5(sealed.last5),
            ]
            host.host_key_ciphertext = sealed.ciphertext
            host.host_key_last5 = sealed.last5
            host.host_key_fingerprint = sealed.fingerprint
    if not diff:
        return host
    if {"fqdn", "port"} & set(diff):
        host.next_poll_at = timezone.now()  # check the new address at the next dispatch
    try:
        with transaction.atomic():
            host.save()
    except IntegrityError:
        raise _duplicate_error(host.organisation, host.fqdn) from None
    audit.record(
        action="kms_host.update",
        actor=actor,
        organisation=host.organisation_id,
        obj=host,
        changes=diff,
        ip_address=ip_address,
    )
    return host


@transaction.atomic
def retire_host(*, actor: Any, host: KmsHost, ip_address: str | None = None) -> KmsHost:
    """Stop polling a host, revoke its reporter tokens and keep its history."""
    from licensing.models import ApiToken

    policy.require(actor, policy.Action.MANAGE_HOSTS, host.organisation)
    host = KmsHost.objects.select_for_update().get(pk=host.pk)
    if host.retired_at is not None:
        return host
    now = timezone.now()
    previous = host.state
    host.retired_at = now
    host.state = HostState.RETIRED
    host.state_changed_at = now
    host.state_reason = reasons.RETIRED
    host.next_poll_at = None
    host.save(
        update_fields=["retired_at", "state", "state_changed_at", "state_reason", "next_poll_at"]
    )
    revoked = ApiToken.objects.filter(kms_host=host, revoked_at__isnull=True).update(revoked_at=now)
    audit.record(
        action="kms_host.retire",
        actor=actor,
        organisation=host.organisation_id,
        obj=host,
        changes={"state": [previous, HostState.RETIRED], "reporter_tokens_revoked": revoked},
        ip_address=ip_address,
    )
    return host


@transaction.atomic
def reveal_host_key(
    *,
    actor: Any,
    host: KmsHost,
    password_confirmed_at: float | datetime | None,
    ip_address: str | None = None,
) -> str:
    """The host key in clear, for an administrator who confirmed their password in the last
    few minutes. Every reveal is audited (masked) in the same transaction."""
    policy.require(actor, policy.Action.REVEAL_SECRET, host.organisation)
    if not reauth.is_fresh(password_confirmed_at):
        raise DomainError(
            _("Confirm your password to reveal a host key."), code="password_confirmation_required"
        )
    if not host.host_key_ciphertext:
        raise DomainError(_("No host key is stored for this host."), code="no_host_key")
    key = crypto.decrypt_product_key(host.host_key_ciphertext)
    audit.record(
        action="kms_host.reveal_key",
        actor=actor,
        organisation=host.organisation_id,
        obj=host,
        changes={"host_key": crypto.mask_last5(host.host_key_last5)},
        ip_address=ip_address,
    )
    return key
