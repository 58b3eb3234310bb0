"""API of offline (proxy) activation: the queue, and recording a Confirmation ID."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from licensing.api.permissions import TokenScopeAllowed
from licensing.api.serializers.offline import (
    ConfirmationResponseSerializer,
    ConfirmationSerializer,
    OfflineActivationSerializer,
)
from licensing.api.views.base import OrganisationScopedViewSet
from licensing.filters import OfflineActivationFilterSet
from licensing.models import OfflineActivation
from licensing.services.offline import activation as offline


class OfflineActivationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScopedViewSet
):
    """Products waiting for a Confirmation ID (and those done). POST `{id}/confirm/` records
    the Confirmation ID: one activation of the MAK key is used; the answer carries the command
    to run on the client."""

    serializer_class = OfflineActivationSerializer
    filterset_class = OfflineActivationFilterSet
    permission_classes = [IsAuthenticated, TokenScopeAllowed]

    def get_queryset(self) -> QuerySet[OfflineActivation]:
        return self.scope(OfflineActivation.objects.select_related("client", "mak_key"))

    @extend_schema(request=ConfirmationSerializer, responses=ConfirmationResponseSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Any, pk: Any = None) -> Response:
        data = self.validated(ConfirmationSerializer)
        item, warning = offline.record_confirmation(
            actor=request.user,
            item=self.get_object(),
            confirmation_id=data["confirmation_id"],
            ip_address=self.ip(),
        )
        body = OfflineActivationSerializer(item).data
        if warning:
            body["warning"] = warning
        return Response(body)
