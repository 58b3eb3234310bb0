import logging

# The one redaction of key-shaped text (spaced, underscored, glued variants) lives in keyformat.
from licensing.keyformat import redact


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
