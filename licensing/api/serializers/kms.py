"""Serializers of the KMS area: hosts (the host key write-only, masked on read), polls, posted
status reports and unregistered DNS findings."""

from __future__ import annotations

from rest_framework import serializers

from licensing.crypto import mask_last5
from licensing.models import DnsFinding, HostPoll, HostStatusReport, KmsHost, KmsProductGroup

# What licensing.services.kms.hosts.normalise_fqdn takes: two or more RFC 1123 labels, the
# last one starting with a letter (no IP address); checked here too, so that the schema says it.
FQDN_PATTERN = (
    r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)


class KmsHostSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    fqdn = serializers.RegexField(FQDN_PATTERN, max_length=253)
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
            "port": {"required": False, "min_value": 1, "max_value": 65535},
            "activation_threshold": {"required": False, "min_value": 1, "max_value": 50},
            "poll_interval_minutes": {"required": False, "min_value": 1, "max_value": 1440},
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
