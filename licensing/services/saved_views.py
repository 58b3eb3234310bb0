"""Saved views of the client list: a user's named filter + sort + page size, private to that
user and one organisation; saving and deleting are audited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.http import QueryDict
from django.utils.translation import gettext as _

from licensing import policy
from licensing.models import Organisation, SavedView
from licensing.services import audit
from licensing.services.errors import InvalidInput

MAX_VIEWS = 50  # per user and organisation


def clean_query(query: str, allowed: Iterable[str]) -> str:
    """The list's query string reduced to what a view is: known filter parameters (and their
    `_after`/`_before` parts), `sort` and `per_page`; no organisation, cursor or empty value."""
    prefixes = tuple(allowed)
    kept = QueryDict(mutable=True)
    for key, values in QueryDict(query).lists():
        if key in ("sort", "per_page") or (key.startswith(prefixes) and key != "organisation"):
            for value in values:
                if value.strip() not in ("", "unknown"):
                    kept.appendlist(key, value.strip())
    return kept.urlencode()


def save_view(
    *, user: Any, organisation: Organisation, name: str, query: str, ip_address: str | None = None
) -> tuple[SavedView, bool]:
    """Create the view, or replace the query of the user's view of that name."""
    policy.require(user, policy.Action.VIEW, organisation)
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(
            _("Give the view a name."), field_errors={"name": [_("Give it a name.")]}
        )
    if len(name) > 80:
        raise InvalidInput(
            _("A view's name is at most 80 characters."), field_errors={"name": [_("Too long.")]}
        )
    if len(query) > 2000:
        raise InvalidInput(_("This filter is too long to save as a view."))
    mine = SavedView.objects.for_organisation(organisation).filter(user=user)
    with transaction.atomic():
        view = mine.select_for_update().filter(name=name).first()
        created = view is None
        if created:
            if mine.count() >= MAX_VIEWS:
                raise InvalidInput(
                    _("You have %(count)s saved views already: delete one first.")
                    % {"count": MAX_VIEWS}
                )
            view = SavedView.objects.create(
                user=user, organisation=organisation, name=name, query=query
            )
        else:
            view.query = query
            view.save(update_fields=["query"])
        audit.record(
            action="saved_view.created" if created else "saved_view.updated",
            actor=user,
            organisation=organisation,
            obj=view,
            changes={"name": name, "query": query},
            ip_address=ip_address,
        )
    return view, created


def delete_view(*, user: Any, view: SavedView, ip_address: str | None = None) -> None:
    with transaction.atomic():
        audit.record(
            action="saved_view.deleted",
            actor=user,
            organisation=view.organisation_id,
            obj=view,
            changes={"name": view.name, "query": view.query},
            ip_address=ip_address,
        )
        view.delete()
