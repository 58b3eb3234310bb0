"""Print the parsed form of an `slmgr.vbs /dlv` or `ospp.vbs /dstatus` output as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from licensing.parsers import UnreadableStatusText, decode_upload, parse_status

EXIT_UNREADABLE = 2


class Command(BaseCommand):
    help = (
        "Parse the text of `slmgr.vbs /dlv` (or /dli) or `ospp.vbs /dstatus` and print one JSON "
        'object: {"format": "slmgr_dlv" | "ospp_dstatus", "licenses": [...]}, each licence with '
        "name, description, sku_id, status (unlicensed, licensed, oob_grace, oot_grace, "
        "non_genuine_grace, notification, extended_grace), error_code, grace_minutes, last5, "
        "kms_client (cmid, kms_host, kms_port, activation_interval_minutes, "
        "renewal_interval_minutes) and kms_host (current_count, port, dns_publishing, priority, "
        "total_requests, failed_requests, requests_by_status); null where the text gives no "
        "value. The file may be UTF-8, UTF-16 (with BOM) or cp1252. Text that cannot be read "
        "prints the reason on stderr and exits with status 2; a file that cannot be opened "
        "exits with status 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path of the saved output, or - to read standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        data = self._read(options["file"])
        try:
            document = parse_status(decode_upload(data))
        except UnreadableStatusText as exc:
            raise CommandError(
                f"cannot read {options['file']}: {exc.reason}", returncode=EXIT_UNREADABLE
            ) from exc
        self.stdout.write(json.dumps(document.to_dict(), indent=2, ensure_ascii=False))

    def _read(self, name: str) -> bytes:
        if name == "-":
            binary = getattr(sys.stdin, "buffer", None)
            return binary.read() if binary is not None else sys.stdin.read().encode("utf-8")
        try:
            return Path(name).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot open {name}: {exc.strerror or exc}") from exc
