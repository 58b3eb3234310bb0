"""Re-encrypt every stored product key (MAK keys and KMS host keys) under the newest
FIELD_ENCRYPTION_KEYS entry, in batches.

Idempotent: a ciphertext that the newest key already decrypts is left alone, so a rerun (or a
run interrupted half-way and started again) only touches what is still under an old key.
Nothing here logs, prints or returns a key; only counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models, transaction

from licensing.crypto import rotate_ciphertext
from licensing.models import KmsHost, MakKey, WebhookDestination

BATCH_SIZE = 500


@dataclass
class RotationCount:
    label: str
    rotated: int = 0
    current: int = 0


def _is_current(newest: Fernet, ciphertext: str) -> bool:
    try:
        newest.decrypt(ciphertext.encode())
    except InvalidToken:
        return False
    return True


def _rotate_table(
    model: type[models.Model], field: str, label: str, batch_size: int
) -> RotationCount:
    newest = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode())
    count = RotationCount(label)
    last_id = 0
    while True:
        with transaction.atomic():
            rows = list(
                model.objects.select_for_update()
                .filter(pk__gt=last_id)
                .exclude(**{field: ""})
                .order_by("pk")
                .values_list("pk", field)[:batch_size]
            )
            if not rows:
                return count
            for pk, ciphertext in rows:
                if _is_current(newest, ciphertext):
                    count.current += 1
                    continue
                # rotate_ciphertext raises if no configured key decrypts the value.
                model.objects.filter(pk=pk).update(**{field: rotate_ciphertext(ciphertext)})
                count.rotated += 1
            last_id = rows[-1][0]


def rotate_all(*, batch_size: int = BATCH_SIZE) -> list[RotationCount]:
    return [
        _rotate_table(MakKey, "ciphertext", "MAK keys", batch_size),
        _rotate_table(KmsHost, "host_key_ciphertext", "KMS host keys", batch_size),
        _rotate_table(WebhookDestination, "url_ciphertext", "Webhook URLs", batch_size),
        _rotate_table(
            WebhookDestination, "secret_ciphertext", "Webhook signing secrets", batch_size
        ),
    ]
