"""Serializers of the fleet area: organisations, the edition catalogue, clients."""

from rest_framework import serializers

from licensing.api.serializers import ChoiceLabelField
from licensing.models import Client, Edition, LicenseStatus, Organisation


class OrganisationSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Organisation
        fields = ["id", "name", "slug", "dns_domains", "at_risk_days", "role", "created_at"]

    def get_role(self, obj: Organisation) -> str | None:
        from licensing import policy

        user = self.context["request"].user
        if hasattr(obj, "caller_role"):  # read with the row (scoping.organisations_with_role)
            policy.remember_role(user, obj.pk, obj.caller_role)
        return policy.role_of(user, obj)


class EditionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Edition
        fields = [
            "id",
            "name",
            "version",
            "product",
            "gvlk",
            "sku_id",
            "kms_product_group",
            "is_builtin",
        ]


class ClientSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    edition = serializers.StringRelatedField(allow_null=True)
    kms_host = serializers.StringRelatedField(allow_null=True)
    mak_key_last5 = serializers.CharField(
        source="mak_key.last5", default=None, read_only=True, allow_null=True
    )
    license_status_name = ChoiceLabelField(LicenseStatus.choices, source="license_status")

    class Meta:
        model = Client
        fields = [
            "id",
            "organisation",
            "hostname",
            "fqdn",
            "cmid",
            "edition",
            "activation_method",
            "kms_host",
            "mak_key_last5",
            "license_status",
            "license_status_name",
            "installed_at",
            "last_activation_at",
            "last_renewal_at",
            "renewal_deadline",
            "compliance_flag",
            "flag_reason",
            "last_seen_at",
        ]
