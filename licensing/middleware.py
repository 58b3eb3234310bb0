from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from licensing.models import Organisation

SESSION_KEY = "current_organisation_id"


def _current_organisation(request: HttpRequest) -> Organisation | None:
    """The organisation the user is working in: the one picked in the switcher if the user
    still belongs to it, otherwise their first organisation."""
    user = request.user
    if not user.is_authenticated:
        return None
    visible = Organisation.objects.for_user(user)
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        org = visible.filter(pk=chosen).first()
        if org is not None:
            return org
    return visible.order_by("name").first()


class CurrentOrganisationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.organisation = SimpleLazyObject(lambda: _current_organisation(request))  # type: ignore[attr-defined]
        return self.get_response(request)
