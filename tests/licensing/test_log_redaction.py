"""Product keys are scrubbed from every log line, including the traceback of a logged
exception (Django logs every 500 with its traceback)."""

import logging
import sys

from licensing.logging import RedactProductKeysFilter
from tests.factories import product_key


def _formatted(record: logging.LogRecord) -> str:
    RedactProductKeysFilter().filter(record)
    return logging.Formatter("%(message)s").format(record)


def test_a_key_in_a_logged_exception_message_is_redacted():
    key = product_key(42)
    try:
        raise ValueError(f"could not store {key}")
    except ValueError:
        record = logging.getLogger("django.request").makeRecord(
            "django.request", logging.ERROR, __file__, 1, "Internal Server Error: /", (), None
        )
        record.exc_info = sys.exc_info()
    text = _formatted(record)
    assert "ValueError" in text
    assert key not in text
    assert key.replace("-", "") not in text
    assert "[REDACTED KEY …" + key[-5:] + "]" in text


def test_a_key_in_the_message_is_still_redacted_and_plain_records_pass_unchanged():
    key = product_key(7)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "got %s", (key,), None)
    assert key not in _formatted(record)
    plain = logging.LogRecord("x", logging.INFO, __file__, 1, "poll of host %s", (5,), None)
    assert _formatted(plain) == "poll of host 5"
