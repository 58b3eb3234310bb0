"""Guards for the processes that serve data (WSGI, Celery worker and beat)."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def require_secrets() -> None:
    """Refuse to start without the secrets production needs (see MISSING_SECRETS in settings)."""
    missing = settings.MISSING_SECRETS
    if missing:
        raise ImproperlyConfigured(
            " ".join(f"Set the {name} environment variable." for name in missing)
        )
