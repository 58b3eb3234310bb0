"""API of the inventory area: the bulk ingest endpoint for agents and scripts, posted
ospp/slmgr text, and the (read-only) import history."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from licensing import policy
from licensing.api.parsers import PlainTextParser, SafeJSONParser
from licensing.api.permissions import TokenScopeAllowed
from licensing.api.serializers.inventory import (
    ImportRunSerializer,
    IngestRequestSerializer,
    IngestResponseSerializer,
    StatusTextRequestSerializer,
    StatusTextResponseSerializer,
    WmiReportRequestSerializer,
)
from licensing.api.throttling import IngestThrottle
from licensing.api.views.base import OrganisationScopedViewSet, body_slug
from licensing.models import ImportRun, Organisation, TokenScope
from licensing.scoping import request_token, resolve_organisation
from licensing.services import audit
from licensing.services.inventory.ingest import ingest_records
from licensing.services.inventory.runs import require_ingest
from licensing.services.inventory.status_text import ingest_status_text
from licensing.services.inventory.wmi import ingest_wmi_report


def ingest_target(request: Any) -> Organisation:
    """The organisation an ingest writes into (`resolve_organisation`: the token's own, or the
    one named, or the session's), after refusing reporter tokens; then the role check (403)."""
    token = request_token(request)
    if token is not None and token.scope == TokenScope.REPORTER:
        raise PermissionDenied("A KMS host reporter token may not post inventory.")
    org = resolve_organisation(request, slug=body_slug(request))
    try:
        require_ingest(request.user, org)
    except policy.PermissionDenied as exc:
        raise PermissionDenied(str(exc)) from None
    return org


class ClientIngestView(APIView):
    """POST a batch of client records (JSON). Body: `{"organisation": "<slug, optional>",
    "clients": [{...}, ...]}` or a bare list. Answers 200 with a result per record."""

    permission_classes = [IsAuthenticated, TokenScopeAllowed]
    token_scopes = (TokenScope.AGENT,)
    throttle_classes = [IngestThrottle]

    @extend_schema(request=IngestRequestSerializer, responses=IngestResponseSerializer)
    def post(self, request: Any) -> Response:
        data = request.data
        records = data.get("clients") if isinstance(data, dict) else data
        if not isinstance(records, list):
            raise ParseError('Send a JSON list of client records, or {"clients": [...]}.')
        org = ingest_target(request)
        result = ingest_records(
            actor=request.user,
            organisation=org,
            records=records,
            ip_address=audit.client_ip(request),
        )
        return Response(
            {
                "import": result.run.pk,
                "summary": result.summary(),
                "results": result.result_dicts(),
            },
            status=status.HTTP_200_OK,
        )


class StatusTextView(APIView):
    """POST the output of `ospp.vbs /dstatus` or `slmgr.vbs /dlv` for one client: JSON
    `{"hostname": "pc01", "text": "..."}` or the raw text (text/plain) with `?hostname=pc01`."""

    permission_classes = [IsAuthenticated, TokenScopeAllowed]
    token_scopes = (TokenScope.AGENT,)
    throttle_classes = [IngestThrottle]
    parser_classes = [SafeJSONParser, PlainTextParser]

    @extend_schema(request=StatusTextRequestSerializer, responses=StatusTextResponseSerializer)
    def post(self, request: Any) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        hostname = str(data.get("hostname") or request.query_params.get("hostname") or "")
        text = data.get("text")
        if not hostname.strip():
            raise ParseError("Give the client's hostname.")
        if not isinstance(text, str) or not text.strip():
            raise ParseError("Give the tool output as 'text'.")
        if "\x00" in hostname or "\x00" in text:
            # PostgreSQL text cannot hold NUL; it usually means UTF-16 output sent as bytes.
            raise ParseError(
                "The hostname or text contains NUL characters: send the output as UTF-8 text."
            )
        org = ingest_target(request)
        extra = {k: data[k] for k in ("fqdn", "installed_at", "reactivation_required") if k in data}
        result = ingest_status_text(
            actor=request.user,
            organisation=org,
            hostname=hostname,
            text=text,
            extra=extra,
            ip_address=audit.client_ip(request),
        )
        record = result.results[0].as_dict() if result.results else {}
        body = {"import": result.run.pk, "result": record, "note": result.run.message}
        if record.get("result") == "error":
            # The one error shape, with the record's result beside it.
            detail = record.get("message") or "The record was not accepted."
            return Response(
                {"detail": detail, "code": "record_rejected", **body},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(body, status=200)


class WmiReportView(APIView):
    """POST one machine's WMI licence objects, as `Get-CimInstance SoftwareLicensingProduct`
    (or `OfficeSoftwareProtectionProduct`) `| ConvertTo-Json` writes them: either the bare
    output (one object or an array) with `?hostname=pc01` (else PSComputerName is used), or
    `{"hostname": "pc01", "fqdn": "...", "products": <the output>, "service": {...},
    "collected_at": "/Date(ms)/"}`. Only Office licences (ApplicationID 0ff1ce15-...) are read;
    the machine is updated exactly as by posted ospp.vbs text. 400 names the property."""

    permission_classes = [IsAuthenticated, TokenScopeAllowed]
    token_scopes = (TokenScope.AGENT,)
    throttle_classes = [IngestThrottle]

    @extend_schema(request=WmiReportRequestSerializer, responses=StatusTextResponseSerializer)
    def post(self, request: Any) -> Response:
        data = request.data
        if isinstance(data, dict) and "products" in data:
            payload = dict(data)
        elif isinstance(data, dict | list):
            payload = {"products": data}
        else:
            raise ParseError("Send the ConvertTo-Json output of the WMI licence objects.")
        if "hostname" not in payload and request.query_params.get("hostname"):
            payload["hostname"] = request.query_params["hostname"]
        org = ingest_target(request)
        result = ingest_wmi_report(
            actor=request.user,
            organisation=org,
            payload=payload,
            ip_address=audit.client_ip(request),
        )
        record = result.results[0].as_dict() if result.results else {}
        return Response(
            {"import": result.run.pk, "result": record, "note": result.run.message},
            status=status.HTTP_400_BAD_REQUEST if record.get("result") == "error" else 200,
        )


class ImportRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScopedViewSet):
    """The import history of your organisations (read-only)."""

    serializer_class = ImportRunSerializer
    filterset_fields = ["source", "status"]

    def get_queryset(self) -> QuerySet[ImportRun]:
        return self.scope(ImportRun.objects.all())
