"""Which organisation a request acts on, and lookups scoped to it.

The one rule, for pages, CSV exports, the API and ingest (`resolve_organisation`):

1. An explicit organisation (the query `?organisation=<slug>`, an `organisation` body field,
   or a token) must be one the caller belongs to, or the answer is 404 (no hint that it
   exists). A query slug and a body slug that disagree are a 404 too.
2. A token acts in its own organisation only: a token plus another organisation's slug is 404,
   never silently ignored.
3. Otherwise the session's current organisation: the one picked in the switcher while the user
   still belongs to it, else the user's first organisation by name. A user with none gets 404.

A superuser may name `?organisation=all` (the answer is None: every organisation) where the
caller allows it (`allow_all=True`, the client CSV); never with a token.

`CurrentOrganisationMiddleware` sets `request.organisation` from the same function (None where
it would be a 404), so the header, the switcher and the page always show the same organisation.
Objects named by id (`/clients/5/`, `{"pool": 7}`) carry their own organisation: they are looked
up among the caller's organisations (a token's only) with `get_scoped_or_404`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar, overload

from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.utils.functional import SimpleLazyObject

from licensing import policy
from licensing.models import ApiToken, Organisation

M = TypeVar("M", bound=Model)

SESSION_KEY = "current_organisation_id"
ALL_ORGANISATIONS = "all"
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")  # Organisation.slug (a NUL byte would fail the query)
_NO_ORGANISATION = "You do not belong to any organisation yet. Ask an administrator to add you."


def request_token(request: Any) -> ApiToken | None:
    """The API token a request authenticated with: DRF's `request.auth`, or the token an
    export URL accepted (`views.exports.token_aware`). None for a browser session."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiToken):
        return auth
    return getattr(request, "export_token", None)


def _named_slugs(request: Any, slug: Any) -> frozenset[str]:
    query = request.GET.get("organisation") if hasattr(request, "GET") else None
    return frozenset(str(s).strip() for s in (slug, query) if s is not None and str(s).strip())


# The header's switcher lists up to this many organisations; a user in more gets a link to the
# chooser page instead (a select of 1,000 organisations added 35 KB and 13-15 ms to every page).
SWITCHER_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Memberships:
    """A member's organisations, each with the member's role (`caller_role`), in name order: at
    most SWITCHER_LIMIT + 1, read in one query once per request. The page's organisation, the
    header's switcher and the two-factor check answer from it; `complete` is False for a member
    of more, and then they query as before."""

    organisations: list[Organisation]

    @property
    def complete(self) -> bool:
        return len(self.organisations) <= SWITCHER_LIMIT

    def find(self, *, pk: Any = None, slug: str | None = None) -> Organisation | None:
        for org in self.organisations:
            if (slug is not None and org.slug == slug) or (
                pk is not None and str(org.pk) == str(pk)
            ):
                return org
        return None


def memberships(request: Any) -> Memberships | None:
    """The signed-in user's `Memberships`, memoised on the request; None for a superuser (who
    sees every organisation, members or not) and for anyone not signed in and active."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active or user.is_superuser:
        return None
    memo = getattr(request, "_request", request).__dict__
    if "_portal_memberships" not in memo:
        mine = organisations_with_role(user).order_by("name", "id")[: SWITCHER_LIMIT + 1]
        memo["_portal_memberships"] = Memberships(list(mine))
    return memo["_portal_memberships"]


def session_organisation(request: Any) -> Organisation | None:
    """The organisation picked in the switcher while the user still belongs to it, otherwise
    the user's first organisation by name; None for a user with none."""
    user = request.user
    if not user.is_authenticated:
        return None
    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    mine = memberships(request)
    if mine is not None and mine.complete:
        org = mine.find(pk=chosen) if chosen is not None else None
        return _primed(org or next(iter(mine.organisations), None), user)
    visible = organisations_with_role(user)
    if chosen is not None:
        org = _primed(visible.filter(pk=chosen).first(), user)
        if org is not None:
            return org
    return _primed(visible.order_by("name").first(), user)


def organisations_with_role(user: Any) -> QuerySet:
    """The user's organisations, each with the user's role read in the same query (every page
    asks both; the API's organisation list asks it of each row); `_primed` and the API's
    serializer hand the role to `policy.role_of`."""
    return Organisation.objects.with_role(user)


def _primed(org: Organisation | None, user: Any) -> Organisation | None:
    if org is not None:
        policy.remember_role(user, org.pk, org.caller_role)  # type: ignore[attr-defined]
    return org


def _resolve(request: Any, named: frozenset[str], token: ApiToken | None) -> Organisation | None:
    if len(named) > 1:
        return None
    if token is not None:
        org = token.organisation
        return org if not named or named == {org.slug} else None
    if named:
        (slug,) = named
        if not _SLUG.fullmatch(slug):
            return None
        mine = memberships(request)
        if mine is not None and mine.complete:
            return _primed(mine.find(slug=slug), request.user)
        org = organisations_with_role(request.user).filter(slug=slug).first()
        return _primed(org, request.user)
    return session_organisation(request)


@overload
def resolve_organisation(
    request: Any,
    action: policy.Action | None = ...,
    *,
    slug: Any = ...,
    allow_all: Literal[False] = ...,
) -> Organisation: ...
@overload
def resolve_organisation(
    request: Any, action: policy.Action | None = ..., *, slug: Any = ..., allow_all: bool
) -> Organisation | None: ...
def resolve_organisation(
    request: Any,
    action: policy.Action | None = None,
    *,
    slug: Any = None,
    allow_all: bool = False,
) -> Organisation | None:
    """The organisation this request acts on, by the rule in the module docstring: 404 when it
    names one the caller does not belong to (or none can be found), then 403 when the caller's
    role there does not allow `action`. `slug` is the `organisation` field of a request body."""
    token = request_token(request)
    named = _named_slugs(request, slug)
    if allow_all and named == {ALL_ORGANISATIONS} and token is None and request.user.is_superuser:
        return None
    # Memoised per request, so the page and the header (middleware) cost one lookup together.
    memo = getattr(request, "_request", request).__dict__.setdefault("_organisation_memo", {})
    key = (getattr(request.user, "pk", None), token.pk if token is not None else None, named)
    if key not in memo:
        memo[key] = _resolve(request, named, token)
    org = memo[key]
    if org is None:
        raise Http404(_NO_ORGANISATION if not named and token is None else "Not found.")
    if action is not None:
        policy.require(request.user, action, org)
    return org


def organisation_or_none(request: HttpRequest) -> Organisation | None:
    """`resolve_organisation` for the header: None instead of a 404."""
    try:
        return resolve_organisation(request)
    except Http404:
        return None


def attach_organisation(request: HttpRequest) -> None:
    """Set `request.organisation` (lazily) from the one resolver, so the header, the switcher
    and the page agree, `?organisation=` included; None where the resolver would answer 404."""
    request.organisation = SimpleLazyObject(partial(organisation_or_none, request))  # type: ignore[attr-defined]


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
    """Rows of the request's organisation only, after checking the user's role allows `action`."""
    org = resolve_organisation(request, action)
    return queryset.for_organisation(org)  # type: ignore[attr-defined]
