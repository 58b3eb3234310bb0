"""API permissions for agent and reporter tokens (people are checked by licensing.policy)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from licensing.api.authentication import TokenPrincipal
from licensing.models import ApiToken, TokenScope


class PeopleOnly(BasePermission):
    message = "Agent and reporter tokens can only post; they cannot read."

    def has_permission(self, request: Request, view: Any) -> bool:
        return not isinstance(request.user, TokenPrincipal)


class IsReporterToken(BasePermission):
    message = "Only a KMS host reporter token can post status reports."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        return isinstance(token, ApiToken) and token.scope == TokenScope.REPORTER
