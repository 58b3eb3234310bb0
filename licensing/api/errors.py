"""The API's one error shape, for every 4xx (and the 503 of a database outage):

    {"detail": "<a sentence>", "code": "<machine code>", "errors": {"<field>": ["<message>"]}}

`errors` only when fields are at fault (nested fields as `clients.3.hostname`). Domain errors
(licensing/services/errors.py) keep their status and code; DRF's own (validation 400, 401,
403, 404, 405, 406, 415, 429) are reshaped here; a database outage passes through to
`DatabaseUnavailableMiddleware` (503)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from licensing.services.errors import DomainError


def _flatten(detail: Any, prefix: str, out: dict[str, list[str]]) -> None:
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key == "non_field_errors" and not prefix else str(key)
            _flatten(value, f"{prefix}.{name}" if prefix else name, out)
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for index, value in enumerate(detail):
            if value:
                _flatten(value, f"{prefix}.{index}" if prefix else str(index), out)
    elif isinstance(detail, list):
        out.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in detail)
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))


def field_errors(detail: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    _flatten(detail, "", out)
    return out


def _first_code(codes: Any) -> str:
    while isinstance(codes, dict | list) and codes:
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return codes if isinstance(codes, str) and codes else "invalid"


def _only_missing_objects(detail: Any) -> bool:
    """A body naming an object by id that does not exist (or is not the caller's): 404, as
    for every object named by id (the organisation rule), not a 400."""
    codes = [c for c in _all_codes(detail)]
    return bool(codes) and all(c == "does_not_exist" for c in codes)


def _all_codes(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [c for v in detail.values() for c in _all_codes(v)]
    if isinstance(detail, list):
        return [c for v in detail for c in _all_codes(v)]
    return [getattr(detail, "code", "") or ""]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, exceptions.ValidationError) and _only_missing_objects(exc.detail):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        messages = [m for msgs in errors.values() for m in msgs]
        detail = messages[0] if len(messages) == 1 else "The request has invalid fields."
        body: dict[str, Any] = {"detail": detail, "code": "invalid", "errors": errors}
    else:
        detail = exc.detail
        if isinstance(detail, dict | list):
            body = {"detail": "The request was refused.", "code": _first_code(exc.get_codes())}
            body["errors"] = field_errors(detail)
        else:
            body = {
                "detail": str(detail),
                "code": getattr(detail, "code", None) or exc.default_code,
            }
    response.data = body
    return response
