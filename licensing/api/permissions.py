"""API permissions for agent and reporter tokens (people are checked by licensing.policy).

The one scope rule: an agent or reporter token reaches only the views that name its scope in
`token_scopes` (agent: the two inventory posts; reporter: its host's status reports) and is
answered 404 everywhere else, as if the endpoint did not exist. Personal tokens and browser
sessions act as their user."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from licensing.api.authentication import TokenPrincipal
from licensing.models import ApiToken, TokenScope


class TokenScopeAllowed(BasePermission):
    """In DEFAULT_PERMISSION_CLASSES (and in every view's own permission_classes)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.user, TokenPrincipal):
            token = request.auth
            if not isinstance(token, ApiToken) or token.scope not in getattr(
                view, "token_scopes", ()
            ):
                raise NotFound("Not found.")
        return True


class IsReporterToken(BasePermission):
    message = "Only a KMS host reporter token can post status reports."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        return isinstance(token, ApiToken) and token.scope == TokenScope.REPORTER
