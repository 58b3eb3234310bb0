"""Write audit entries. Call inside the service's transaction so the entry and the change
commit or roll back together."""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from django.conf import settings
from django.db import models

from licensing.keyformat import redact
from licensing.models import AuditEvent


def actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return getattr(actor, "get_username", lambda: str(actor))()


def _without_nul(value: Any) -> Any:
    """PostgreSQL stores no NUL character in text or jsonb: an export's filters come from the
    query string, so replace NUL (with U+FFFD) rather than fail the request. Key-shaped text
    in any free-text value is redacted (licensing.keyformat.redact)."""
    if isinstance(value, str):
        return redact(value.replace("\x00", "\ufffd"))
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


@functools.lru_cache(maxsize=8)
def _networks(
    proxies: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_ip(request: Any) -> str | None:
    """The one client address (login lockout through django-axes, throttles, audit entries):
    REMOTE_ADDR, unless that is one of `settings.TRUSTED_PROXIES`; then X-Forwarded-For is read
    from the right and the first address that is not a trusted proxy is the client. A header
    sent by anyone else is ignored, so it cannot choose the address a lockout or an audit
    entry is recorded under."""
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR")
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or remote is None:
        return remote

    def trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return address is not None and any(address in net for net in networks)

    if not trusted(_address(remote)):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [h for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return remote  # a garbled header: keep the proxy's own address
        if not trusted(address):
            return str(address)
    return str(_address(hops[0])) if hops else remote
