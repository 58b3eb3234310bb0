"""The API's one parser layer: every request body is read here, bounded in bytes, and JSON is
bounded in nesting depth and in its numbers, so that no body is a 500 (DRF's own JSON parser
lets a RecursionError through for `[` x 100,000, and `1e400` becomes an infinity that a
serializer's int() turns into an OverflowError). Integers of any size parse (Python's own
limit of 4,300 digits is a 400): every integer field bounds its own range. Text that Windows tools print (posted by
agents and scripts) comes through the same byte limit."""

from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from licensing.services.errors import TooLarge


def read_body(stream: Any, limit: int | None = None) -> bytes:
    """The body as bytes, refused with 413 past `API_MAX_BODY_BYTES` (read no further)."""
    limit = settings.API_MAX_BODY_BYTES if limit is None else limit
    if stream is None:
        return b""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(
            f"The request body is larger than {limit:,} bytes.",
            code="body_too_large",
        )
    return data


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:30]} is out of range")
    return value


def _parse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _depth_ok(value: Any, limit: int) -> bool:
    """Iteratively (no recursion): no list or object nested deeper than `limit`. One level at a
    time with plain loops and exact type tests (`json.loads` makes only dicts and lists): a
    5,000-record batch costs a few milliseconds, not a stack entry per value."""
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return False
        deeper = []
        for item in level:
            for child in item.values() if type(item) is dict else item:
                if type(child) is dict or type(child) is list:
                    deeper.append(child)
        level = deeper
    return True


def loads(data: bytes | str) -> Any:
    """Decode a JSON body strictly, or raise ParseError (400) with the reason."""
    limit = settings.API_MAX_JSON_DEPTH
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        value = json.loads(
            text,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except RecursionError:  # the C scanner stops at the interpreter's recursion limit
        raise ParseError(f"JSON nested deeper than {limit} levels is not accepted.") from None
    except ValueError as exc:
        raise ParseError(f"JSON parse error - {exc}") from None
    if not _depth_ok(value, limit):
        raise ParseError(f"JSON nested deeper than {limit} levels is not accepted.")
    return value


class SafeJSONParser(parsers.JSONParser):
    """application/json, bounded (see the module doc); the API's only JSON parser."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        data = read_body(stream)
        try:
            return loads(data)
        except UnicodeDecodeError:
            raise ParseError("JSON parse error - the body is not UTF-8.") from None


class PlainTextParser(parsers.BaseParser):
    """text/plain: `{"text": <the decoded body>}` (encodings and BOMs by decode_upload)."""

    media_type = "text/plain"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        from licensing.parsers import decode_upload

        return {"text": decode_upload(read_body(stream))}


class RawTextParser(parsers.BaseParser):
    """The body as bytes, whatever the content type (text/plain from Invoke-RestMethod or
    curl --data-binary); the shared parser's decode_upload handles encodings and BOMs."""

    media_type = "*/*"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        return read_body(stream)
