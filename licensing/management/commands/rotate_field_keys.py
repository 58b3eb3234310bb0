"""Re-encrypt every MAK key and KMS host key under the newest FIELD_ENCRYPTION_KEYS entry.

1. Put a new Fernet key FIRST in FIELD_ENCRYPTION_KEYS (keep the old ones after it).
2. Restart the portal and workers, then run: python manage.py rotate_field_keys
3. When it reports 0 rotated on a second run, drop the old keys from the variable.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError, CommandParser

from licensing.services import audit
from licensing.services.key_rotation import BATCH_SIZE, rotate_all


class Command(BaseCommand):
    help = "Re-encrypt stored MAK and KMS host keys under the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            counts = rotate_all(batch_size=options["batch_size"])
        except (InvalidToken, RuntimeError) as exc:
            raise CommandError(
                "A stored key could not be decrypted with any FIELD_ENCRYPTION_KEYS entry; "
                "keep the old key in the list until rotation has finished."
            ) from exc
        for c in counts:
            self.stdout.write(f"{c.label}: {c.rotated} re-encrypted, {c.current} already current.")
        audit.record(
            action="field_keys.rotate",
            actor="cli",
            changes={c.label: {"rotated": c.rotated, "current": c.current} for c in counts},
        )
