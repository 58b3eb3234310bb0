"""The header's one search box: a hostname or FQDN prefix, a CMID (whole, or a prefix of 8+
hex characters), a key's last five characters, a KMS host name prefix, a request number.
Results are grouped by kind and scoped to the caller's organisations; each group is capped, and
each lookup is an indexed equality or prefix match (the CMID prefix scans the caller's clients,
so it needs 8 characters)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from licensing.models import ActivationRequest, Client, KmsHost, MakKey

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


def search(user: Any, raw: str) -> SearchResults:
    q = (raw or "").strip()[:253].replace("\x00", "")
    result = SearchResults(query=q)
    if not q:
        return result
    lowered = q.lower()
    clients = Client.objects.for_user(user).select_related("organisation", "edition")
    try:
        found = clients.filter(cmid=uuid.UUID(q))
    except ValueError:
        found = clients.matching_name(q)
        if _HEX_PREFIX.fullmatch(lowered):
            found = found | clients.filter(cmid__startswith=lowered)
    result.clients = list(found.order_by("hostname", "id")[:LIMIT])
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
