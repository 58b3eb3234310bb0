"""django-allauth adapters: the portal's rules for local accounts and single sign-on."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django import forms
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from licensing.services import audit
from licensing.services.signin import ldap as directory


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "username_password_mismatch": gettext_lazy(
            "Please enter a correct username and password. Note that both fields may be "
            "case-sensitive."
        ),
    }

    def is_open_for_signup(self, request: Any) -> bool:
        # Accounts come from an administrator, single sign-on or the directory; no self sign-up.
        return False

    def get_client_ip(self, request: Any) -> str:
        return audit.client_ip(request) or ""

    def authenticate(self, request: Any, **credentials: Any) -> Any:
        user = super().authenticate(request, **credentials)
        if (
            user is not None
            and not settings.SIGNIN_LOCAL_ENABLED
            and getattr(user, "backend", "") != directory.BACKEND_PATH
        ):
            # Local passwords are switched off: only the directory's count. Counted as a failure.
            user_login_failed.send(
                sender=__name__,
                credentials={"username": credentials.get("username", "")},
                request=request,
            )
            return None
        if user is None and getattr(request, directory.DIRECTORY_UNREACHABLE, False):
            raise forms.ValidationError(
                _(
                    "The company directory could not be reached, so directory accounts cannot "
                    "sign in right now. Try again in a few minutes."
                ),
                code="directory_unreachable",
            )
        return user


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: Any, sociallogin: Any) -> bool:
        # The first single sign-on creates the account; its organisations come from the mapping.
        return True
