"""FilterSets shared by pages, the API and CSV exports (one definition per list)."""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from licensing.models import ActivationMethod, Client, ComplianceFlag, Edition, LicenseStatus


class ClientFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Hostname, FQDN or CMID")
    edition = django_filters.ModelChoiceFilter(queryset=Edition.objects.all())
    activation_method = django_filters.ChoiceFilter(choices=ActivationMethod.choices)
    license_status = django_filters.TypedChoiceFilter(choices=LicenseStatus.choices, coerce=int)
    compliance_flag = django_filters.ChoiceFilter(choices=ComplianceFlag.choices)
    kms_host = django_filters.NumberFilter(field_name="kms_host_id")

    class Meta:
        model = Client
        fields = [
            "q",
            "edition",
            "activation_method",
            "license_status",
            "compliance_flag",
            "kms_host",
        ]

    def search(self, queryset: QuerySet[Client], name: str, value: str) -> QuerySet[Client]:
        value = value.strip()
        if not value:
            return queryset
        try:
            return queryset.filter(cmid=uuid.UUID(value))
        except ValueError:
            pass
        lowered = value.lower()
        # Prefix matches use the (organisation, hostname) btree; see the README on search.
        return queryset.filter(Q(hostname__startswith=lowered) | Q(fqdn__istartswith=value))

    @classmethod
    def for_request(cls, data: Any, queryset: QuerySet[Client]) -> ClientFilterSet:
        return cls(data, queryset=queryset)
