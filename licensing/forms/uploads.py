"""The CSV upload form every all-or-nothing import shares (MAK keys, licence lines): one file,
at most `max_bytes`, UTF-8 (a byte-order mark is dropped); `cleaned_data["file"]` is the text."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class CsvUploadForm(forms.Form):
    max_bytes = 1_000_000
    file = forms.FileField(label=_("CSV file"))

    def clean_file(self):  # type: ignore[no-untyped-def]
        f = self.cleaned_data["file"]
        if f.size > self.max_bytes:
            raise forms.ValidationError(
                gettext("The file is larger than %(size)s kB.") % {"size": self.max_bytes // 1000}
            )
        try:
            return f.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(gettext("Save the file as UTF-8 CSV.")) from None
