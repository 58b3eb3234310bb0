"""Forms of the organisation settings page."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class OrganisationSettingsForm(forms.Form):
    # The range is the model's rule, checked by the service (its error lands on this field).
    at_risk_days = forms.IntegerField(
        label=_("At-risk days"),
        help_text=_(
            "A KMS client is flagged “at risk” when fewer days than this remain before its "
            "180-day activation validity ends (1 to 179)."
        ),
    )
    stale_after_days = forms.IntegerField(
        label=_("Stale after (days without a report)"),
        required=False,
        help_text=_(
            "A client that has not reported for longer is marked “stale” on the client list "
            "and counted under Needs attention: retire it if it is gone (1 to 3650)."
        ),
    )
    language = forms.ChoiceField(
        label=_("Language of e-mails"),
        choices=settings.LANGUAGES,
        required=False,
        help_text=_(
            "E-mails and webhook messages are written in this language for members who have not "
            "chosen their own on their account page."
        ),
    )
