"""Forms of the licences area. They only check types and sizes; the rules live in the services
(`licensing/services/licences/`)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from licensing.forms.uploads import CsvUploadForm
from licensing.models import MAX_LICENCE_QUANTITY, Edition, OfficeVersion, Product, Programme
from licensing.services.licences.entitlements import MAX_IMPORT_BYTES


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(format="%Y-%m-%d", **kwargs)


class AgreementForm(forms.Form):
    programme = forms.ChoiceField(choices=Programme.choices, label=_("Programme"))
    number = forms.CharField(label=_("Agreement / enrolment number"), max_length=60)
    starts_on = forms.DateField(label=_("Start"), widget=DateInput())
    ends_on = forms.DateField(label=_("End"), required=False, widget=DateInput())
    sa_ends_on = forms.DateField(
        label=_("Software Assurance end"),
        required=False,
        widget=DateInput(),
        help_text=_("Admins and managers are e-mailed 90 and 30 days ahead of each end."),
    )
    reseller = forms.CharField(max_length=120, required=False, label=_("Reseller"))
    notes = forms.CharField(
        max_length=2000, required=False, label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3})
    )


class EntitlementForm(forms.Form):
    edition = forms.ModelChoiceField(
        queryset=Edition.objects.order_by("product", "application", "-version", "name"),
        label=_("Edition"),
        empty_label=_("Choose an edition"),
    )
    quantity = forms.IntegerField(min_value=1, max_value=MAX_LICENCE_QUANTITY, label=_("Licences"))
    acquired_on = forms.DateField(
        label=_("Acquired"),
        required=False,
        widget=DateInput(),
        help_text=_("Default: the start."),
    )
    downgrade_rights = forms.BooleanField(
        required=False,
        initial=True,
        label=_("Downgrade rights"),
        help_text=_("Volume licences may run an earlier version of the same edition."),
    )
    note = forms.CharField(max_length=200, required=False, label=_("Note"))


class EntitlementImportForm(CsvUploadForm):
    max_bytes = MAX_IMPORT_BYTES
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Header row: edition, quantity, acquired_on (optional), downgrade_rights "
            "(optional), note (optional)."
        ),
    )


class TrueUpForm(forms.Form):
    on = forms.DateField(label=_("True-up date"), widget=DateInput())


class EditionForm(forms.Form):
    name = forms.CharField(
        max_length=120, label=_("Name"), help_text=_("For example: Access LTSC 2024.")
    )
    version = forms.ChoiceField(choices=OfficeVersion.choices, label=_("Version"))
    product = forms.ChoiceField(
        choices=Product.choices, initial=Product.APPLICATION, label=_("Product line")
    )
    application = forms.CharField(
        max_length=60,
        required=False,
        label=_("Application"),
        help_text=_(
            "Single applications only (Access, Excel, ...): downgrade rights run within it."
        ),
    )
    gvlk = forms.CharField(
        label="GVLK",
        max_length=29,
        help_text=_("The public KMS client setup key, XXXXX-XXXXX-XXXXX-XXXXX-XXXXX."),
    )
    sku_id = forms.CharField(label=_("SKU id"), max_length=36, required=False)
