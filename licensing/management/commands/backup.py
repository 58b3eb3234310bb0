"""manage.py backup FILE: the database and its manifest in one file (see services/backup.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from licensing.services import backup


class Command(BaseCommand):
    help = (
        "Back up the portal's database (pg_dump, one snapshot) with a manifest of row counts, "
        "the audit trail's digest and the ids of the secrets in force. The backup does NOT "
        "contain FIELD_ENCRYPTION_KEYS or KEY_FINGERPRINT_PEPPER: keep them apart from it "
        "(--secrets-file writes them to a separate file), or the restored key vault is lost."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Where to write the backup (a .tar file).")
        parser.add_argument(
            "--secrets-file",
            help="Also write FIELD_ENCRYPTION_KEYS and KEY_FINGERPRINT_PEPPER to this file "
            "(mode 0600). Store it apart from the backup, e.g. in your password vault.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Make the backup even when some stored keys cannot be read with the "
            "configured secrets.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if path.is_dir():
            raise CommandError(f"{path} is a folder: give the name of the backup file.")
        try:
            result = backup.create_backup(path)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        m = result.manifest
        self.stdout.write(
            f"Backup written to {path}: {len(m['tables'])} tables, {sum(m['tables'].values())} "
            f"rows, {m['audit']['events']} audit events, {m['stored_keys']} encrypted keys."
        )
        if options["secrets_file"]:
            backup.write_secrets_file(Path(options["secrets_file"]))
            self.stdout.write(f"Secrets written to {options['secrets_file']} (mode 0600).")
        ids = m["secrets"]
        self.stdout.write(
            "REMEMBER: this backup cannot be read without FIELD_ENCRYPTION_KEYS (ids "
            f"{', '.join(ids['field_encryption_keys'])}) and KEY_FINGERPRINT_PEPPER (id "
            f"{ids['key_fingerprint_pepper']}). They are not in the backup: keep them, apart "
            "from it, as long as you keep the backup."
        )
        if not result.keys.ok:
            message = (
                f"{result.keys.problem()} The configured secrets are not the ones the stored "
                "keys need: a restore with them would not open the vault."
            )
            if not options["force"]:
                raise CommandError(message + " (The backup file was written; --force silences.)")
            self.stderr.write("WARNING: " + message)
