"""Upload forms of the inventory import page (the rows themselves are checked by the service)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from licensing.models import KmsHost, Organisation
from licensing.services.inventory.csv_mapping import FIELD_LABELS


class CsvImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 CSV with a header line; see the columns below."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    preview = forms.BooleanField(
        label=_("Preview and map the columns first"),
        required=False,
        help_text=_(
            "A file with other column names (SCCM/MECM, Lansweeper, a spreadsheet) always "
            "gets the preview."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Both upload forms share a page and a field name: ids of their own.
        kwargs.setdefault("auto_id", "id_csv_%s")
        super().__init__(*args, **kwargs)


class CsvMappingForm(forms.Form):
    """One select per column of the uploaded file: a portal field or "ignore"."""

    def __init__(
        self, *args: Any, header: list[str], suggested: list[str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("Ignore this column")), *FIELD_LABELS.items()]
        self.header = header
        for i, name in enumerate(header):
            self.fields[f"col_{i}"] = forms.ChoiceField(
                label=name[:100] or _("Column %(number)s") % {"number": i + 1},
                choices=choices,
                required=False,
                initial=(suggested or [""] * len(header))[i],
            )

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{i}", "") for i in range(len(self.header))]

    def columns(self) -> list[forms.BoundField]:
        return [self[f"col_{i}"] for i in range(len(self.header))]


class EventsImportForm(forms.Form):
    file = forms.FileField(
        label=_("Export file"),
        help_text=_("CSV or text export of event 12290 from the KMS host."),
    )
    kms_host = forms.ModelChoiceField(
        label=_("KMS host"),
        queryset=KmsHost.objects.none(),
        required=False,
        empty_label=_("(not recorded)"),
        help_text=_("The host the export comes from: its clients are linked to it."),
    )

    def __init__(self, *args: Any, organisation: Organisation | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_events_%s")
        super().__init__(*args, **kwargs)
        self.fields["kms_host"].queryset = KmsHost.objects.for_organisation(organisation).filter(
            retired_at__isnull=True
        )


class CilImportForm(forms.Form):
    file = forms.FileField(
        label=_("CIL / CILX file"),
        help_text=_(
            "Saved or exported from VAMT (full, or 'Installation ID and Product ID only')."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".cil,.cilx,.xml"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_cil_%s")
        super().__init__(*args, **kwargs)
