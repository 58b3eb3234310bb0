"""Write audit entries. Call inside the service's transaction so the entry and the change
commit or roll back together."""

from __future__ import annotations

from typing import Any

from django.db import models

from licensing.models import AuditEvent


def actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return getattr(actor, "get_username", lambda: str(actor))()


def _without_nul(value: Any) -> Any:
    """PostgreSQL stores no NUL character in text or jsonb: an export's filters come from the
    query string, so replace NUL (with U+FFFD) rather than fail the request."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


def record(
    *,
    action: str,
    actor: Any = None,
    organisation: Any = None,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    ip_address: str | None = None,
    label: str | None = None,
) -> AuditEvent:
    """`actor` is a user, or a string such as "celery" or "token:abc123" for non-people."""
    user = (
        actor
        if actor is not None and not isinstance(actor, str) and getattr(actor, "pk", None)
        else None
    )
    return AuditEvent.objects.create(
        organisation_id=getattr(organisation, "pk", organisation),
        actor=user,
        actor_label=_without_nul(label or actor_label(actor)),
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=_without_nul(str(obj)[:200]) if obj is not None else "",
        changes=_without_nul(changes or {}),
        ip_address=ip_address,
    )


def client_ip(request: Any) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None
