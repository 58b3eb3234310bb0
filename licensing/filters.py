"""Every FilterSet of the portal, shared by pages, the API and CSV exports (one per list).

`ClientFilterSet` serves the client list page, `/api/v1/clients/` and the client CSV export;
`KmsHostFilterSet` the KMS host page, `/api/v1/kms-hosts/` and its CSV: a link, an API call and
an export with the same query string select the same rows.
"""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django import forms as django_forms
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from licensing.exports import filter_errors
from licensing.models import (
    ActivationMethod,
    ActivationRequest,
    Agreement,
    AuditEvent,
    Client,
    ComplianceFlag,
    Edition,
    HostState,
    KmsHost,
    KmsProductGroup,
    LicencePosition,
    LicenseStatus,
    MakActivation,
    MakKey,
    MakPool,
    OfficeVersion,
    OfflineActivation,
    Product,
    Programme,
    RequestStatus,
)
from licensing.models.client import stale_condition
from licensing.scoping import request_token


def _visible(model: type, *related: str) -> Any:
    """Choices of an id filter: the caller's objects only (the token's organisation only), so
    another organisation's id is refused exactly like an id that does not exist."""

    def queryset(request: Any) -> QuerySet:
        user = getattr(request, "user", None)
        if user is None:
            return model.objects.none()
        visible = model.objects.for_user(user)
        if related:
            visible = visible.select_related(*related)
        token = request_token(request)
        return visible.for_organisation(token.organisation_id) if token is not None else visible

    return queryset


class NumberInFilter(django_filters.BaseInFilter, django_filters.NumberFilter):
    """`?ids=3,5,8`: a comma-separated list of whole numbers."""


class _ListedChoices(django_filters.fields.ModelChoiceIterator):
    """The options of a select over a small table, read with one plain query. Django reads
    them through `.iterator()`, a server-side cursor on PostgreSQL: DECLARE, FETCH and CLOSE,
    three round trips for each select every time a filter bar is drawn."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for obj in self.queryset:
            yield self.choice(obj)


class _ListedModelChoiceField(django_filters.fields.ModelChoiceField):
    iterator = _ListedChoices


class ListedModelChoiceFilter(django_filters.ModelChoiceFilter):
    """A ModelChoiceFilter whose form draws its options with one query (`_ListedChoices`): for
    the selects of a filter bar, over tables of a few dozen rows."""

    field_class = _ListedModelChoiceField


class ClientFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Hostname, FQDN or CMID"))
    # The filter bar's selects: one plain query each, only the columns their labels need.
    edition = ListedModelChoiceFilter(
        queryset=Edition.objects.only("id", "name"), label=_("Edition")
    )
    activation_method = django_filters.ChoiceFilter(
        choices=ActivationMethod.choices, label=_("Activation")
    )
    # A ChoiceFilter (not Typed) so the form offers an empty choice; the column casts "0".
    license_status = django_filters.ChoiceFilter(
        choices=LicenseStatus.choices, label=_("Licence state")
    )
    compliance_flag = django_filters.ChoiceFilter(choices=ComplianceFlag.choices, label=_("Flag"))
    kms_host = ListedModelChoiceFilter(queryset=_visible(KmsHost), label=_("KMS host"))
    mak_pool = ListedModelChoiceFilter(
        field_name="mak_key__pool", queryset=_visible(MakPool, "edition"), label=_("MAK pool")
    )
    # ?last_renewal_after=2026-01-01&last_renewal_before=2026-03-31 (whole days, UTC)
    last_renewal = django_filters.DateFromToRangeFilter(
        field_name="last_renewal_at", label=_("Last renewal")
    )
    never_activated = django_filters.BooleanFilter(
        method="filter_never_activated", label=_("Never activated")
    )
    past_deadline = django_filters.BooleanFilter(
        method="filter_past_deadline", label=_("Past the renewal deadline")
    )
    stale = django_filters.BooleanFilter(method="filter_stale", label=_("Stale (no recent report)"))
    flagged = django_filters.BooleanFilter(method="filter_flagged", label=_("Flagged (not OK)"))
    # Retired clients are left out unless asked for: ?retired=true (only them), ?retired=all.
    retired = django_filters.ChoiceFilter(
        method="filter_retired",
        choices=[("false", _("No (live clients)")), ("true", _("Yes")), ("all", _("Both"))],
        empty_label=None,
        label=_("Retired"),
        # The default: the filter form's script leaves it out of the URL.
        widget=django_forms.Select(attrs={"data-default": "false"}),
    )
    # ?flag_changed_after=2026-11-30: the flag changed on or after that day (UTC).
    flag_changed_after = django_filters.DateFilter(
        field_name="flag_changed_at", lookup_expr="date__gte", label=_("Flag changed since")
    )
    # ?ids=3,5,8: exactly these clients (the list's "Export the selection"); not in the form.
    ids = NumberInFilter(field_name="pk", lookup_expr="in", label=_("Selected clients"))

    class Meta:
        model = Client
        fields = [
            "q",
            "edition",
            "activation_method",
            "license_status",
            "compliance_flag",
            "kms_host",
            "mak_pool",
            "last_renewal",
            "never_activated",
            "past_deadline",
            "stale",
            "flagged",
            "flag_changed_after",
            "retired",
            "ids",
        ]

    def __init__(self, *args: Any, organisation: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        if organisation is not None:
            # The page offers only this organisation's hosts and pools.
            self.filters["kms_host"].queryset = KmsHost.objects.for_organisation(organisation).only(
                "id", "fqdn"
            )
            self.filters["mak_pool"].queryset = (
                MakPool.objects.for_organisation(organisation)
                .select_related("edition")
                .only("id", "edition__name")
            )

    def search(self, queryset: QuerySet[Client], name: str, value: str) -> QuerySet[Client]:
        value = value.strip()
        if not value:
            return queryset
        try:
            return queryset.filter(cmid=uuid.UUID(value))
        except ValueError:
            pass
        return queryset.matching_name(value)

    def filter_never_activated(
        self, queryset: QuerySet[Client], name: str, value: bool | None
    ) -> QuerySet[Client]:
        if value is None:
            return queryset
        never = Q(last_activation_at__isnull=True, last_renewal_at__isnull=True)
        return queryset.filter(never) if value else queryset.exclude(never)

    def filter_past_deadline(
        self, queryset: QuerySet[Client], name: str, value: bool | None
    ) -> QuerySet[Client]:
        if value is None:
            return queryset
        now = timezone.now()
        if value:
            return queryset.filter(renewal_deadline__lt=now)
        return queryset.filter(Q(renewal_deadline__gte=now) | Q(renewal_deadline__isnull=True))

    def filter_retired(self, queryset: QuerySet[Client], name: str, value: str) -> QuerySet[Client]:
        if value == "all":
            return queryset
        return queryset.filter(retired_at__isnull=value != "true")

    @property
    def qs(self) -> QuerySet[Client]:
        """Live clients only unless `retired` is given (a filter method runs only for a value)."""
        qs = super().qs
        form = self.form
        if not form.is_bound or not (form.is_valid() and form.cleaned_data.get("retired")):
            qs = qs.filter(retired_at__isnull=True)
        return qs

    def filter_flagged(
        self, queryset: QuerySet[Client], name: str, value: bool | None
    ) -> QuerySet[Client]:
        if value is None:
            return queryset
        ok = Q(compliance_flag=ComplianceFlag.OK)
        return queryset.exclude(ok) if value else queryset.filter(ok)

    def filter_stale(
        self, queryset: QuerySet[Client], name: str, value: bool | None
    ) -> QuerySet[Client]:
        """Not reported within the organisation's `stale_after_days` (`stale_condition`)."""
        if value is None:
            return queryset
        stale = stale_condition(self.organisation)
        return queryset.filter(stale) if value else queryset.exclude(stale)

    @classmethod
    def for_request(cls, data: Any, queryset: QuerySet[Client]) -> ClientFilterSet:
        return cls(data, queryset=queryset)


def clients_matching(organisation: Any, query: str) -> QuerySet[Client] | None:
    """Every client of `organisation` that the client list's query string selects (the bulk
    actions' "all N matching"), or None when its filter is not valid."""
    filterset = ClientFilterSet(
        QueryDict(query),
        queryset=Client.objects.for_organisation(organisation),
        organisation=organisation,
    )
    return None if filter_errors(filterset) else filterset.qs


class AuditEventFilterSet(django_filters.FilterSet):
    """The audit log's filters (page and CSV). `action` is a prefix: the picker offers each area
    ("mak_key.") and each action; any other text still filters as a prefix. `object_type` and
    `object_id` select one object's history (the "History" links of the object pages)."""

    action = django_filters.CharFilter(
        field_name="action", lookup_expr="startswith", label=_("Action")
    )
    actor = django_filters.CharFilter(
        field_name="actor_label", lookup_expr="icontains", label=_("Actor")
    )
    at = django_filters.DateFromToRangeFilter(field_name="at", label=_("Date"))
    object_type = django_filters.CharFilter(field_name="object_type", label=_("Object type"))
    object_id = django_filters.CharFilter(field_name="object_id", label=_("Object id"))

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "at", "object_type", "object_id"]

    def __init__(self, *args: Any, action_names: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if action_names is None:
            return
        from django import forms

        from licensing.services.audit import action_choices

        current = (self.data or {}).get("action") or ""
        if current and current not in action_names and not current.endswith("."):
            action_names = [*action_names, current]  # an old link's prefix stays visible
        choices = action_choices(action_names)
        if current.endswith(".") and not any(
            value == current for _heading, group in choices[1:] for value, _label in group
        ):
            choices.append((_("Other"), [(current, current)]))
        self.form.fields["action"].widget = forms.Select(choices=choices)


class KmsHostFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Host name starts with"))
    state = django_filters.ChoiceFilter(
        choices=HostState.choices,
        empty_label=_("Any state"),
        label=pgettext_lazy("KMS host state", "State"),
    )
    product_group = django_filters.ChoiceFilter(
        choices=KmsProductGroup.choices, empty_label=_("Any version"), label=_("Product group")
    )
    retired = django_filters.BooleanFilter(
        method="filter_retired", label=pgettext_lazy("KMS host", "Retired")
    )

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


class MakKeyFilterSet(django_filters.FilterSet):
    pool = django_filters.ModelChoiceFilter(queryset=_visible(MakPool))

    class Meta:
        model = MakKey
        fields = ["pool", "status"]


class OfflineActivationFilterSet(django_filters.FilterSet):
    client = django_filters.ModelChoiceFilter(queryset=_visible(Client))

    class Meta:
        model = OfflineActivation
        fields = ["status", "client"]


class MakActivationFilterSet(django_filters.FilterSet):
    pool = django_filters.ModelChoiceFilter(queryset=_visible(MakPool))
    key = django_filters.ModelChoiceFilter(queryset=_visible(MakKey))
    client = django_filters.ModelChoiceFilter(queryset=_visible(Client))

    class Meta:
        model = MakActivation
        fields = ["key", "client", "reason"]


class ActivationRequestFilterSet(django_filters.FilterSet):
    pool = django_filters.ModelChoiceFilter(
        queryset=_visible(MakPool), label=pgettext_lazy("MAK pool", "Pool")
    )
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices, label=_("Status"))

    class Meta:
        model = ActivationRequest
        fields = ["pool", "status"]


# --- licences ----------------------------------------------------------------------------------


class AgreementFilterSet(django_filters.FilterSet):
    programme = django_filters.ChoiceFilter(
        choices=Programme.choices, empty_label=_("Any programme"), label=_("Programme")
    )
    q = django_filters.CharFilter(method="search", label=_("Number or reseller"))

    class Meta:
        model = Agreement
        fields = ["programme", "q"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__icontains=value) | Q(reseller__icontains=value))


class LicencePositionFilterSet(django_filters.FilterSet):
    """The licence position page, its CSV and `/api/v1/licence-position/`."""

    product = django_filters.ChoiceFilter(
        method="filter_product",
        choices=Product.choices,
        empty_label=_("Any product"),
        label=_("Product"),
    )
    version = django_filters.ChoiceFilter(
        choices=OfficeVersion.choices, empty_label=_("Any version"), label=_("Version")
    )
    short = django_filters.BooleanFilter(method="filter_short", label=_("Under-licensed only"))

    class Meta:
        model = LicencePosition
        fields = ["product", "version", "short"]

    def filter_product(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(edition__product=value) if value else queryset

    def filter_short(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(shortfall__gt=0) if value else queryset.filter(shortfall=0)
