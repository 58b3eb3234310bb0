"""API of the licences area.

- /api/v1/agreements/          list, create; {id}/ retrieve, partial update, delete
- /api/v1/entitlements/        list (?agreement=), create; {id}/ retrieve, partial update, delete
- /api/v1/licence-position/    the organisation's licence position, one row per edition
  (?product=, ?version=, ?short=true), read only
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from licensing import policy
from licensing.api.serializers.licences import (
    AgreementSerializer,
    AgreementWriteSerializer,
    EntitlementSerializer,
    EntitlementWriteSerializer,
    LicencePositionSerializer,
)
from licensing.api.views.base import OrganisationScopedViewSet
from licensing.filters import LicencePositionFilterSet
from licensing.models import Agreement, Entitlement, LicencePosition
from licensing.scoping import resolve_organisation
from licensing.services.licences import agreements


class AgreementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScopedViewSet):
    serializer_class = AgreementSerializer
    filterset_fields = ["programme"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Agreement]:
        return self.scope(Agreement.objects.select_related("organisation"))

    @extend_schema(request=AgreementWriteSerializer, responses=AgreementSerializer)
    def create(self, request: Any) -> Response:
        data = dict(self.validated(AgreementWriteSerializer))
        org = resolve_organisation(request, slug=data.pop("organisation", None))
        agreement = agreements.create_agreement(
            actor=request.user, organisation=org, ip_address=self.ip(), **data
        )
        return Response(AgreementSerializer(agreement).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AgreementWriteSerializer, responses=AgreementSerializer)
    def partial_update(self, request: Any, pk: Any = None) -> Response:
        agreement = self.get_object()
        serializer = AgreementWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("organisation", None)
        agreement = agreements.update_agreement(
            actor=request.user, agreement=agreement, ip_address=self.ip(), **data
        )
        return Response(AgreementSerializer(agreement).data)

    def destroy(self, request: Any, pk: Any = None) -> Response:
        agreements.delete_agreement(
            actor=request.user, agreement=self.get_object(), ip_address=self.ip()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class EntitlementViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScopedViewSet
):
    serializer_class = EntitlementSerializer
    filterset_fields = ["agreement", "edition"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Entitlement]:
        return self.scope(Entitlement.objects.select_related("edition", "agreement"))

    @extend_schema(request=EntitlementWriteSerializer, responses=EntitlementSerializer)
    def create(self, request: Any) -> Response:
        data = dict(self.validated(EntitlementWriteSerializer))
        agreement = self.scoped_get(Agreement.objects.all(), data.pop("agreement"))
        line = agreements.add_entitlement(
            actor=request.user, agreement=agreement, ip_address=self.ip(), **data
        )
        return Response(EntitlementSerializer(line).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EntitlementWriteSerializer, responses=EntitlementSerializer)
    def partial_update(self, request: Any, pk: Any = None) -> Response:
        line = self.get_object()
        serializer = EntitlementWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("agreement", None)  # a line stays under its agreement
        line = agreements.update_entitlement(
            actor=request.user, entitlement=line, ip_address=self.ip(), **data
        )
        return Response(EntitlementSerializer(line).data)

    def destroy(self, request: Any, pk: Any = None) -> Response:
        agreements.delete_entitlement(
            actor=request.user, entitlement=self.get_object(), ip_address=self.ip()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class LicencePositionViewSet(mixins.ListModelMixin, OrganisationScopedViewSet):
    """Per edition: installed, licences, covered (downgrade rights applied), surplus, shortfall."""

    serializer_class = LicencePositionSerializer
    filterset_class = LicencePositionFilterSet

    def get_queryset(self) -> QuerySet[LicencePosition]:
        if not getattr(self, "swagger_fake_view", False):
            resolve_organisation(self.request, policy.Action.VIEW)
        return self.scope(LicencePosition.objects.select_related("organisation", "edition"))
