"""The personal and agent API token form (reporter tokens are created on the host page)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from licensing.models import TokenScope


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Where the token is used, e.g. 'nightly CSV export'."),
    )
    scope = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (TokenScope.USER, TokenScope.USER.label),
            (TokenScope.AGENT, TokenScope.AGENT.label),
        ],
    )
    days = forms.IntegerField(
        label=_("Valid for (days)"),
        min_value=1,
        max_value=settings.API_TOKEN_MAX_DAYS,
        initial=settings.API_TOKEN_DEFAULT_DAYS,
    )
