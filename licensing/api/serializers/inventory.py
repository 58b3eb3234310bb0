"""Serializers of the inventory area: the ingest request and answer (documentation: records
are validated by the ingest service), posted status text, and the import history."""

from __future__ import annotations

from rest_framework import serializers

from licensing.models import ImportRun


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


# The answers carry a field named `import` (a Python keyword): declared by name.
IngestResponseSerializer = type(
    "IngestResponseSerializer",
    (serializers.Serializer,),
    {
        "import": serializers.IntegerField(help_text="The import run's id."),
        "summary": serializers.DictField(child=serializers.IntegerField()),
        "results": RecordResultSerializer(many=True),
    },
)


class StatusTextRequestSerializer(serializers.Serializer):
    hostname = serializers.RegexField(r"\S")
    text = serializers.RegexField(r"\S", help_text="Output of ospp.vbs /dstatus or slmgr.vbs /dlv")
    organisation = serializers.SlugField(required=False)


class WmiReportRequestSerializer(serializers.Serializer):
    """For the schema only: the view reads the body itself (bare ConvertTo-Json output too)."""

    hostname = serializers.CharField(required=False)
    fqdn = serializers.CharField(required=False)
    products = serializers.JSONField(
        help_text="Get-CimInstance SoftwareLicensingProduct | ConvertTo-Json (object or array)"
    )
    service = serializers.JSONField(
        required=False, help_text="The service class object (ClientMachineID)"
    )
    collected_at = serializers.CharField(required=False, help_text="/Date(ms)/ or ISO 8601")
    organisation = serializers.SlugField(required=False)


StatusTextResponseSerializer = type(
    "StatusTextResponseSerializer",
    (serializers.Serializer,),
    {
        "import": serializers.IntegerField(help_text="The import run's id."),
        "result": RecordResultSerializer(),
        "note": serializers.CharField(allow_blank=True),
    },
)


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
