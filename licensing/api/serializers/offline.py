from __future__ import annotations

from rest_framework import serializers

from licensing.models import OfflineActivation


class OfflineActivationSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="hostname", read_only=True)
    client_id = serializers.IntegerField(read_only=True)
    key = serializers.SerializerMethodField(help_text="The MAK key, masked")
    command = serializers.CharField(read_only=True, help_text="What to run on the client")
    # Plain text, not an enum: "status" names other enums of the schema already.
    status = serializers.CharField(read_only=True, help_text="pending, confirmed or cancelled")

    class Meta:
        model = OfflineActivation
        fields = [
            "id",
            "client",
            "client_id",
            "sku_id",
            "product_name",
            "key",
            "installation_id",
            "confirmation_id",
            "status",
            "source",
            "activation",
            "requested_at",
            "confirmed_at",
            "command",
        ]
        read_only_fields = fields

    def get_key(self, obj: OfflineActivation) -> str | None:
        return obj.mak_key.masked if obj.mak_key_id else None


class ConfirmationSerializer(serializers.Serializer):
    confirmation_id = serializers.CharField(max_length=120)


class ConfirmationResponseSerializer(OfflineActivationSerializer):
    warning = serializers.CharField(read_only=True, required=False)

    class Meta(OfflineActivationSerializer.Meta):
        fields = [*OfflineActivationSerializer.Meta.fields, "warning"]
        read_only_fields = fields
