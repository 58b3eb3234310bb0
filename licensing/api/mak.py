"""API of the MAK area: pools (with forecast), keys (masked, never the key), the activation
ledger and extra-activation requests with approve/reject/cancel/grant actions.

Every write calls the same service as the pages, so the rules are the same: the services check
the role (403), the scoped querysets hide other organisations (404).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from licensing.api.views import OrganisationScopedViewSet, token_organisation_id
from licensing.models import (
    MAX_REQUESTED_ACTIVATIONS,
    ActivationReason,
    ActivationRequest,
    Client,
    Edition,
    MakActivation,
    MakKey,
    MakPool,
    Organisation,
)
from licensing.services import audit
from licensing.services.mak import allocation, vault
from licensing.services.mak import requests as mak_requests
from licensing.services.mak.forecast import forecast_pools

# --- serializers -----------------------------------------------------------------------------


class MakPoolSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    edition_name = serializers.CharField(source="edition.name", read_only=True)
    forecast = serializers.SerializerMethodField()

    class Meta:
        model = MakPool
        fields = [
            "id",
            "organisation",
            "edition",
            "edition_name",
            "agreement_number",
            "low_water_mark",
            "low_water_alerted_at",
            "created_at",
            "forecast",
        ]
        read_only_fields = ["id", "organisation", "low_water_alerted_at", "created_at"]

    def get_forecast(self, obj: MakPool) -> dict[str, Any] | None:
        f = self.context.get("forecasts", {}).get(obj.pk)
        if f is None:
            return None
        return {
            "limit": f.limit,
            "used": f.used,
            "remaining": f.remaining,
            "burn_per_day": f.burn_per_day,
            "runs_out_on": f.runs_out_on.isoformat() if f.runs_out_on else None,
            "below_low_water": f.below_low_water,
            "keys": f.key_count,
            "blocked_keys": f.blocked_keys,
            "pending_requests": f.pending_requests,
        }


class MakPoolCreateSerializer(serializers.Serializer):
    edition = serializers.PrimaryKeyRelatedField(queryset=Edition.objects.all())
    agreement_number = serializers.CharField(max_length=60, required=False, allow_blank=True)
    low_water_mark = serializers.IntegerField(required=False, default=10)
    organisation = serializers.SlugField(
        required=False, help_text="Slug; defaults to the token's organisation."
    )


class MakPoolUpdateSerializer(serializers.Serializer):
    agreement_number = serializers.CharField(max_length=60, required=False, allow_blank=True)
    low_water_mark = serializers.IntegerField(required=False)


class MakKeySerializer(serializers.ModelSerializer):
    """Masked only: the key itself is never serialised (write-only on create)."""

    masked = serializers.CharField(read_only=True)
    activations_left = serializers.IntegerField(read_only=True)
    ledger_disagrees = serializers.SerializerMethodField()

    class Meta:
        model = MakKey
        fields = [
            "id",
            "pool",
            "label",
            "last5",
            "masked",
            "activation_limit",
            "activations_used",
            "activations_left",
            "status",
            "blocked_reason",
            "microsoft_remaining",
            "microsoft_remaining_at",
            "ledger_disagrees",
            "created_at",
        ]
        read_only_fields = fields

    def get_ledger_disagrees(self, obj: MakKey) -> bool:
        return vault.ledger_disagrees(obj)


class MakKeyCreateSerializer(serializers.Serializer):
    pool = serializers.IntegerField()
    key = serializers.CharField(write_only=True, max_length=40, trim_whitespace=True)
    activation_limit = serializers.IntegerField()
    activations_used = serializers.IntegerField(required=False, default=0)
    label = serializers.CharField(required=False, allow_blank=True, max_length=120)


class MakKeyImportSerializer(serializers.Serializer):
    pool = serializers.IntegerField()
    csv = serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        help_text="CSV text with a header row: key, activation_limit[, activations_used, label].",
    )


class BlockSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class MicrosoftRemainingSerializer(serializers.Serializer):
    remaining = serializers.IntegerField()


class MakActivationSerializer(serializers.ModelSerializer):
    client_hostname = serializers.CharField(source="client.hostname", read_only=True)
    key_last5 = serializers.CharField(source="key.last5", read_only=True)
    pool = serializers.IntegerField(source="key.pool_id", read_only=True)
    recorded_by = serializers.StringRelatedField()

    class Meta:
        model = MakActivation
        fields = [
            "id",
            "pool",
            "key",
            "key_last5",
            "client",
            "client_hostname",
            "reason",
            "activated_at",
            "recorded_by",
            "note",
        ]
        read_only_fields = fields


class MakActivationCreateSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    reason = serializers.ChoiceField(
        choices=ActivationReason.choices, default=ActivationReason.FIRST_ACTIVATION
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    activated_at = serializers.DateTimeField(required=False)


class ActivationRequestSerializer(serializers.ModelSerializer):
    requested_by = serializers.StringRelatedField()
    decided_by = serializers.StringRelatedField()
    edition_name = serializers.CharField(source="pool.edition.name", read_only=True)

    class Meta:
        model = ActivationRequest
        fields = [
            "id",
            "pool",
            "edition_name",
            "key",
            "key_last5",
            "agreement_number",
            "product_name",
            "quantity",
            "justification",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "granted_at",
            "microsoft_reference",
        ]
        read_only_fields = fields


class ActivationRequestCreateSerializer(serializers.Serializer):
    pool = serializers.IntegerField()
    key = serializers.IntegerField(required=False, allow_null=True)
    # Bounds are the service's (clear messages for 0, negative and absurd quantities).
    quantity = serializers.IntegerField(help_text=f"1 to {MAX_REQUESTED_ACTIVATIONS:,}.")
    justification = serializers.CharField(allow_blank=True, max_length=4000, trim_whitespace=True)
    agreement_number = serializers.CharField(required=False, allow_blank=True, max_length=60)
    product_name = serializers.CharField(required=False, allow_blank=True, max_length=120)


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class GrantSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=120)


# --- filters --------------------------------------------------------------------------------


def _visible(model: type) -> Any:
    """Choices of an id filter: the caller's objects only (and the token's organisation), so
    another organisation's id is refused exactly like an id that does not exist."""

    def queryset(request: Any) -> QuerySet:
        if request is None:
            return model.objects.none()
        visible = model.objects.for_user(request.user)
        org_id = token_organisation_id(request)
        return visible.for_organisation(org_id) if org_id is not None else visible

    return queryset


class MakKeyFilterSet(django_filters.FilterSet):
    pool = django_filters.ModelChoiceFilter(queryset=_visible(MakPool))

    class Meta:
        model = MakKey
        fields = ["pool", "status"]


class MakActivationFilterSet(django_filters.FilterSet):
    key = django_filters.ModelChoiceFilter(queryset=_visible(MakKey))
    client = django_filters.ModelChoiceFilter(queryset=_visible(Client))

    class Meta:
        model = MakActivation
        fields = ["key", "client", "reason"]


class ActivationRequestFilterSet(django_filters.FilterSet):
    pool = django_filters.ModelChoiceFilter(queryset=_visible(MakPool))

    class Meta:
        model = ActivationRequest
        fields = ["pool", "status"]


# --- viewsets --------------------------------------------------------------------------------


class _MakViewSet(OrganisationScopedViewSet):
    def ip(self) -> str | None:
        return audit.client_ip(self.request)

    def scoped_get(self, queryset: QuerySet, pk: Any) -> Any:
        """An object of the caller's organisations (and token's), else 404 (never 403)."""
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


class MakPoolViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _MakViewSet):
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
        org_id = token_organisation_id(request)
        orgs = Organisation.objects.for_user(request.user)
        if org_id is not None:
            orgs = orgs.filter(pk=org_id)
        if data.get("organisation"):
            orgs = orgs.filter(slug=data["organisation"])
        organisation = orgs.order_by("name").first()
        if organisation is None:
            raise NotFound("Not found.")
        pool = vault.create_pool(
            actor=request.user,
            organisation=organisation,
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


class MakKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _MakViewSet):
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
            return Response(
                {
                    "detail": "Nothing was imported.",
                    "code": "import_rejected",
                    "errors": [{"row": row, "message": msg} for row, msg in report.errors],
                },
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


class MakActivationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _MakViewSet):
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


class ActivationRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _MakViewSet):
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

    @extend_schema(request=DecisionSerializer, responses=ActivationRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Any, pk: Any = None) -> Response:
        data = self.validated(DecisionSerializer)
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


__all__ = [
    "ActivationRequestViewSet",
    "MakActivationViewSet",
    "MakKeyViewSet",
    "MakPoolViewSet",
]
