"""API of the KMS area.

- /api/v1/kms-hosts/            list, create; {id}/ retrieve, partial update;
  {id}/retire/, {id}/poll/ (POST), {id}/polls/, {id}/reports/ (GET)
- /api/v1/kms-hosts/{id}/status-reports/   POST the text of `slmgr.vbs /dlv` with that host's
  reporter token (the only thing a reporter token can do)
- /api/v1/kms-findings/          open unregistered `_vlmcs._tcp` SRV targets
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from licensing.api.parsers import RawTextParser
from licensing.api.permissions import IsReporterToken, TokenScopeAllowed
from licensing.api.serializers.kms import (
    DnsFindingSerializer,
    HostPollSerializer,
    HostStatusReportSerializer,
    KmsHostSerializer,
)
from licensing.api.throttling import ReportThrottle
from licensing.api.views.base import OrganisationScopedViewSet, body_slug
from licensing.filters import KmsHostFilterSet
from licensing.models import (
    ApiToken,
    DnsFinding,
    HostPoll,
    HostStatusReport,
    KmsHost,
    TokenScope,
)
from licensing.scoping import resolve_organisation
from licensing.services import audit
from licensing.services.kms import hosts, polling, reports


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

    def perform_create(self, serializer: KmsHostSerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = hosts.register_host(
            actor=self.request.user,
            organisation=resolve_organisation(self.request, slug=body_slug(self.request)),
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


class StatusReportView(APIView):
    """POST the text of `slmgr.vbs /dlv all` run on the KMS host, with the host's reporter
    token. 201 with the parsed values; 400 with the reason for text the parser cannot read
    (the text is kept for inspection and nothing else changes)."""

    permission_classes = [TokenScopeAllowed, IsReporterToken]
    token_scopes = (TokenScope.REPORTER,)
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
