"""Product keys: shape checks, encryption at rest, masking, fingerprints, log redaction."""

import logging

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from licensing import crypto
from licensing.logging import RedactProductKeysFilter, redact
from tests.factories import product_key

KEY = "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB"  # Microsoft's public GVLK, safe to use in tests


@pytest.mark.parametrize(
    "raw", [KEY, KEY.lower(), KEY.replace("-", ""), f"  {KEY}  ", KEY.replace("-", " ")]
)
def test_it_accepts_the_usual_spellings_of_a_key(raw):
    assert crypto.normalise_product_key(raw) == KEY


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("XJ2XN-FW8RK-P4HMP-DKDBV", "25 characters"),
        ("XJ2XN-FW8RK-P4HMP-DKDBV-GCVGBB", "25 characters"),
        ("AJ2XN-FW8RK-P4HMP-DKDBV-GCVGB", "found A"),
        ("XJ2XN-FW8RK-P4HMP-DKDBV-GCVG0", "found 0"),
        ("NJ2XN-FW8RK-P4HMP-DKDBV-GCVGB", "at most one N"),
        ("", "25 characters"),
    ],
)
def test_it_rejects_malformed_keys_without_echoing_them(raw, message):
    with pytest.raises(crypto.InvalidProductKey, match=message) as excinfo:
        crypto.normalise_product_key(raw)
    assert raw.replace("-", "")[:10] not in str(excinfo.value) or not raw


def test_sealing_encrypts_and_keeps_only_last5_and_fingerprint():
    sealed = crypto.seal_product_key(KEY)
    assert KEY not in sealed.ciphertext and KEY.replace("-", "") not in sealed.ciphertext
    assert sealed.last5 == "GCVGB"
    assert crypto.decrypt_product_key(sealed.ciphertext) == KEY
    assert sealed.fingerprint == crypto.seal_product_key(KEY.lower()).fingerprint
    assert sealed.fingerprint != crypto.seal_product_key(product_key(1)).fingerprint


def test_rotation_re_encrypts_under_the_newest_key(settings):
    old = crypto.seal_product_key(KEY).ciphertext
    settings.FIELD_ENCRYPTION_KEYS = [
        Fernet.generate_key().decode(),
        *settings.FIELD_ENCRYPTION_KEYS,
    ]
    rotated = crypto.rotate_ciphertext(old)
    assert rotated != old
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]  # the old key is gone
    assert crypto.decrypt_product_key(rotated) == KEY
    with pytest.raises(RuntimeError, match="could not be decrypted"):
        crypto.decrypt_product_key(old)


def test_masking_shows_only_the_last_five():
    assert crypto.mask_last5("GCVGB") == "•••••-•••••-•••••-•••••-GCVGB"


@given(st.integers(min_value=0, max_value=10**6))
def test_any_generated_key_round_trips(n):
    key = product_key(n)
    assert crypto.normalise_product_key(key.lower().replace("-", "")) == key


def test_logs_never_carry_a_key_in_clear(caplog):
    logger = logging.getLogger("licensing.test")
    logger.addFilter(RedactProductKeysFilter())
    with caplog.at_level(logging.INFO, logger="licensing.test"):
        logger.info("admin pasted %s and %s", KEY, KEY.replace("-", "").lower())
    assert KEY not in caplog.text and KEY.replace("-", "").lower() not in caplog.text
    assert "GCVGB" in caplog.text  # the masked tail stays useful
    assert redact("no keys here: 2024-11-25") == "no keys here: 2024-11-25"
