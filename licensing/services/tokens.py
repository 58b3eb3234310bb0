"""API tokens: random secrets shown once, stored as SHA-256 digests, always expiring."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from licensing import policy
from licensing.models import ApiToken, KmsHost, Organisation, TokenScope
from licensing.services import audit
from licensing.services.errors import InvalidInput

TOKEN_PREFIX = "vlp_"


def digest(token: str) -> str:
    # The token carries 256 random bits, so a plain hash is enough (no password stretching).
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def create_api_token(
    *,
    actor: Any,
    organisation: Organisation,
    name: str,
    scope: str = TokenScope.USER,
    days: int | None = None,
    kms_host: KmsHost | None = None,
    ip_address: str | None = None,
) -> tuple[ApiToken, str]:
    """Return the token row and the plaintext token (shown to the user exactly once)."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput(
            field_errors={"name": _("Give the token a name that says where it is used.")}
        )
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise InvalidInput(
            field_errors={
                "days": _("A token lives between 1 and %(max)s days.")
                % {"max": settings.API_TOKEN_MAX_DAYS}
            }
        )
    if scope == TokenScope.USER:
        policy.require(actor, policy.Action.USE_API_TOKENS, organisation)
    elif scope == TokenScope.AGENT:
        policy.require(actor, policy.Action.MANAGE_CLIENTS, organisation)
    elif scope == TokenScope.REPORTER:
        policy.require(actor, policy.Action.MANAGE_HOSTS, organisation)
        if kms_host is None or kms_host.organisation_id != organisation.pk:
            raise InvalidInput(
                field_errors={
                    "kms_host": _("A reporter token belongs to one KMS host of this organisation.")
                }
            )
    else:
        raise InvalidInput(field_errors={"scope": _("Unknown token scope.")})
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        organisation=organisation,
        name=name[:100],
        scope=scope,
        user=actor if scope == TokenScope.USER else None,
        kms_host=kms_host if scope == TokenScope.REPORTER else None,
        prefix=plaintext[: len(TOKEN_PREFIX) + 6],
        digest=digest(plaintext),
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    audit.record(
        action="api_token.create",
        actor=actor,
        organisation=organisation,
        obj=token,
        changes={
            "scope": scope,
            "expires_at": token.expires_at.isoformat(),
            "prefix": token.prefix,
        },
        ip_address=ip_address,
    )
    return token, plaintext


@transaction.atomic
def revoke_api_token(*, actor: Any, token: ApiToken, ip_address: str | None = None) -> ApiToken:
    """Owners revoke their own tokens. Admins may revoke any token of their organisation
    (agent and reporter tokens, and a departing colleague's personal tokens)."""
    own = token.user_id is not None and token.user_id == getattr(actor, "pk", None)
    if not own:
        needed = (
            policy.Action.MANAGE_HOSTS
            if token.scope == TokenScope.REPORTER
            else policy.Action.MANAGE_CLIENTS
        )
        policy.require(actor, needed, token.organisation)
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db()
        audit.record(
            action="api_token.revoke",
            actor=actor,
            organisation=token.organisation,
            obj=token,
            ip_address=ip_address,
        )
    return token


def authenticate_token(plaintext: str) -> ApiToken | None:
    """The live token for this secret, or None (unknown, revoked or expired)."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user", "organisation", "kms_host")
        .filter(digest=digest(plaintext), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None:
        return None
    # Touch last_used_at at most once a minute so busy agents do not write on every request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
