"""FilterSet of the KMS host list, shared by the page, the API and the CSV export."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from licensing.models import HostState, KmsHost, KmsProductGroup


class KmsHostFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Host name starts with")
    state = django_filters.ChoiceFilter(choices=HostState.choices, empty_label="Any state")
    product_group = django_filters.ChoiceFilter(
        choices=KmsProductGroup.choices, empty_label="Any version"
    )
    retired = django_filters.BooleanFilter(method="filter_retired", label="Retired")

    class Meta:
        model = KmsHost
        fields = ["q", "state", "product_group", "retired"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip().lower()
        return queryset.filter(Q(fqdn__startswith=value)) if value else queryset

    def filter_retired(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(retired_at__isnull=not value)
