"""The base of every tenant-owned API viewset."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound

from licensing.scoping import request_token, resolve_organisation
from licensing.services import audit


def body_slug(request: Any) -> Any:
    """The `organisation` field of a JSON or form body (None for a list or raw text body)."""
    data = request.data
    return data.get("organisation") if isinstance(data, dict) else None


class OrganisationScopedViewSet(viewsets.GenericViewSet):
    """Scope first, then look anything up. A list, and any request naming `?organisation=`,
    shows the rows of the organisation `resolve_organisation` picks (404 for one the caller
    does not belong to); an object named by id is found among the caller's organisations (a
    token's only), else 404."""

    def scope(self, queryset: QuerySet) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request user
            return queryset.none()
        # for_user() first: an agent or reporter token (a member of nothing) reads no rows.
        queryset = queryset.for_user(self.request.user)  # type: ignore[attr-defined]
        if self.action == "list" or "organisation" in self.request.query_params:
            return queryset.for_organisation(resolve_organisation(self.request))
        token = request_token(self.request)
        return queryset.for_organisation(token.organisation_id) if token is not None else queryset

    def scoped_get(self, queryset: QuerySet, pk: Any) -> Any:
        """An object of the caller's organisations (and token's) named in a body, else 404."""
        try:
            obj = self.scope(queryset).filter(pk=int(pk)).first()
        except (TypeError, ValueError):
            obj = None
        if obj is None:
            raise NotFound("Not found.")
        return obj

    def validated(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def ip(self) -> str | None:
        return audit.client_ip(self.request)


@csrf_exempt  # nothing happens here: a 404, never the CSRF failure page
def not_found(request: Any, *args: Any, **kwargs: Any) -> JsonResponse:
    """A path under /api/v1/ that names no operation."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
