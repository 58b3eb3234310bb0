"""The Confirmation ID form of the offline (proxy) activation queue (the shape is checked by
the service, `licensing.services.offline.activation.normalise_confirmation_id`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class ConfirmationForm(forms.Form):
    confirmation_id = forms.CharField(
        label=_("Confirmation ID"),
        max_length=120,
        help_text=_(
            "From Microsoft (telephone or a connected machine); spaces and dashes are fine."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, item_id: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"id_cid{item_id or ''}_%s")
        super().__init__(*args, **kwargs)


class OfflineImportForm(forms.Form):
    file = forms.FileField(
        label=_("CILX file with Confirmation IDs"),
        help_text=_(
            "The file exported here, after VAMT on a connected machine added the Confirmation IDs."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".cil,.cilx,.xml"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_offline_%s")
        super().__init__(*args, **kwargs)
