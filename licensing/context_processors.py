from typing import Any

from django.http import HttpRequest
from django.utils.functional import cached_property

from licensing import policy
from licensing.models import Organisation, Role
from licensing.scoping import SWITCHER_LIMIT, memberships


class OrganisationSwitcher:
    """What the header offers for switching organisation: `organisations` for its select, or
    `chooser` (a link to the chooser page) when the user has more than SWITCHER_LIMIT. Read when
    the header is drawn: an htmx fragment has no header and costs no query."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.user = request.user

    @cached_property
    def _first(self) -> list[Organisation]:
        member_of = memberships(self.request)
        if member_of is not None:
            return member_of.organisations  # the same SWITCHER_LIMIT + 1, in the same order
        mine = Organisation.objects.for_user(self.user).only("id", "name", "slug")
        return list(mine.order_by("name", "id")[: SWITCHER_LIMIT + 1])

    @property
    def chooser(self) -> bool:
        return len(self._first) > SWITCHER_LIMIT

    @property
    def organisations(self) -> list[Organisation]:
        return [] if self.chooser else self._first


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    organisation = getattr(request, "organisation", None)
    org = organisation if organisation else None
    can = policy.actions_for(user, org) if org else {}
    pending = 0
    if org and can.get("decide_requests"):
        # The count on the Approvals menu item: one indexed count per page for deciders.
        from licensing.models import ActivationRequest, RequestStatus

        pending = (
            ActivationRequest.objects.for_organisation(org)
            .filter(status=RequestStatus.PENDING)
            .count()
        )
    role = policy.role_of(user, org) if org else None
    return {
        "pending_approvals": pending,
        "current_organisation": org,
        "organisation_switcher": OrganisationSwitcher(request),
        "current_role": role,
        # The badge beside the user name shows the role's label in the page language.
        "current_role_label": Role(role).label if role else None,
        "can": can,
    }
