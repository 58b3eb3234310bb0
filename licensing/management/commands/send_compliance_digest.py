"""Send today's compliance digests now (the beat does it daily; a second run sends nothing)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from licensing.services.inventory.digest import send_daily_digests


class Command(BaseCommand):
    help = "Send each organisation's daily digest of newly flagged clients (once per day)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = send_daily_digests()
        self.stdout.write(
            f"{result['sent']} digest(s) sent, {result['skipped']} already sent today."
        )
