"""Guards for the processes that serve data (WSGI, Celery worker and beat)."""

import sys

from celery.apps.beat import Beat
from celery.apps.worker import Worker
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def require_secrets() -> None:
    """Refuse to start without the secrets production needs (see MISSING_SECRETS in settings)."""
    missing = settings.MISSING_SECRETS
    if missing:
        raise ImproperlyConfigured(
            " ".join(f"Set the {name} environment variable." for name in missing)
        )


def exit_without_secrets(process: str) -> None:
    """For the Celery processes: an exception in a Celery signal handler is only logged, so
    check before the process starts and exit non-zero with the reason on stderr."""
    try:
        require_secrets()
    except ImproperlyConfigured as exc:
        print(f"celery {process} refuses to start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(78) from None  # EX_CONFIG


class CheckedWorker(Worker):
    """`celery worker` (with or without -B): checks the secrets before anything starts."""

    def on_before_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        exit_without_secrets("worker")
        super().on_before_init(*args, **kwargs)


class CheckedBeat(Beat):
    """`celery beat`: checks the secrets before the scheduler starts."""

    def run(self) -> None:
        exit_without_secrets("beat")
        super().run()
