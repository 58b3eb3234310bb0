"""Template tags of the sign-in pages (templates/account/login.html)."""

from django import template
from django.conf import settings
from django.utils.translation import gettext_lazy as _

register = template.Library()


@register.simple_tag
def password_sign_in_enabled() -> bool:
    """The username/password form is shown for local accounts or the directory."""
    return bool(settings.SIGNIN_LOCAL_ENABLED or settings.LDAP_SERVER_URI)


@register.simple_tag
def directory_sign_in_enabled() -> bool:
    return bool(settings.LDAP_SERVER_URI)


METHOD_LABELS = {
    "password": _("password"),
    "ldap": _("company directory"),
    "sso": _("single sign-on"),
    "mfa:totp": _("authenticator app"),
    "mfa:webauthn": _("passkey"),
    "mfa:recovery_codes": _("recovery code"),
    "password_reset": _("password reset"),
}
# The second factors a person has set up (allauth's Authenticator types), for the account page.
AUTHENTICATOR_LABELS = {
    "totp": _("authenticator app"),
    "webauthn": _("passkeys"),
    "recovery_codes": _("recovery codes"),
}


@register.filter
def sign_in_methods(methods: object) -> str:
    """["password", "mfa:totp"] -> "password + authenticator app"."""
    if not isinstance(methods, list | tuple):
        return ""
    return " + ".join(str(METHOD_LABELS.get(str(m), m)) for m in methods)


@register.filter
def authenticator_kinds(kinds: object) -> str:
    """["recovery_codes", "totp"] -> "recovery codes, authenticator app"."""
    if not isinstance(kinds, list | tuple):
        return ""
    return ", ".join(str(AUTHENTICATOR_LABELS.get(str(k), k)) for k in kinds)
