"""Request body parsers for the text that Windows tools print (posted by agents and scripts)."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers


class PlainTextParser(parsers.JSONParser):
    """text/plain: `{"text": <the decoded body>}` (encodings and BOMs by decode_upload)."""

    media_type = "text/plain"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        from licensing.parsers import decode_upload

        return {"text": decode_upload(stream.read())}


class RawTextParser(parsers.BaseParser):
    """The body as bytes, whatever the content type (text/plain from Invoke-RestMethod or
    curl --data-binary); the shared parser's decode_upload handles encodings and BOMs."""

    media_type = "*/*"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        return stream.read() if stream is not None else b""
