from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions

from licensing.models import ApiToken, TokenScope
from licensing.services.tokens import authenticate_token


class TokenPrincipal:
    """The request.user of an agent or reporter token: authenticated, but a member of nothing,
    so every `for_user()` query returns no rows and only token-aware endpoints accept it."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_superuser = False
    is_staff = False
    pk = None
    id = None

    def __init__(self, token: ApiToken) -> None:
        self.token = token
        self.username = f"token:{token.prefix}"

    def get_username(self) -> str:
        return self.username

    def has_perm(self, *args: Any, **kwargs: Any) -> bool:
        return False

    def __str__(self) -> str:
        return self.username


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("Bearer", "Token")

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as 'Authorization: Bearer <token>'."
            )
        token = authenticate_token(header[1])
        if token is None:
            raise exceptions.AuthenticationFailed("The token is unknown, revoked or expired.")
        if token.scope == TokenScope.USER:
            if token.user is None or not token.user.is_active:
                raise exceptions.AuthenticationFailed("The token's owner is disabled.")
            return token.user, token
        return TokenPrincipal(token), token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'


try:  # the OpenAPI schema documents the bearer token
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    class ApiTokenScheme(OpenApiAuthenticationExtension):
        target_class = "licensing.api.authentication.ApiTokenAuthentication"
        name = "apiToken"

        def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
            return {
                "type": "http",
                "scheme": "bearer",
                "description": "A portal API token: 'Authorization: Bearer vlp_…'",
            }

except ImportError:  # pragma: no cover
    pass
