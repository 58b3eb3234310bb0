from typing import Any

from django.http import HttpRequest

from licensing import policy
from licensing.models import Organisation


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    organisation = getattr(request, "organisation", None)
    org = organisation if organisation else None
    return {
        "current_organisation": org,
        "my_organisations": Organisation.objects.for_user(user).only("id", "name", "slug"),
        "current_role": policy.role_of(user, org) if org else None,
        "can": policy.actions_for(user, org) if org else {},
    }
