import logging
import re

from licensing.keyformat import KEY_ALPHABET

# Any 5x5 product-key shape, with or without hyphens, in any case.
PRODUCT_KEY_PATTERN = re.compile(
    rf"(?i)\b(?:[{KEY_ALPHABET}]{{5}}-){{4}}[{KEY_ALPHABET}]{{5}}\b|\b[{KEY_ALPHABET}]{{25}}\b"
)


def redact(text: str) -> str:
    return PRODUCT_KEY_PATTERN.sub(lambda m: "[REDACTED KEY …" + m.group(0)[-5:] + "]", text)


class RedactProductKeysFilter(logging.Filter):
    """Belt and braces: services never log keys, and this filter scrubs any that slip through."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix here
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        # A logged exception (every 500) carries its traceback and message: the formatter
        # reuses `exc_text` when it is set, so render it here and scrub it too.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
