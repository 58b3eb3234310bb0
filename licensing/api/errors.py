"""The API's one mapping of domain errors (licensing/services/errors.py) to answers:
`status_code` with `{"detail", "code", "errors": {field: [messages]}}`. Everything else is
DRF's own handling (serializer errors 400, 401/403/404, throttling 429); a database outage
passes through to `DatabaseUnavailableMiddleware` (503)."""

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from licensing.services.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    return drf_exception_handler(exc, context)
