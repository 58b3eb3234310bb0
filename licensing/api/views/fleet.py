"""API of the fleet area: the caller's organisations, the shared edition catalogue, clients."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import mixins, viewsets

from licensing.api.serializers.fleet import (
    ClientSerializer,
    EditionSerializer,
    OrganisationSerializer,
)
from licensing.api.views.base import OrganisationScopedViewSet
from licensing.filters import ClientFilterSet
from licensing.models import Client, Edition, Organisation
from licensing.scoping import organisations_with_role, request_token


class OrganisationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The organisations the caller belongs to (a token's own only): where the slugs come from."""

    serializer_class = OrganisationSerializer
    filterset_fields: list[str] = []

    def get_queryset(self) -> QuerySet[Organisation]:
        # With the caller's role read in the same query: one statement, not one per row.
        queryset = organisations_with_role(self.request.user)
        token = request_token(self.request)
        return queryset.filter(pk=token.organisation_id) if token is not None else queryset


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
            Client.objects.select_related("organisation", "edition", "kms_host", "mak_key").only(
                *CLIENT_API_COLUMNS
            )
        )


# What ClientSerializer reads, and nothing more: each related row gives the one column it is
# shown by (a KMS host's row carries its encrypted key, an organisation's all its settings).
CLIENT_API_COLUMNS = (
    *(f for f in ClientSerializer.Meta.fields if f not in ("license_status_name", "mak_key_last5")),
    "organisation__slug",
    "edition__name",
    "kms_host__fqdn",
    "mak_key__last5",
)
