from collections.abc import Callable
from functools import partial

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from licensing.scoping import organisation_or_none


def attach_organisation(request: HttpRequest) -> None:
    """Set `request.organisation` (lazily) from the one resolver, so the header, the switcher
    and the page agree, `?organisation=` included; None where the resolver would answer 404."""
    request.organisation = SimpleLazyObject(partial(organisation_or_none, request))  # type: ignore[attr-defined]


class CurrentOrganisationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        attach_organisation(request)
        return self.get_response(request)
