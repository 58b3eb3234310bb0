"""Write audit entries. Call inside the service's transaction so the entry and the change
commit or roll back together."""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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


# --- reading the trail ---------------------------------------------------------------------------

# Sign-in events belong to a person, not to an organisation (organisation is empty): an
# organisation's log shows those of its members, and failed attempts made with a member's name.
PERSONAL_PREFIXES = ("auth.",)


def visible_to_organisation(organisation: Any) -> models.QuerySet[AuditEvent]:
    """The entries an organisation's audit log lists (page, detail and CSV alike): its own, plus
    the sign-in events of its members."""
    from django.db.models import Q, Value
    from django.db.models.functions import Concat

    from licensing.models import Membership

    org_id = getattr(organisation, "pk", organisation)
    members = Membership.objects.filter(organisation_id=org_id)
    personal = Q(organisation__isnull=True) & (
        Q(actor_id__in=members.values("user_id"))
        | Q(
            actor_id__isnull=True,
            actor_label__in=members.annotate(
                label=Concat(Value("anonymous:"), "user__username")
            ).values("label"),
        )
    )
    prefixes = Q()
    for prefix in PERSONAL_PREFIXES:
        prefixes |= Q(action__startswith=prefix)
    return AuditEvent.objects.filter(Q(organisation_id=org_id) | (personal & prefixes))


def known_actions() -> list[str]:
    """Every action name in the trail, by a loose index scan of the `action` index (one index
    probe per distinct name, so it stays fast however many entries there are). Action names
    come from the code, never from users, so listing them reveals nothing of another
    organisation."""
    from django.db import connection

    table = AuditEvent._meta.db_table
    sql = f"""
        WITH RECURSIVE names(action) AS (
            (SELECT action FROM {table} ORDER BY action LIMIT 1)
            UNION ALL
            SELECT (SELECT a.action FROM {table} a WHERE a.action > names.action
                    ORDER BY a.action LIMIT 1)
            FROM names WHERE names.action IS NOT NULL
        )
        SELECT action FROM names WHERE action IS NOT NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


# The areas of the action names ("mak_key.reveal": "mak_key"), in words for the action picker;
# an area not named here is shown as it is recorded.
AREA_LABELS = {
    "account": gettext_lazy("Accounts"),
    "activation_request": gettext_lazy("Activation requests"),
    "agreement": gettext_lazy("Agreements"),
    "api_token": gettext_lazy("API tokens"),
    "auth": gettext_lazy("Sign-in"),
    "client": gettext_lazy("Clients"),
    "compliance": gettext_lazy("Compliance digests"),
    "edition": gettext_lazy("Editions"),
    "entitlement": gettext_lazy("Entitlements"),
    "field_keys": gettext_lazy("Encryption keys"),
    "inventory": gettext_lazy("Inventory imports"),
    "kms_host": gettext_lazy("KMS hosts"),
    "licences": gettext_lazy("Licences"),
    "mak_activation": gettext_lazy("MAK activations"),
    "mak_key": gettext_lazy("MAK keys"),
    "mak_pool": gettext_lazy("MAK pools"),
    "offline_activation": gettext_lazy("Offline activations"),
    "organisation": gettext_lazy("Organisation"),
    "saved_view": gettext_lazy("Saved views"),
    "signin": gettext_lazy("Sign-in settings"),
    "webhook": gettext_lazy("Webhooks"),
}


def action_choices(actions: list[str]) -> list[tuple[str, Any]]:
    """Choices for the action picker: one group per area prefix ("mak_key"), named in words and
    led by "all of the area" (value "mak_key.", a prefix), then each action as recorded."""
    groups: dict[str, list[str]] = {}
    for action in sorted(set(actions)):
        area = action.split(".", 1)[0]
        groups.setdefault(area, []).append(action)
    choices: list[tuple[str, Any]] = [("", _("Any action"))]
    for area, names in groups.items():
        label = str(AREA_LABELS.get(area, area))
        every = _("All actions: %(area)s") % {"area": label}
        options = [(f"{area}.", every)] if len(names) > 1 else []
        options += [(name, name) for name in names]
        choices.append((label, options))
    return choices


# Actions whose two-item lists are [before, after] pairs (the services' convention for updates);
# elsewhere a two-item list is a value (e.g. a sign-in's methods).
_PAIR_SUFFIXES = ("update", "_changed", "state_change", "dns_settings", ".retire")


def stores_before_after(action: str) -> bool:
    return action.endswith(_PAIR_SUFFIXES)


def display(value: Any) -> str:
    """A stored value in words: empty for None, yes/no, lists joined, mappings as JSON."""
    import json

    if value is None or value == "":
        return _("(empty)")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        if all(not isinstance(v, list | tuple | dict) for v in value):
            return ", ".join(display(v) for v in value) if value else _("(none)")
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def change_rows(event: AuditEvent) -> list[dict[str, Any]]:
    """The entry's `changes` as table rows: {"field", "before", "after", "changed"} when the
    entry stores before/after, else {"field", "value"}. Values are what was stored (masked at
    write time; secrets are never stored)."""
    changes = event.changes if isinstance(event.changes, dict) else {"value": event.changes}
    pairs = stores_before_after(event.action)
    rows: list[dict[str, Any]] = []
    for field, value in changes.items():
        # The field as recorded (`at_risk_days`): an identifier, the same in every language.
        label = str(field)
        if pairs and isinstance(value, list) and len(value) == 2:
            rows.append(
                {
                    "field": label,
                    "before": display(value[0]),
                    "after": display(value[1]),
                    "pair": True,
                    "changed": value[0] != value[1],
                }
            )
        else:
            rows.append({"field": label, "value": display(value), "pair": False})
    return rows


def change_summary(event: AuditEvent) -> str:
    """The entry's changes on one line, for the log's list: "field: value" or
    "field: before → after", joined by " · " (the detail page has them as a table); empty
    when the entry records no changes."""
    if not event.changes:
        return ""
    return " · ".join(
        f"{row['field']}: {row['before']} → {row['after']}"
        if row["pair"]
        else f"{row['field']}: {row['value']}"
        for row in change_rows(event)
    )


# Object pages an entry can link to (object_type is the model's name, as record() stores it).
OBJECT_PAGES = {
    "client": "licensing:client_detail",
    "makpool": "licensing:pool_detail",
    "kmshost": "licensing:host_detail",
    "agreement": "licensing:agreement_detail",
}


def object_url(entry: AuditEvent) -> str | None:
    from django.urls import NoReverseMatch, reverse

    name = OBJECT_PAGES.get(entry.object_type)
    if name is None or not entry.object_id.isdigit():
        return None
    try:
        return reverse(name, args=[int(entry.object_id)])
    except NoReverseMatch:
        return None


def history_url(organisation: Any, object_type: str, object_id: Any) -> str:
    """The audit log filtered to one object: the "History" link of an object page."""
    from urllib.parse import urlencode

    from django.urls import reverse

    slug = getattr(organisation, "slug", organisation)
    query = urlencode({"organisation": slug, "object_type": object_type, "object_id": object_id})
    return f"{reverse('licensing:audit_list')}?{query}"
