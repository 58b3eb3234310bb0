"""Import a KMS host's event 12290 export: `manage.py import_kms_events ORG_SLUG FILE [--host FQDN]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from licensing.models import ImportStatus, KmsHost, Organisation
from licensing.services.inventory.events import import_kms_events


class Command(BaseCommand):
    help = "Import an event 12290 export (CSV or text) of a KMS host into an organisation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organisation", help="Organisation slug")
        parser.add_argument("file", type=Path)
        parser.add_argument("--host", help="FQDN of the KMS host the export comes from")

    def handle(self, *args: Any, **options: Any) -> None:
        from licensing.parsers import decode_upload

        org = Organisation.objects.filter(slug=options["organisation"]).first()
        if org is None:
            raise CommandError(f"No organisation with slug '{options['organisation']}'.")
        host = None
        if options["host"]:
            host = KmsHost.objects.filter(organisation=org, fqdn__iexact=options["host"]).first()
            if host is None:
                raise CommandError(f"{org.name} has no KMS host '{options['host']}'.")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        run = import_kms_events(
            actor="cli",
            organisation=org,
            text=decode_upload(path.read_bytes()),
            filename=path.name,
            kms_host=host,
        )
        if run.status == ImportStatus.REFUSED:
            raise CommandError(f"Refused, nothing imported: {run.message}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Import #{run.pk}: {run.message} {run.created:,} created, {run.updated:,} updated, "
                f"{run.unchanged:,} unchanged, {run.rejected:,} rejected."
            )
        )
