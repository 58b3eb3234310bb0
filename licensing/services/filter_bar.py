"""The client list's filter bar, cached as HTML.

Drawing the bar's thirteen fields costs about a third of a client list page: three queries for
the options of its selects (editions, the organisation's KMS hosts and MAK pools) and a widget
template per field. The HTML is a function of the organisation, the page language, the query
string and those options, so `client_list.html` caches it (`{% cache %}`) under a key made of
exactly these (`FilterBarCache.key`), for `SECONDS`; a filter with errors is drawn live.

The options are versioned: creating, deleting or renaming an edition, a KMS host or a MAK pool
sets a new version (at once and again at commit, so a page drawn from the old rows in between
is dropped too), and every cached bar is left behind. Polls, counts and other updates of those
rows that leave the options as they were (`save(update_fields=...)` without a labelled field)
keep the cache. Queryset `update()` and `bulk_create()` send no signal: none of the portal's
writes of these fields uses them, and `SECONDS` bounds what another path could leave stale.

With Redis down (portal/cache.py) every read misses: the version is a new random one and the
bar is drawn live, as before the cache.
"""

from __future__ import annotations

import uuid
from functools import cached_property
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.translation import get_language

from licensing.models import Edition, KmsHost, MakPool, Organisation

SECONDS = 300
VERSION_KEY = "client-filter-bar:version"

# The fields the options show or are chosen by, per model: any other update keeps the cache.
OPTION_FIELDS: dict[type, frozenset[str]] = {
    Edition: frozenset({"name"}),
    KmsHost: frozenset({"fqdn", "organisation", "organisation_id"}),
    MakPool: frozenset({"edition", "edition_id", "organisation", "organisation_id"}),
}

# What the bar shows besides the filters' own parameters. The cursor and the search box (drawn
# outside the bar) are left out: paging and searching share the bar of the same filters.
_SHOWN_PARAMETERS = frozenset({"per_page", "sort"})


def options_version() -> str:
    """The current version of the selects' options (a new random one if Redis is down)."""
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY)
    return version or uuid.uuid4().hex


def _new_version() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def options_changed() -> None:
    """Leave every cached bar behind: now, and again when the transaction commits."""
    _new_version()
    transaction.on_commit(_new_version)


class FilterBarCache:
    """What `{% cache filter_bar.seconds client_filter_bar filter_bar.key %}` varies on. The key
    is read only when the whole page is drawn (an htmx swap of the results never asks).

    Only parameters the bar shows are in the key, and a filter with errors is drawn live and
    not stored (`seconds` 0): made-up parameters or values cannot fill the cache."""

    def __init__(
        self, request: HttpRequest, organisation: Organisation, filterset: Any, filtered: bool
    ) -> None:
        self._request = request
        self._organisation = organisation
        self._filterset = filterset
        self._filtered = filtered  # the panel stays open on a filtered list

    @cached_property
    def seconds(self) -> int:
        return 0 if self._filterset.errors else SECONDS

    @cached_property
    def key(self) -> str:
        filters = tuple(name for name in self._filterset.filters if name != "q")
        query = sorted(
            (name, value)
            for name, values in self._request.GET.lists()
            if name in _SHOWN_PARAMETERS or name.startswith(filters)
            for value in values
        )
        return repr(
            (options_version(), get_language(), self._organisation.pk, self._filtered, query)
        )


def _changes_options(sender: type, update_fields: Any) -> bool:
    return update_fields is None or not OPTION_FIELDS[sender].isdisjoint(update_fields)


@receiver(post_save, sender=Edition, dispatch_uid="filter-bar-edition-saved")
@receiver(post_save, sender=KmsHost, dispatch_uid="filter-bar-kms-host-saved")
@receiver(post_save, sender=MakPool, dispatch_uid="filter-bar-mak-pool-saved")
def _saved(sender: type, update_fields: Any = None, **kwargs: Any) -> None:
    if _changes_options(sender, update_fields):
        options_changed()


@receiver(post_delete, sender=Edition, dispatch_uid="filter-bar-edition-deleted")
@receiver(post_delete, sender=KmsHost, dispatch_uid="filter-bar-kms-host-deleted")
@receiver(post_delete, sender=MakPool, dispatch_uid="filter-bar-mak-pool-deleted")
def _deleted(sender: type, **kwargs: Any) -> None:
    options_changed()
