"""API of the MAK area: pools (with forecast), keys (masked, never the key), the activation
ledger and extra-activation requests with approve/reject/cancel/grant actions.

Every write calls the same service as the pages, so the rules are the same: the services check
the role (403), the scoped querysets hide other organisations (404).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from licensing.api.serializers.mak import (
    ActivationRequestCreateSerializer,
    ActivationRequestSerializer,
    BlockSerializer,
    DecisionSerializer,
    GrantSerializer,
    MakActivationCreateSerializer,
    MakActivationSerializer,
    MakKeyCreateSerializer,
    MakKeyImportSerializer,
    MakKeySerializer,
    MakPoolCreateSerializer,
    MakPoolSerializer,
    MakPoolUpdateSerializer,
    MicrosoftRemainingSerializer,
    RejectSerializer,
)
from licensing.api.views.base import OrganisationScopedViewSet
from licensing.filters import ActivationRequestFilterSet, MakActivationFilterSet, MakKeyFilterSet
from licensing.models import ActivationRequest, Client, MakActivation, MakKey, MakPool
from licensing.scoping import resolve_organisation
from licensing.services.mak import allocation, vault
from licensing.services.mak import requests as mak_requests
from licensing.services.mak.forecast import forecast_pools


class MakPoolViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScopedViewSet):
    """MAK pools with their forecast (remaining, burn rate, run-out date)."""

    serializer_class = MakPoolSerializer
    filterset_fields = ["edition"]

    def get_queryset(self) -> QuerySet[MakPool]:
        return self.scope(MakPool.objects.select_related("organisation", "edition"))

    def _with_forecasts(self, pools: list[MakPool]) -> dict[int, Any]:
        ids = [p.pk for p in pools]
        return {f.pool.pk: f for f in forecast_pools(MakPool.objects.filter(pk__in=ids))}

    def list(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        context = self.get_serializer_context() | {"forecasts": self._with_forecasts(rows)}
        data = MakPoolSerializer(rows, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        pool = self.get_object()
        context = self.get_serializer_context() | {"forecasts": self._with_forecasts([pool])}
        return Response(MakPoolSerializer(pool, context=context).data)

    @extend_schema(request=MakPoolCreateSerializer, responses=MakPoolSerializer)
    def create(self, request: Any) -> Response:
        data = self.validated(MakPoolCreateSerializer)
        pool = vault.create_pool(
            actor=request.user,
            organisation=resolve_organisation(request, slug=data.get("organisation")),
            edition=data["edition"],
            agreement_number=data.get("agreement_number", ""),
            low_water_mark=data.get("low_water_mark", 10),
            ip_address=self.ip(),
        )
        context = self.get_serializer_context() | {"forecasts": self._with_forecasts([pool])}
        return Response(
            MakPoolSerializer(pool, context=context).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=MakPoolUpdateSerializer, responses=MakPoolSerializer)
    def partial_update(self, request: Any, pk: Any = None) -> Response:
        pool = self.get_object()
        data = self.validated(MakPoolUpdateSerializer)
        pool = vault.update_pool(actor=request.user, pool=pool, ip_address=self.ip(), **data)
        return self.retrieve(request, pk=pool.pk)


class MakKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScopedViewSet):
    """MAK keys, masked. Adding takes the key once (write-only); it is never returned."""

    serializer_class = MakKeySerializer
    filterset_class = MakKeyFilterSet

    def get_queryset(self) -> QuerySet[MakKey]:
        return self.scope(MakKey.objects.all())

    @extend_schema(request=MakKeyCreateSerializer, responses=MakKeySerializer)
    def create(self, request: Any) -> Response:
        data = self.validated(MakKeyCreateSerializer)
        pool = self.scoped_get(MakPool.objects.all(), data["pool"])
        key = vault.add_key(
            actor=request.user,
            pool=pool,
            key=data["key"],
            activation_limit=data["activation_limit"],
            activations_used=data.get("activations_used") or 0,
            label=data.get("label", ""),
            ip_address=self.ip(),
        )
        return Response(MakKeySerializer(key).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MakKeyImportSerializer, responses=MakKeySerializer(many=True))
    @action(detail=False, methods=["post"], url_path="import")
    def import_keys(self, request: Any) -> Response:
        """All or nothing: any bad row stores nothing and lists every problem."""
        data = self.validated(MakKeyImportSerializer)
        pool = self.scoped_get(MakPool.objects.all(), data["pool"])
        report = vault.import_keys(
            actor=request.user, pool=pool, csv_text=data["csv"], ip_address=self.ip()
        )
        if not report.ok:
            errors: dict[str, list[str]] = {}
            for row, msg in report.errors:
                errors.setdefault(f"row {row}" if row else "csv", []).append(msg)
            return Response(
                {"detail": "Nothing was imported.", "code": "import_rejected", "errors": errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(MakKeySerializer(report.created, many=True).data, status=201)

    @extend_schema(request=BlockSerializer, responses=MakKeySerializer)
    @action(detail=True, methods=["post"])
    def block(self, request: Any, pk: Any = None) -> Response:
        data = self.validated(BlockSerializer)
        key = vault.block_key(
            actor=request.user, key=self.get_object(), reason=data["reason"], ip_address=self.ip()
        )
        return Response(MakKeySerializer(key).data)

    @extend_schema(request=None, responses=MakKeySerializer)
    @action(detail=True, methods=["post"])
    def unblock(self, request: Any, pk: Any = None) -> Response:
        key = vault.unblock_key(actor=request.user, key=self.get_object(), ip_address=self.ip())
        return Response(MakKeySerializer(key).data)

    @extend_schema(request=MicrosoftRemainingSerializer, responses=MakKeySerializer)
    @action(detail=True, methods=["post"], url_path="microsoft-remaining")
    def microsoft_remaining(self, request: Any, pk: Any = None) -> Response:
        data = self.validated(MicrosoftRemainingSerializer)
        key = vault.set_microsoft_remaining(
            actor=request.user,
            key=self.get_object(),
            remaining=data["remaining"],
            ip_address=self.ip(),
        )
        return Response(MakKeySerializer(key).data)


class MakActivationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScopedViewSet
):
    """The activation ledger. POST records an activation (allocates a key of the client's
    edition pool; 400 with code `pool_exhausted` when none is left)."""

    serializer_class = MakActivationSerializer
    filterset_class = MakActivationFilterSet

    def get_queryset(self) -> QuerySet[MakActivation]:
        return self.scope(MakActivation.objects.select_related("client", "key", "recorded_by"))

    @extend_schema(request=MakActivationCreateSerializer, responses=MakActivationSerializer)
    def create(self, request: Any) -> Response:
        data = self.validated(MakActivationCreateSerializer)
        client = self.scoped_get(Client.objects.all(), data["client"])
        activation = allocation.record_activation(
            actor=request.user,
            client=client,
            reason=data["reason"],
            note=data.get("note", ""),
            activated_at=data.get("activated_at"),
            ip_address=self.ip(),
        )
        activation = self.get_queryset().get(pk=activation.pk)
        return Response(MakActivationSerializer(activation).data, status=status.HTTP_201_CREATED)


class ActivationRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScopedViewSet
):
    """Extra-activation requests. Admins create and cancel their own; managers approve or
    reject (never their own); admins record Microsoft's confirmation."""

    serializer_class = ActivationRequestSerializer
    filterset_class = ActivationRequestFilterSet

    def get_queryset(self) -> QuerySet[ActivationRequest]:
        return self.scope(
            ActivationRequest.objects.select_related("pool__edition", "requested_by", "decided_by")
        )

    def _out(self, req: ActivationRequest, code: int = status.HTTP_200_OK) -> Response:
        return Response(
            ActivationRequestSerializer(self.get_queryset().get(pk=req.pk)).data, status=code
        )

    @extend_schema(request=ActivationRequestCreateSerializer, responses=ActivationRequestSerializer)
    def create(self, request: Any) -> Response:
        data = self.validated(ActivationRequestCreateSerializer)
        pool = self.scoped_get(MakPool.objects.select_related("edition"), data["pool"])
        key = None
        if data.get("key") is not None:
            key = self.scoped_get(MakKey.objects.all(), data["key"])
        req = mak_requests.request_activations(
            actor=request.user,
            pool=pool,
            key=key,
            quantity=data["quantity"],
            justification=data["justification"],
            agreement_number=data.get("agreement_number") or None,
            product_name=data.get("product_name") or None,
            ip_address=self.ip(),
        )
        return self._out(req, status.HTTP_201_CREATED)

    @extend_schema(request=DecisionSerializer, responses=ActivationRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Any, pk: Any = None) -> Response:
        data = self.validated(DecisionSerializer)
        req = mak_requests.approve_request(
            actor=request.user,
            request=self.get_object(),
            note=data.get("note", ""),
            ip_address=self.ip(),
        )
        return self._out(req)

    @extend_schema(request=RejectSerializer, responses=ActivationRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Any, pk: Any = None) -> Response:
        data = self.validated(RejectSerializer)
        req = mak_requests.reject_request(
            actor=request.user,
            request=self.get_object(),
            note=data.get("note", ""),
            ip_address=self.ip(),
        )
        return self._out(req)

    @extend_schema(request=None, responses=ActivationRequestSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Any, pk: Any = None) -> Response:
        req = mak_requests.cancel_request(
            actor=request.user, request=self.get_object(), ip_address=self.ip()
        )
        return self._out(req)

    @extend_schema(request=GrantSerializer, responses=ActivationRequestSerializer)
    @action(detail=True, methods=["post"])
    def grant(self, request: Any, pk: Any = None) -> Response:
        data = self.validated(GrantSerializer)
        req = mak_requests.record_microsoft_grant(
            actor=request.user,
            request=self.get_object(),
            reference=data["reference"],
            ip_address=self.ip(),
        )
        return self._out(req)
