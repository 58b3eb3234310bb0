from typing import Any

from rest_framework.throttling import UserRateThrottle

from licensing.models import ApiToken


class TokenAwareUserThrottle(UserRateThrottle):
    """Throttle per token when a token is used (agents share no user), else per user."""

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if isinstance(request.auth, ApiToken):
            return self.cache_format % {"scope": self.scope, "ident": f"token-{request.auth.pk}"}
        return super().get_cache_key(request, view)


class IngestThrottle(TokenAwareUserThrottle):
    scope = "ingest"


class ReportThrottle(TokenAwareUserThrottle):
    scope = "report"
