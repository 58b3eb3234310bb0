"""Forms of the webhook destinations page and of a person's notification choices."""

from __future__ import annotations

from django import forms

from licensing.models import WebhookKind
from licensing.services.notify import EVENTS

_EVENT_CHOICES = list(EVENTS.items())


def _events_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label="Events",
        choices=_EVENT_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )


class WebhookDestinationForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    kind = forms.ChoiceField(label="Kind", choices=WebhookKind.choices)
    # Checked by the service (https only in production); stored encrypted, never shown again.
    url = forms.CharField(
        label="Webhook URL",
        max_length=2000,
        widget=forms.PasswordInput(render_value=False),
        help_text="Teams: a Workflows “When a Teams webhook request is received” URL. Slack: an "
        "incoming-webhook URL. Stored encrypted and never shown again.",
    )
    secret = forms.CharField(
        label="Signing secret (generic JSON only)",
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty and the portal makes one (shown once after saving).",
    )
    events = _events_field()


class WebhookDestinationEditForm(forms.Form):
    events = _events_field()
    enabled = forms.BooleanField(label="Enabled", required=False)
    url = forms.CharField(
        label="New webhook URL",
        required=False,
        max_length=2000,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored URL.",
    )


class NotificationChoicesForm(forms.Form):
    email_events = forms.MultipleChoiceField(
        label="E-mail me about",
        choices=_EVENT_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Untick an event to stop its e-mails to you (you still get them only where "
        "your role receives them).",
    )
