from __future__ import annotations

from allauth.account.forms import LoginForm as AllauthLoginForm
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from licensing.models import GroupSource, Role


class LoginForm(AllauthLoginForm):
    """allauth's login form, posted as `username` and `password` (the names the portal, password
    managers and scripts have always used), labelled for the portal."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"].label = _("Username")
        self.fields["login"].widget.attrs.update(
            {"autocomplete": "username", "autofocus": True, "placeholder": ""}
        )
        self.fields["password"].widget.attrs.update({"placeholder": ""})

    def add_prefix(self, field_name: str) -> str:
        name = super().add_prefix(field_name)
        return "username" if field_name == "login" else name


class SecondFactorConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ConfirmPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


class RequireSecondFactorForm(forms.Form):
    require_2fa = forms.BooleanField(
        required=False,
        label=_("Require two-factor authentication for every member"),
        help_text=_(
            "Members without a second factor are sent to set one up before anything "
            "else. Single sign-on members follow the identity provider's own policy."
        ),
    )


class GroupMappingForm(forms.Form):
    source = forms.ChoiceField(label=_("Source"), choices=GroupSource.choices)
    group = forms.CharField(
        label=_("Group"),
        max_length=500,
        help_text=_(
            "Single sign-on: the value in the groups claim (Entra ID: the group's object "
            "id). Directory: the group's distinguished name, e.g. "
            "CN=Licensing,OU=Groups,DC=corp,DC=example,DC=com."
        ),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("As my browser asks")), *settings.LANGUAGES],
        required=False,
        help_text=_("Pages and the e-mails you receive. CSV files and the API stay in English."),
    )
