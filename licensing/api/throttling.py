from typing import Any

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from licensing.models import ApiToken
from licensing.services.audit import client_ip


class ClientAddressMixin:
    """DRF's own get_ident believes any X-Forwarded-For; use the one client address instead
    (X-Forwarded-For only through settings.TRUSTED_PROXIES)."""

    def get_ident(self, request: Any) -> str:
        return client_ip(request) or ""


class AnonThrottle(ClientAddressMixin, AnonRateThrottle):
    pass


class TokenAwareUserThrottle(ClientAddressMixin, UserRateThrottle):
    """Throttle per token when a token is used (agents share no user), else per user."""

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if isinstance(request.auth, ApiToken):
            return self.cache_format % {"scope": self.scope, "ident": f"token-{request.auth.pk}"}
        return super().get_cache_key(request, view)


class IngestThrottle(TokenAwareUserThrottle):
    scope = "ingest"


class ReportThrottle(TokenAwareUserThrottle):
    scope = "report"
