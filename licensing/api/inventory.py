"""API of the inventory area: the bulk ingest endpoint for agents and scripts, posted
ospp/slmgr text, and the (read-only) import history."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from licensing import policy
from licensing.api.authentication import TokenPrincipal
from licensing.api.throttling import IngestThrottle
from licensing.api.views import OrganisationScopedViewSet, token_organisation_id
from licensing.models import ApiToken, ImportRun, Organisation, TokenScope
from licensing.services import audit
from licensing.services.inventory.ingest import ingest_records
from licensing.services.inventory.runs import require_ingest
from licensing.services.inventory.status_text import ingest_status_text


class PlainTextParser(JSONParser):
    media_type = "text/plain"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        from licensing.parsers import decode_upload

        return {"text": decode_upload(stream.read())}


def ingest_organisation(request: Any, slug: str | None) -> Organisation:
    """The organisation an ingest writes into: the token's own (a different `organisation`
    is 404, like any object outside the caller's organisations), or, for a browser session,
    the one named (or the current one). Role checks come after: 403."""
    token = request.auth if isinstance(request.auth, ApiToken) else None
    if token is not None:
        if token.scope == TokenScope.REPORTER:
            raise PermissionDenied("A KMS host reporter token may not post inventory.")
        org = token.organisation
        if slug and slug != org.slug:
            raise NotFound("Not found.")
    else:
        if slug:
            org = Organisation.objects.for_user(request.user).filter(slug=slug).first()
        else:
            org = getattr(request, "organisation", None) or None
        if org is None:
            raise NotFound("Not found.")
    actor = request.user
    try:
        require_ingest(actor, org)
    except policy.PermissionDenied as exc:
        raise PermissionDenied(str(exc)) from None
    return org


class ClientRecordSerializer(serializers.Serializer):
    """One client record (documentation; records are validated by the ingest service)."""

    hostname = serializers.CharField()
    fqdn = serializers.CharField(required=False)
    cmid = serializers.UUIDField(required=False)
    edition = serializers.CharField(required=False, help_text="Edition name or SKU id")
    activation_method = serializers.ChoiceField(choices=["kms", "mak"], required=False)
    license_status = serializers.CharField(required=False, help_text="0..6 or a status word")
    grace_minutes = serializers.IntegerField(required=False)
    installed_at = serializers.DateTimeField(required=False)
    last_activation_at = serializers.DateTimeField(required=False)
    last_renewal_at = serializers.DateTimeField(required=False)
    last_seen_at = serializers.DateTimeField(required=False)
    kms_host = serializers.CharField(required=False)
    reactivation_required = serializers.BooleanField(required=False)


class IngestRequestSerializer(serializers.Serializer):
    organisation = serializers.SlugField(required=False)
    clients = ClientRecordSerializer(many=True)


class RecordResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    hostname = serializers.CharField()
    result = serializers.ChoiceField(choices=["created", "updated", "unchanged", "error"])
    message = serializers.CharField(required=False)
    flag = serializers.CharField(required=False)


class IngestResponseSerializer(serializers.Serializer):
    import_ = serializers.IntegerField(label="import")
    summary = serializers.DictField(child=serializers.IntegerField())
    results = RecordResultSerializer(many=True)


class StatusTextRequestSerializer(serializers.Serializer):
    hostname = serializers.CharField()
    text = serializers.CharField(help_text="Output of ospp.vbs /dstatus or slmgr.vbs /dlv")
    organisation = serializers.SlugField(required=False)


class StatusTextResponseSerializer(serializers.Serializer):
    import_ = serializers.IntegerField(label="import")
    result = RecordResultSerializer()
    note = serializers.CharField()


class ClientIngestView(APIView):
    """POST a batch of client records (JSON). Body: `{"organisation": "<slug, optional>",
    "clients": [{...}, ...]}` or a bare list. Answers 200 with a result per record."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [IngestThrottle]

    @extend_schema(request=IngestRequestSerializer, responses=IngestResponseSerializer)
    def post(self, request: Any) -> Response:
        data = request.data
        slug = request.query_params.get("organisation")
        if isinstance(data, dict):
            slug = data.get("organisation") or slug
            records = data.get("clients")
        else:
            records = data
        if not isinstance(records, list):
            raise ParseError('Send a JSON list of client records, or {"clients": [...]}.')
        org = ingest_organisation(request, slug)
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

    permission_classes = [IsAuthenticated]
    throttle_classes = [IngestThrottle]
    parser_classes = [JSONParser, PlainTextParser]

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
        org = ingest_organisation(
            request, data.get("organisation") or request.query_params.get("organisation")
        )
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
        return Response(
            {"import": result.run.pk, "result": record, "note": result.run.message},
            status=status.HTTP_400_BAD_REQUEST if record.get("result") == "error" else 200,
        )


class PeopleOnly(BasePermission):
    message = "Agent and reporter tokens can only post; they cannot read."

    def has_permission(self, request: Any, view: Any) -> bool:
        return not isinstance(request.user, TokenPrincipal)


class ImportRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRun
        fields = [
            "id",
            "source",
            "status",
            "actor_label",
            "filename",
            "started_at",
            "finished_at",
            "received",
            "created",
            "updated",
            "unchanged",
            "rejected",
            "message",
        ]


class ImportRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganisationScopedViewSet):
    """The import history of your organisations (read-only)."""

    serializer_class = ImportRunSerializer
    permission_classes = [IsAuthenticated, PeopleOnly]
    filterset_fields = ["source", "status"]

    def get_queryset(self) -> QuerySet[ImportRun]:
        return self.scope(ImportRun.objects.all())


__all__ = ["ClientIngestView", "ImportRunViewSet", "StatusTextView", "token_organisation_id"]
