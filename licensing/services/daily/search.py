"""The header's one search box: a hostname or FQDN prefix, a CMID (whole, or a prefix of 8+
hex characters), a key's last five characters, a KMS host name prefix, a request number.
Results are grouped by kind and scoped to the caller's organisations; each group is capped, and
each lookup is an indexed equality, prefix or range (a CMID prefix is a range of UUIDs; it needs
8 characters so that it names few clients)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from licensing.models import ActivationRequest, Client, KmsHost, MakKey, Organisation

LIMIT = 10
_HEX_PREFIX = re.compile(r"[0-9a-f-]{8,36}")
_LAST5 = re.compile(r"[A-Za-z0-9]{5}")


@dataclass
class SearchResults:
    query: str
    clients: list[Client] = field(default_factory=list)
    hosts: list[KmsHost] = field(default_factory=list)
    keys: list[MakKey] = field(default_factory=list)
    requests: list[ActivationRequest] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.clients or self.hosts or self.keys or self.requests)


def _cmid_range(prefix: str) -> Q | None:
    """CMIDs that start with `prefix` (8+ characters of the text form) as a range of UUIDs, which
    the (organisation, cmid) index serves: a UUID sorts as its hexadecimal digits. None when the
    prefix cannot start a CMID."""
    if not _HEX_PREFIX.fullmatch(prefix):
        return None
    digits = prefix.replace("-", "")
    if len(digits) > 32:  # longer than any CMID
        return None
    low = uuid.UUID(digits.ljust(32, "0"))
    if str(low)[: len(prefix)] != prefix:  # a dash where the text form has none
        return None
    return Q(cmid__gte=low, cmid__lte=uuid.UUID(digits.ljust(32, "f")))


def search(user: Any, raw: str) -> SearchResults:
    q = (raw or "").strip()[:253].replace("\x00", "")
    result = SearchResults(query=q)
    if not q:
        return result
    lowered = q.lower()
    clients = Client.objects.for_user(user)
    try:
        match = Q(cmid=uuid.UUID(q))
    except ValueError:
        match = clients.name_match(q)
        if (cmid := _cmid_range(lowered)) is not None:
            match |= cmid
    first = clients.first_by_hostname(match, Organisation.objects.for_user(user), LIMIT)
    result.clients = list(
        clients.filter(pk__in=first)
        .select_related("organisation", "edition")
        .order_by("hostname", "id")[:LIMIT]
    )
    result.hosts = list(
        KmsHost.objects.for_user(user)
        .select_related("organisation")
        .filter(fqdn__startswith=lowered)
        .order_by("fqdn")[:LIMIT]
    )
    if _LAST5.fullmatch(q):
        result.keys = list(
            MakKey.objects.for_user(user)
            .select_related("pool__edition", "pool__organisation")
            .filter(last5=q.upper())
            .order_by("id")[:LIMIT]
        )
    number = q.lstrip("#")
    if number.isascii() and number.isdigit() and len(number) <= 9:
        result.requests = list(
            ActivationRequest.objects.for_user(user)
            .select_related("pool__edition", "pool__organisation")
            .filter(pk=int(number))[:1]
        )
    return result
