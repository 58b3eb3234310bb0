from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, viewsets

from licensing.api.serializers import ClientSerializer, EditionSerializer, OrganisationSerializer
from licensing.filters import ClientFilterSet
from licensing.models import ApiToken, Client, Edition, Organisation


def token_organisation_id(request: Any) -> int | None:
    """A token is bound to one organisation; a browser session sees all of the user's."""
    return request.auth.organisation_id if isinstance(request.auth, ApiToken) else None


class OrganisationScopedViewSet(viewsets.GenericViewSet):
    """Base for every tenant-owned resource: scope first, then look anything up (404 outside)."""

    def scope(self, queryset: QuerySet) -> QuerySet:
        queryset = queryset.for_user(self.request.user)  # type: ignore[attr-defined]
        org_id = token_organisation_id(self.request)
        if org_id is not None:
            queryset = queryset.for_organisation(org_id)
        return queryset


class OrganisationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScopedViewSet
):
    serializer_class = OrganisationSerializer
    filterset_fields: list[str] = []

    def get_queryset(self) -> QuerySet[Organisation]:
        queryset = Organisation.objects.for_user(self.request.user)
        org_id = token_organisation_id(self.request)
        return queryset.filter(pk=org_id) if org_id is not None else queryset


class EditionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The edition catalogue is shared by all organisations (GVLKs are public)."""

    serializer_class = EditionSerializer
    queryset = Edition.objects.all()
    filterset_fields = ["version", "product"]


class ClientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScopedViewSet):
    serializer_class = ClientSerializer
    filterset_class = ClientFilterSet

    def get_queryset(self) -> QuerySet[Client]:
        return self.scope(
            Client.objects.select_related("organisation", "edition", "kms_host", "mak_key")
        )
