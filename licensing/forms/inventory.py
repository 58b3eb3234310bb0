"""Upload forms of the inventory import page (the rows themselves are checked by the service)."""

from __future__ import annotations

from typing import Any

from django import forms

from licensing.models import KmsHost, Organisation


class CsvImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 CSV with a header line; see the columns below.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Both upload forms share a page and a field name: ids of their own.
        kwargs.setdefault("auto_id", "id_csv_%s")
        super().__init__(*args, **kwargs)


class EventsImportForm(forms.Form):
    file = forms.FileField(
        label="Export file",
        help_text="CSV or text export of event 12290 from the KMS host.",
    )
    kms_host = forms.ModelChoiceField(
        label="KMS host",
        queryset=KmsHost.objects.none(),
        required=False,
        empty_label="(not recorded)",
        help_text="The host the export comes from: its clients are linked to it.",
    )

    def __init__(self, *args: Any, organisation: Organisation | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_events_%s")
        super().__init__(*args, **kwargs)
        self.fields["kms_host"].queryset = KmsHost.objects.for_organisation(organisation).filter(
            retired_at__isnull=True
        )


class CilImportForm(forms.Form):
    file = forms.FileField(
        label="CIL / CILX file",
        help_text="Saved or exported from VAMT (full, or 'Installation ID and Product ID only').",
        widget=forms.ClearableFileInput(attrs={"accept": ".cil,.cilx,.xml"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_cil_%s")
        super().__init__(*args, **kwargs)
