"""Template tags of the sign-in pages (templates/account/login.html)."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def password_sign_in_enabled() -> bool:
    """The username/password form is shown for local accounts or the directory."""
    return bool(settings.SIGNIN_LOCAL_ENABLED or settings.LDAP_SERVER_URI)


@register.simple_tag
def directory_sign_in_enabled() -> bool:
    return bool(settings.LDAP_SERVER_URI)


METHOD_LABELS = {
    "password": "password",
    "ldap": "company directory",
    "sso": "single sign-on",
    "mfa:totp": "authenticator app",
    "mfa:webauthn": "passkey",
    "mfa:recovery_codes": "recovery code",
    "password_reset": "password reset",
}


@register.filter
def sign_in_methods(methods: object) -> str:
    """["password", "mfa:totp"] -> "password + authenticator app"."""
    if not isinstance(methods, list | tuple):
        return ""
    return " + ".join(METHOD_LABELS.get(str(m), str(m)) for m in methods)
