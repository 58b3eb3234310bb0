"""Serializers of the MAK area: pools (with forecast), keys (masked, the key write-only), the
activation ledger and extra-activation requests."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from licensing.models import (
    MAX_REQUESTED_ACTIVATIONS,
    ActivationReason,
    ActivationRequest,
    Edition,
    MakActivation,
    MakKey,
    MakPool,
)
from licensing.services.mak import vault
from licensing.services.mak.vault import MAX_KEY_ACTIVATIONS

# Ids are PostgreSQL bigints.
ID_MAX = 2**63 - 1


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
    low_water_mark = serializers.IntegerField(
        required=False, default=10, min_value=0, max_value=MAX_KEY_ACTIVATIONS
    )
    organisation = serializers.SlugField(
        required=False,
        help_text="Slug; defaults to the token's organisation, else the session's current one.",
    )


class MakPoolUpdateSerializer(serializers.Serializer):
    agreement_number = serializers.CharField(max_length=60, required=False, allow_blank=True)
    low_water_mark = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_KEY_ACTIVATIONS
    )


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
    pool = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    key = serializers.CharField(write_only=True, max_length=40, trim_whitespace=True)
    activation_limit = serializers.IntegerField(min_value=1, max_value=MAX_KEY_ACTIVATIONS)
    activations_used = serializers.IntegerField(
        required=False, default=0, min_value=0, max_value=MAX_KEY_ACTIVATIONS
    )
    label = serializers.CharField(required=False, allow_blank=True, max_length=120)


class MakKeyImportSerializer(serializers.Serializer):
    pool = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    csv = serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        help_text="CSV text with a header row: key, activation_limit[, activations_used, label].",
    )


class BlockSerializer(serializers.Serializer):
    reason = serializers.RegexField(r"\S", max_length=300)


class MicrosoftRemainingSerializer(serializers.Serializer):
    remaining = serializers.IntegerField(min_value=0, max_value=MAX_KEY_ACTIVATIONS)


class MakActivationSerializer(serializers.ModelSerializer):
    client_hostname = serializers.CharField(source="client.hostname", read_only=True)
    key_last5 = serializers.CharField(source="key.last5", read_only=True)
    pool = serializers.IntegerField(source="pool_id", read_only=True)
    recorded_by = serializers.StringRelatedField(allow_null=True)

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
    client = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    reason = serializers.ChoiceField(
        choices=ActivationReason.choices, default=ActivationReason.FIRST_ACTIVATION
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    activated_at = serializers.DateTimeField(required=False)


class ActivationRequestSerializer(serializers.ModelSerializer):
    requested_by = serializers.StringRelatedField()
    decided_by = serializers.StringRelatedField(allow_null=True)
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
    pool = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    key = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=ID_MAX)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_REQUESTED_ACTIVATIONS)
    justification = serializers.RegexField(
        r"\S",
        max_length=4000,
        help_text="Why the extra activations are needed.",
        error_messages={
            k: "Give the business justification Microsoft asks for (why the extra activations "
            "are needed)."
            for k in ("blank", "invalid", "required")
        },
    )
    agreement_number = serializers.CharField(required=False, allow_blank=True, max_length=60)
    product_name = serializers.CharField(required=False, allow_blank=True, max_length=120)


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class RejectSerializer(serializers.Serializer):
    note = serializers.RegexField(
        r"\S", max_length=2000, help_text="Why the request is rejected; the requester reads it."
    )


class GrantSerializer(serializers.Serializer):
    reference = serializers.RegexField(r"\S", max_length=120)
