"""Re-flag clients now: `manage.py sweep_compliance [--full] [--organisation SLUG]`.

Without --full only rows whose recheck time has come are visited (what the beat runs every few
minutes); --full recomputes every client (after changing an organisation's at-risk days, or
once after upgrading)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from licensing.models import Organisation
from licensing.services.inventory.sweep import sweep


class Command(BaseCommand):
    help = "Run the compliance sweep now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="Recompute every client.")
        parser.add_argument("--organisation", help="Only this organisation (slug).")

    def handle(self, *args: Any, **options: Any) -> None:
        org_id = None
        if options["organisation"]:
            org = Organisation.objects.filter(slug=options["organisation"]).first()
            if org is None:
                raise CommandError(f"No organisation with slug '{options['organisation']}'.")
            org_id = org.pk
        result = sweep(organisation_id=org_id, full=options["full"], changed_by="cli", wait=True)
        by_flag = ", ".join(f"{k} {v:,}" for k, v in sorted(result.by_flag.items())) or "none"
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.changed:,} rows rewritten, {result.flagged:,} flag changes ({by_flag})."
            )
        )
