"""API routes of the kms area, registered on the /api/v1/ router by licensing/api/urls.py.

- /api/v1/kms-hosts/            list, create; {id}/ retrieve, partial update;
  {id}/retire/, {id}/poll/ (POST), {id}/polls/, {id}/reports/ (GET)
- /api/v1/kms-hosts/{id}/status-reports/   POST the text of `slmgr.vbs /dlv` with that host's
  reporter token (the only thing a reporter token can do)
- /api/v1/kms-findings/          open unregistered `_vlmcs._tcp` SRV targets
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, parsers, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from licensing.api.throttling import ReportThrottle
from licensing.api.views import OrganisationScopedViewSet, token_organisation_id
from licensing.crypto import mask_last5
from licensing.filters_kms import KmsHostFilterSet
from licensing.models import (
    ApiToken,
    DnsFinding,
    HostPoll,
    HostStatusReport,
    KmsHost,
    KmsProductGroup,
    Organisation,
    TokenScope,
)
from licensing.services import audit
from licensing.services.kms import hosts, polling, reports


class KmsHostSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    host_key = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    host_key_masked = serializers.SerializerMethodField()
    product_group = serializers.ChoiceField(choices=KmsProductGroup.choices)

    class Meta:
        model = KmsHost
        fields = [
            "id",
            "organisation",
            "fqdn",
            "port",
            "product_group",
            "host_key",
            "host_key_masked",
            "activation_threshold",
            "poll_interval_minutes",
            "state",
            "state_reason",
            "state_changed_at",
            "current_count",
            "license_status",
            "srv_published",
            "last_polled_at",
            "last_report_at",
            "next_poll_at",
            "retired_at",
            "created_at",
        ]
        read_only_fields = [
            "state",
            "state_reason",
            "state_changed_at",
            "current_count",
            "license_status",
            "srv_published",
            "last_polled_at",
            "last_report_at",
            "next_poll_at",
            "retired_at",
            "created_at",
        ]
        # Validation is the service's (one rule for form and API); the DB constraints back it.
        validators: list = []
        extra_kwargs = {
            "fqdn": {"validators": []},
            "port": {"required": False, "min_value": 1, "max_value": 65535},
            "activation_threshold": {"required": False},
            "poll_interval_minutes": {"required": False},
        }

    def get_host_key_masked(self, obj: KmsHost) -> str:
        return mask_last5(obj.host_key_last5) if obj.host_key_last5 else ""


class HostPollSerializer(serializers.ModelSerializer):
    class Meta:
        model = HostPoll
        fields = [
            "id",
            "polled_at",
            "state",
            "reachable",
            "srv_published",
            "current_count",
            "latency_ms",
            "duration_ms",
            "error",
            "srv_detail",
        ]


class HostStatusReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = HostStatusReport
        fields = [
            "id",
            "received_at",
            "accepted",
            "error",
            "license_status",
            "partial_key",
            "current_count",
            "listening_port",
            "dns_publishing",
            "priority",
            "total_requests",
            "failed_requests",
            "requests_by_status",
            "deltas",
            "counters_reset",
            "submitted_by",
        ]


class DnsFindingSerializer(serializers.ModelSerializer):
    class Meta:
        model = DnsFinding
        fields = [
            "id",
            "domain",
            "target",
            "port",
            "priority",
            "weight",
            "first_seen_at",
            "last_seen_at",
        ]


class KmsHostViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    OrganisationScopedViewSet,
):
    serializer_class = KmsHostSerializer
    filterset_class = KmsHostFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[KmsHost]:
        return self.scope(KmsHost.objects.select_related("organisation"))

    def _organisation(self) -> Organisation:
        org_id = token_organisation_id(self.request)
        if org_id is not None:
            return Organisation.objects.get(pk=org_id)
        slug = self.request.data.get("organisation") if hasattr(self.request, "data") else None
        orgs = Organisation.objects.for_user(self.request.user)
        org = (
            orgs.filter(slug=slug).first() if slug else getattr(self.request, "organisation", None)
        )
        if not org:
            raise Http404("Not found.")
        return org

    def perform_create(self, serializer: KmsHostSerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = hosts.register_host(
            actor=self.request.user,
            organisation=self._organisation(),
            ip_address=audit.client_ip(self.request),
            **data,
        )

    def perform_update(self, serializer: KmsHostSerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = hosts.update_host(
            actor=self.request.user,
            host=serializer.instance,
            ip_address=audit.client_ip(self.request),
            host_key=data.pop("host_key", ""),
            **data,
        )

    @extend_schema(request=None, responses=KmsHostSerializer)
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: Any = None) -> Response:
        host = hosts.retire_host(
            actor=request.user, host=self.get_object(), ip_address=audit.client_ip(request)
        )
        return Response(self.get_serializer(host).data)

    @extend_schema(request=None, responses={202: OpenApiResponse(description="Poll queued")})
    @action(detail=True, methods=["post"])
    def poll(self, request: Request, pk: Any = None) -> Response:
        polling.queue_poll(
            actor=request.user, host=self.get_object(), ip_address=audit.client_ip(request)
        )
        return Response({"detail": "Poll queued."}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=HostPollSerializer(many=True))
    @action(detail=True, methods=["get"])
    def polls(self, request: Request, pk: Any = None) -> Response:
        host = self.get_object()
        page = self.paginate_queryset(HostPoll.objects.filter(host=host).order_by("-id"))
        return self.get_paginated_response(HostPollSerializer(page, many=True).data)

    @extend_schema(responses=HostStatusReportSerializer(many=True))
    @action(detail=True, methods=["get"])
    def reports(self, request: Request, pk: Any = None) -> Response:
        host = self.get_object()
        page = self.paginate_queryset(HostStatusReport.objects.filter(host=host).order_by("-id"))
        return self.get_paginated_response(HostStatusReportSerializer(page, many=True).data)


class DnsFindingViewSet(mixins.ListModelMixin, OrganisationScopedViewSet):
    serializer_class = DnsFindingSerializer
    filterset_fields: list[str] = []

    def get_queryset(self) -> QuerySet[DnsFinding]:
        return self.scope(DnsFinding.objects.filter(resolved_at__isnull=True))


class IsReporterToken(permissions.BasePermission):
    message = "Only a KMS host reporter token can post status reports."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        return isinstance(token, ApiToken) and token.scope == TokenScope.REPORTER


class RawTextParser(parsers.BaseParser):
    """The body as bytes, whatever the content type (text/plain from Invoke-RestMethod or
    curl --data-binary); the shared parser's decode_upload handles encodings and BOMs."""

    media_type = "*/*"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        return stream.read() if stream is not None else b""


class StatusReportView(APIView):
    """POST the text of `slmgr.vbs /dlv all` run on the KMS host, with the host's reporter
    token. 201 with the parsed values; 400 with the reason for text the parser cannot read
    (the text is kept for inspection and nothing else changes)."""

    permission_classes = [IsReporterToken]
    throttle_classes = [ReportThrottle]
    parser_classes = [RawTextParser]

    @extend_schema(
        request={"text/plain": {"type": "string"}},
        responses={
            201: HostStatusReportSerializer,
            400: OpenApiResponse(description="Unreadable text (kept for inspection)"),
            403: OpenApiResponse(description="Not this host's reporter token"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        token: ApiToken = request.auth
        if token.kms_host_id != pk:
            return Response(
                {"detail": "This token reports for another KMS host.", "code": "wrong_host"},
                status=status.HTTP_403_FORBIDDEN,
            )
        host = KmsHost.objects.get(pk=pk)
        report = reports.submit_status_report(
            host=host,
            data=request.data or b"",
            submitted_by=f"token:{token.prefix}",
            source_ip=audit.client_ip(request),
        )
        if not report.accepted:
            return Response(
                {"detail": report.error, "code": "unreadable_status", "report_id": report.pk},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(HostStatusReportSerializer(report).data, status=status.HTTP_201_CREATED)


# Extra non-router API paths of this area.
urlpatterns: list = [
    path(
        "kms-hosts/<int:pk>/status-reports/",
        StatusReportView.as_view(),
        name="kms-host-status-report",
    ),
]


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the shared router."""
    router.register("kms-hosts", KmsHostViewSet, basename="kms-host")
    router.register("kms-findings", DnsFindingViewSet, basename="kms-finding")
