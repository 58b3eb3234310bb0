"""Serializers of the licences area: agreements, entitlements (licence lines), the position."""

from rest_framework import serializers

from licensing.api.serializers import ChoiceLabelField
from licensing.models import (
    MAX_LICENCE_QUANTITY,
    Agreement,
    Edition,
    Entitlement,
    LicencePosition,
    Programme,
)


class AgreementSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    programme_name = ChoiceLabelField(Programme.choices, source="programme")

    class Meta:
        model = Agreement
        fields = [
            "id",
            "organisation",
            "programme",
            "programme_name",
            "number",
            "starts_on",
            "ends_on",
            "sa_ends_on",
            "reseller",
            "notes",
            "last_true_up_on",
            "created_at",
            "updated_at",
        ]


class AgreementWriteSerializer(serializers.Serializer):
    """Create (all required fields) or partial update (any of them)."""

    programme = serializers.ChoiceField(choices=Programme.choices)
    number = serializers.CharField(max_length=60)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(required=False, allow_null=True)
    sa_ends_on = serializers.DateField(required=False, allow_null=True)
    reseller = serializers.CharField(max_length=120, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    organisation = serializers.SlugField(
        required=False,
        help_text="Slug; defaults to the token's organisation, else the session's current one.",
    )


class EntitlementSerializer(serializers.ModelSerializer):
    edition_name = serializers.CharField(source="edition.name", read_only=True)

    class Meta:
        model = Entitlement
        fields = [
            "id",
            "agreement",
            "edition",
            "edition_name",
            "quantity",
            "acquired_on",
            "downgrade_rights",
            "note",
            "created_at",
        ]


class EntitlementWriteSerializer(serializers.Serializer):
    agreement = serializers.IntegerField(help_text="The agreement's id (create only).")
    edition = serializers.PrimaryKeyRelatedField(queryset=Edition.objects.all())
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LICENCE_QUANTITY)
    acquired_on = serializers.DateField(required=False, help_text="Default: the agreement's start.")
    downgrade_rights = serializers.BooleanField(required=False, default=True)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


class LicencePositionSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    edition_name = serializers.CharField(source="edition.name", read_only=True)
    product = serializers.CharField(source="edition.product", read_only=True)

    class Meta:
        model = LicencePosition
        fields = [
            "organisation",
            "edition",
            "edition_name",
            "product",
            "version",
            "installed",
            "licences",
            "covered",
            "covered_by_newer",
            "surplus",
            "shortfall",
        ]
