"""System checks: `check --deploy` fails while production secrets are missing."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def secrets_required(app_configs: Any, **kwargs: Any) -> list[Error]:
    return [
        Error(
            f"Set the {name} environment variable.",
            hint="See .env.example; secrets may also come from NAME_FILE paths.",
            id="portal.E001",
        )
        for name in settings.MISSING_SECRETS
    ]
