"""Forms of the webhook destinations page and of a person's notification choices."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from licensing.models import WebhookKind
from licensing.services.notify import EVENTS

_EVENT_CHOICES = list(EVENTS.items())


def _events_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("Events"),
        choices=_EVENT_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event."),
    )


class WebhookDestinationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=WebhookKind.choices)
    # Checked by the service (https only in production); stored encrypted, never shown again.
    url = forms.CharField(
        label=_("Webhook URL"),
        max_length=2000,
        widget=forms.PasswordInput(render_value=False),
        help_text=_(
            "Teams: a Workflows “When a Teams webhook request is received” URL. Slack: an "
            "incoming-webhook URL. Stored encrypted and never shown again."
        ),
    )
    secret = forms.CharField(
        label=_("Signing secret (generic JSON only)"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty and the portal makes one (shown once after saving)."),
    )
    events = _events_field()


class WebhookDestinationEditForm(forms.Form):
    events = _events_field()
    enabled = forms.BooleanField(label=_("Enabled"), required=False)
    url = forms.CharField(
        label=_("New webhook URL"),
        required=False,
        max_length=2000,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the stored URL."),
    )


class NotificationChoicesForm(forms.Form):
    email_events = forms.MultipleChoiceField(
        label=_("E-mail me about"),
        choices=_EVENT_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Untick an event to stop its e-mails to you (you still get them only where "
            "your role receives them)."
        ),
    )
