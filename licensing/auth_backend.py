"""Django permission backend over `licensing.policy`, so `user.has_perm("licensing.manage_keys", obj)`
works in the admin and in code that only knows Django's API."""

from typing import Any

from licensing import policy


class PolicyBackend:
    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        app, _, action = perm.partition(".")
        if app != "licensing" or obj is None or action not in policy.Action.__members__.values():
            return False
        organisation = (
            obj if obj.__class__.__name__ == "Organisation" else getattr(obj, "organisation", None)
        )
        return policy.allowed(user_obj, action, organisation)
