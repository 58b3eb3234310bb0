"""The OpenAPI schema states what the API does (drf-spectacular postprocessing hook): every
operation documents the one error shape (`Error`, licensing/api/errors.py) for each 4xx it can
answer, and the 503 of a database outage."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "description": "The one error shape of every 4xx (and 503).",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Messages by field (nested fields as `clients.3.hostname`).",
        },
    },
    "required": ["detail", "code"],
}

# status: (when, operations it applies to: "all" or "body" = operations taking a body)
STATUSES: dict[str, tuple[str, str]] = {
    "400": ("Invalid input: a field, a query parameter or a rule of the domain.", "all"),
    "401": ("No credentials, or an unknown, revoked or expired token.", "all"),
    "403": ("The role may not do this, or a session write without its CSRF token.", "all"),
    "404": (
        "Not found: an object of another organisation, an organisation you do not belong "
        "to, or an agent/reporter token outside its endpoints.",
        "all",
    ),
    "405": ("The method is not allowed here.", "all"),
    "406": ("The Accept header asks for something other than JSON.", "all"),
    "409": ("The change conflicts with the current state (e.g. already decided).", "body"),
    "413": ("The body is larger than API_MAX_BODY_BYTES (or a report over its limit).", "body"),
    "415": ("The body is not of a media type the operation takes (JSON).", "body"),
    "429": ("Throttled: too many requests for this token or user.", "all"),
    "503": ("The database is unavailable (with Retry-After).", "all"),
}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    ref = {"$ref": "#/components/schemas/Error"}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status, (description, applies) in STATUSES.items():
                if applies == "body" and method == "get":
                    continue
                current = responses.get(status)
                if current is None:
                    responses[status] = {
                        "description": description,
                        "content": {"application/json": {"schema": ref}},
                    }
                elif "content" not in current:
                    current["content"] = {"application/json": {"schema": ref}}
    return result
