"""View and API helpers that always scope by organisation before looking anything up."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from licensing import policy
from licensing.models import Organisation

M = TypeVar("M", bound=Model)


def current_organisation(request: HttpRequest) -> Organisation:
    """The organisation a page works in; 404 for a user with none."""
    org = getattr(request, "organisation", None)
    if not org:
        raise Http404("You do not belong to any organisation yet. Ask an administrator to add you.")
    return org  # type: ignore[return-value]


def organisation_of(obj: Any) -> Any:
    if isinstance(obj, Organisation):
        return obj
    for path in ("organisation", "pool", "key", "host"):
        if hasattr(obj, path):
            return organisation_of(getattr(obj, path))
    raise TypeError(f"{type(obj).__name__} has no organisation")


def get_scoped_or_404(
    request: HttpRequest, queryset: QuerySet[M], action: policy.Action | None = None, **lookup: Any
) -> M:
    """Fetch an object the user may see: 404 for anyone outside its organisation (no hint that
    it exists), 403 for a member whose role does not allow `action`."""
    obj = queryset.for_user(request.user).filter(**lookup).first()  # type: ignore[attr-defined]
    if obj is None:
        raise Http404("Not found.")
    if action is not None:
        policy.require(request.user, action, organisation_of(obj))
    return obj


def scoped_list(
    request: HttpRequest, queryset: QuerySet[M], action: policy.Action = policy.Action.VIEW
) -> QuerySet[M]:
    """Rows of the current organisation only, after checking the user's role allows `action`."""
    org = current_organisation(request)
    policy.require(request.user, action, org)
    return queryset.for_organisation(org)  # type: ignore[attr-defined]
