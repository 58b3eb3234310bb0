"""Product keys at rest: MultiFernet encryption, masking, and a keyed fingerprint.

Nothing here decrypts implicitly. `decrypt_product_key` is called only by the reveal services,
which write an audit entry in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from licensing.keyformat import KEY_ALPHABET, key_characters

MASK_GROUP = "•••••"
_KEY_CHARS = set(KEY_ALPHABET)


class InvalidProductKey(ValueError):
    """The text is not a product key. The message never repeats the key."""


@dataclass(frozen=True)
class SealedKey:
    ciphertext: str
    last5: str
    fingerprint: str


def normalise_product_key(raw: str) -> str:
    """Return the key as `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`, or raise InvalidProductKey.

    Accepts lower case, spaces, full-width characters (NFKC, one character for one) and the
    hyphen-less form Config.xml uses.
    """
    if not isinstance(raw, str):
        raise InvalidProductKey("A product key must be text.")
    compact = re.sub(r"[\s-]", "", key_characters(raw))
    if len(compact) != 25:
        raise InvalidProductKey(
            f"A product key has 25 characters in five groups of five; this one has {len(compact)}."
        )
    bad = sorted({c for c in compact if c not in _KEY_CHARS})
    if bad:
        raise InvalidProductKey(
            "A product key uses only the characters "
            f"{KEY_ALPHABET.replace('N', '')} (and at most one N); found {', '.join(bad)}."
        )
    if compact.count("N") > 1:
        raise InvalidProductKey("A product key contains at most one N.")
    return "-".join(compact[i : i + 5] for i in range(0, 25, 5))


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise RuntimeError("FIELD_ENCRYPTION_KEYS is empty: product keys cannot be stored.")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def fingerprint(normalised_key: str) -> str:
    if not settings.KEY_FINGERPRINT_PEPPER:
        raise RuntimeError("KEY_FINGERPRINT_PEPPER is empty: product keys cannot be stored.")
    pepper = settings.KEY_FINGERPRINT_PEPPER.encode()
    return hmac.new(pepper, normalised_key.encode(), hashlib.sha256).hexdigest()


def seal_product_key(raw: str) -> SealedKey:
    """Validate, encrypt and fingerprint a key. Raises InvalidProductKey."""
    key = normalise_product_key(raw)
    return SealedKey(
        ciphertext=fernet().encrypt(key.encode()).decode(),
        last5=key[-5:],
        fingerprint=fingerprint(key),
    )


def _decrypt(ciphertext: str, what: str) -> str:
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:  # never include the token in the message
        raise RuntimeError(
            f"A stored {what} could not be decrypted with any FIELD_ENCRYPTION_KEYS entry."
        ) from exc


def decrypt_product_key(ciphertext: str) -> str:
    return _decrypt(ciphertext, "key")


def rotate_ciphertext(ciphertext: str) -> str:
    """Re-encrypt under the newest key (the first of FIELD_ENCRYPTION_KEYS)."""
    return fernet().rotate(ciphertext.encode()).decode()


def mask_last5(last5: str) -> str:
    return "-".join([MASK_GROUP] * 4 + [last5 or "?????"])


def encrypt_secret(value: str) -> str:
    """Encrypt another secret (a webhook URL or signing key) the way product keys are: under the
    first FIELD_ENCRYPTION_KEYS entry; `rotate_field_keys` re-encrypts it."""
    return fernet().encrypt(value.encode()).decode()


def decrypt_secret(ciphertext: str) -> str:
    return _decrypt(ciphertext, "secret")
