"""Forms of the organisation settings page."""

from __future__ import annotations

from django import forms


class OrganisationSettingsForm(forms.Form):
    # The range is the model's rule, checked by the service (its error lands on this field).
    at_risk_days = forms.IntegerField(
        label="At-risk days",
        help_text=(
            "A KMS client is flagged “at risk” when fewer days than this remain before its "
            "180-day activation validity ends (1 to 179)."
        ),
    )
