"""Forms of the MAK area. They only check types and sizes; the rules live in the services."""

from __future__ import annotations

from django import forms
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from licensing.forms.uploads import CsvUploadForm
from licensing.models import (
    MAX_REQUESTED_ACTIVATIONS,
    ActivationReason,
    Agreement,
    Edition,
    MakKey,
    MakKeyStatus,
    MakPool,
)
from licensing.services.mak.vault import MAX_IMPORT_BYTES, MAX_KEY_ACTIVATIONS


class SecretInput(forms.TextInput):
    """A text input that never renders its value: a typed product key is not sent back."""

    def format_value(self, value):  # type: ignore[no-untyped-def]
        return None


class PoolForm(forms.Form):
    edition = forms.ModelChoiceField(
        queryset=Edition.objects.all(), label=_("Edition"), empty_label=_("Choose an edition")
    )
    agreement_number = forms.CharField(
        label=_("Agreement / enrollment number or licence id"), max_length=60, required=False
    )
    low_water_mark = forms.IntegerField(
        min_value=0,
        max_value=MAX_KEY_ACTIVATIONS,
        initial=10,
        label=_("Low water mark"),
        help_text=_("Admins are e-mailed when fewer activations than this are left."),
    )

    def __init__(self, *args, organisation=None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if organisation is not None:
            self.fields["edition"].queryset = Edition.objects.exclude(
                pk__in=MakPool.objects.filter(organisation=organisation).values("edition_id")
            )


class PoolSettingsForm(forms.Form):
    agreement_number = forms.CharField(
        label=_("Agreement / enrollment number or licence id"), max_length=60, required=False
    )
    low_water_mark = forms.IntegerField(
        min_value=0, max_value=MAX_KEY_ACTIVATIONS, label=_("Low water mark")
    )


class KeyAddForm(forms.Form):
    # autocomplete off: browsers must not remember product keys.
    key = forms.CharField(
        label=_("Product key"),
        max_length=40,
        widget=SecretInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("25 characters, five groups of five (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX)."),
    )
    activation_limit = forms.IntegerField(
        min_value=1, max_value=MAX_KEY_ACTIVATIONS, label=_("Activation limit")
    )
    activations_used = forms.IntegerField(
        min_value=0,
        max_value=MAX_KEY_ACTIVATIONS,
        required=False,
        initial=0,
        label=_("Activations used"),
        help_text=_("Activations used before the key was added to the portal."),
    )
    label = forms.CharField(max_length=120, required=False, label=_("Label"))


class KeyImportForm(CsvUploadForm):
    max_bytes = MAX_IMPORT_BYTES
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Header row: key, activation_limit, activations_used (optional), label (optional)."
        ),
    )


class BlockForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        label=_("Reason"),
        help_text=_("Leaked, blocked by Microsoft (0xC004C003), ..."),
    )


class MicrosoftRemainingForm(forms.Form):
    remaining = forms.IntegerField(
        min_value=0,
        max_value=MAX_KEY_ACTIVATIONS,
        label=_("Remaining according to Microsoft"),
        help_text=_(
            "From the Microsoft 365 admin center (Keys tab) or VAMT's 'Refresh product key data online'."
        ),
    )


class RecordActivationForm(forms.Form):
    hostname = forms.CharField(max_length=253, label=_("Client hostname"))
    reason = forms.ChoiceField(choices=ActivationReason.choices, label=_("Reason"))
    note = forms.CharField(max_length=500, required=False, label=_("Note"))


class ActivationRequestForm(forms.Form):
    key = forms.ModelChoiceField(
        queryset=MakKey.objects.none(),
        empty_label=None,
        label=_("Key to extend"),
        help_text=_("Microsoft's form asks for the last five characters of the key."),
    )
    agreement_number = forms.CharField(
        label=_("Agreement / enrollment number or licence id"), max_length=60
    )
    product_name = forms.CharField(
        max_length=120,
        label=_("Product name"),
        help_text=_("Product name including version and edition."),
    )
    # Bounds are checked by the service (clear messages for 0, negative and absurd numbers);
    # the form only makes sure it is a number.
    quantity = forms.IntegerField(
        label=_("Number of extra activations"),
        help_text=format_lazy(
            _("Between 1 and {maximum}."),
            maximum=lazy(lambda: intcomma(MAX_REQUESTED_ACTIVATIONS), str)(),
        ),
    )
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        label=_("Business justification"),
        help_text=_("Why the extra activations are needed (Microsoft grants them by exception)."),
    )

    def __init__(self, *args, pool: MakPool, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["key"].queryset = pool.keys.exclude(status=MakKeyStatus.BLOCKED).order_by("id")
        # Once the organisation records its agreements, the number is picked from them; the
        # numbers used before (the pool's, earlier requests') stay choices. Without agreements
        # it is typed as before.
        numbers = [
            (a.number, a.title)
            for a in Agreement.objects.filter(organisation_id=pool.organisation_id).order_by(
                "number"
            )
        ]
        if numbers:
            known = {n for n, _label in numbers}
            earlier = [
                pool.agreement_number,
                *pool.requests.order_by("agreement_number")
                .values_list("agreement_number", flat=True)
                .distinct(),
            ]
            for number in earlier:
                if number and number not in known:
                    known.add(number)
                    numbers.append((number, number))
            self.fields["agreement_number"] = forms.ChoiceField(
                label=self.fields["agreement_number"].label,
                choices=[("", gettext("Choose an agreement")), *numbers],
                help_text=_("The organisation's agreements (recorded under Licences)."),
            )
        self.fields["key"].label_from_instance = lambda k: (
            gettext("…%(last5)s %(label)s (%(used)s/%(limit)s used)")
            % {
                "last5": k.last5,
                "label": k.label,
                "used": k.activations_used,
                "limit": k.activation_limit,
            }
        )


class DecisionForm(forms.Form):
    note = forms.CharField(max_length=2000, required=False, label=_("Note"))


class GrantForm(forms.Form):
    reference = forms.CharField(max_length=120, label=_("Microsoft's reference"))
