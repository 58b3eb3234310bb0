from typing import Any

from django.http import HttpRequest

from licensing import policy
from licensing.models import Organisation, Role

# The header's switcher lists up to this many organisations; a user in more gets a link to the
# chooser page instead (a select of 1,000 organisations added 35 KB and 13-15 ms to every page).
SWITCHER_LIMIT = 20


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
    mine = list(
        Organisation.objects.for_user(user)
        .only("id", "name", "slug")
        .order_by("name", "id")[: SWITCHER_LIMIT + 1]
    )
    many = len(mine) > SWITCHER_LIMIT
    return {
        "pending_approvals": pending,
        "current_organisation": org,
        "my_organisations": [] if many else mine,
        "choose_organisation": many,
        "current_role": role,
        # The badge beside the user name shows the role's label in the page language.
        "current_role_label": Role(role).label if role else None,
        "can": can,
    }
