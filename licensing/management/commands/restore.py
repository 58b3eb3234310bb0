"""manage.py restore FILE: a backup into the configured (empty) database, then verified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from licensing.services import backup


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup` into the database at DATABASE_URL (an "
        "empty one, unless --replace), then verify it: every table's row count and the audit "
        "trail as in the backup, and every stored key decrypted with the configured "
        "FIELD_ENCRYPTION_KEYS and fingerprinted with KEY_FINGERPRINT_PEPPER. Exits non-zero "
        "with the reason when anything differs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The backup file written by `manage.py backup`.")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Drop and replace every table of a database that is not empty.",
        )
        parser.add_argument(
            "--verify-only",
            action="store_true",
            help="Restore nothing: compare the database and the configured secrets with the "
            "backup (e.g. after setting the right secrets).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            if options["verify_only"]:
                manifest = backup.read_manifest(path)
            else:
                manifest = backup.restore_backup(path, replace=options["replace"])
                self.stdout.write(f"Restored {path} (made {manifest['created_at']}).")
            result = backup.verify(manifest)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        if not result.ok:
            raise CommandError("Verification failed: " + " ".join(result.problems))
        self.stdout.write(
            f"Verified: {result.tables} tables and {result.rows} rows as in the backup, "
            f"{manifest['audit']['events']} audit events unchanged, all {result.keys.stored} "
            "stored keys decrypt with the configured secrets. Next: `manage.py migrate` (if the "
            "code is newer than the backup), then start the portal."
        )
