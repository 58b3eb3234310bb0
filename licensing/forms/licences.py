"""Forms of the licences area. They only check types and sizes; the rules live in the services
(`licensing/services/licences/`)."""

from __future__ import annotations

from django import forms

from licensing.forms.uploads import CsvUploadForm
from licensing.models import MAX_LICENCE_QUANTITY, Edition, OfficeVersion, Product, Programme
from licensing.services.licences.entitlements import MAX_IMPORT_BYTES


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(format="%Y-%m-%d", **kwargs)


class AgreementForm(forms.Form):
    programme = forms.ChoiceField(choices=Programme.choices)
    number = forms.CharField(label="Agreement / enrolment number", max_length=60)
    starts_on = forms.DateField(label="Start", widget=DateInput())
    ends_on = forms.DateField(label="End", required=False, widget=DateInput())
    sa_ends_on = forms.DateField(
        label="Software Assurance end",
        required=False,
        widget=DateInput(),
        help_text="Admins and managers are e-mailed 90 and 30 days ahead of each end.",
    )
    reseller = forms.CharField(max_length=120, required=False)
    notes = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class EntitlementForm(forms.Form):
    edition = forms.ModelChoiceField(
        queryset=Edition.objects.order_by("product", "application", "-version", "name"),
        empty_label="Choose an edition",
    )
    quantity = forms.IntegerField(min_value=1, max_value=MAX_LICENCE_QUANTITY, label="Licences")
    acquired_on = forms.DateField(
        label="Acquired", required=False, widget=DateInput(), help_text="Default: the start."
    )
    downgrade_rights = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Volume licences may run an earlier version of the same edition.",
    )
    note = forms.CharField(max_length=200, required=False)


class EntitlementImportForm(CsvUploadForm):
    max_bytes = MAX_IMPORT_BYTES
    file = forms.FileField(
        label="CSV file",
        help_text="Header row: edition, quantity, acquired_on (optional), downgrade_rights "
        "(optional), note (optional).",
    )


class TrueUpForm(forms.Form):
    on = forms.DateField(label="True-up date", widget=DateInput())


class EditionForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="For example: Access LTSC 2024.")
    version = forms.ChoiceField(choices=OfficeVersion.choices)
    product = forms.ChoiceField(choices=Product.choices, initial=Product.APPLICATION)
    application = forms.CharField(
        max_length=60,
        required=False,
        help_text="Single applications only (Access, Excel, ...): downgrade rights run within it.",
    )
    gvlk = forms.CharField(
        label="GVLK",
        max_length=29,
        help_text="The public KMS client setup key, XXXXX-XXXXX-XXXXX-XXXXX-XXXXX.",
    )
    sku_id = forms.CharField(label="SKU id", max_length=36, required=False)
