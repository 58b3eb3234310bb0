from __future__ import annotations

from allauth.account.forms import LoginForm as AllauthLoginForm
from django import forms


class LoginForm(AllauthLoginForm):
    """allauth's login form, posted as `username` and `password` (the names the portal, password
    managers and scripts have always used), labelled for the portal."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "Username"
        self.fields["login"].widget.attrs.update(
            {"autocomplete": "username", "autofocus": True, "placeholder": ""}
        )
        self.fields["password"].widget.attrs.update({"placeholder": ""})

    def add_prefix(self, field_name: str) -> str:
        name = super().add_prefix(field_name)
        return "username" if field_name == "login" else name


class SecondFactorConfirmForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )
