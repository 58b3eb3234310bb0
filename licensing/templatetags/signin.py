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
