"""Import a CSV inventory file into an organisation: `manage.py import_inventory ORG_SLUG FILE`.

The same service as the upload page (set-based, all or nothing for a bad file, a rejection
report for bad rows), without the upload page's row limit (INVENTORY_CSV_MAX_ROWS applies)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from licensing.models import ImportStatus, Organisation
from licensing.services.inventory.csv_import import import_csv
from licensing.services.inventory.runs import rejected_rows_csv


class Command(BaseCommand):
    help = "Import a CSV inventory file (see README: Client inventory) into an organisation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organisation", help="Organisation slug")
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--report", type=Path, help="Write the rejected rows (CSV) to this file."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organisation.objects.filter(slug=options["organisation"]).first()
        if org is None:
            raise CommandError(f"No organisation with slug '{options['organisation']}'.")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        started = time.monotonic()
        with path.open("rb") as stream:
            run = import_csv(actor="cli", organisation=org, stream=stream, filename=path.name)
        seconds = time.monotonic() - started
        if run.status == ImportStatus.REFUSED:
            raise CommandError(f"Refused, nothing imported: {run.message}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Import #{run.pk}: {run.received:,} rows, {run.created:,} created, {run.updated:,} updated, "
                f"{run.unchanged:,} unchanged, {run.rejected:,} rejected in {seconds:.1f}s."
            )
        )
        if run.rejected and options["report"]:
            with options["report"].open("wb") as out:
                for chunk in rejected_rows_csv(run):
                    out.write(chunk)
            self.stdout.write(f"Rejected rows written to {options['report']}.")
        elif run.rejected:
            self.stdout.write("Rejected rows: see the import page, or rerun with --report FILE.")
