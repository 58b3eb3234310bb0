import logging
from urllib.parse import unquote

# The one redaction of key-shaped text (spaced, underscored, glued variants) lives in keyformat.
from licensing.keyformat import redact


def scrub(record: logging.LogRecord) -> None:
    """Redact key-shaped text in a record: its message, and the traceback and stack it carries
    (the formatter reuses `exc_text` when it is set, so render it here and scrub it too)."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is not ours to fix here
        return
    cleaned = redact(message)
    if "%" in cleaned:
        # A key inside a percent-encoded URL (a login redirect's `next=/clients/%3Fq%3D<key>`)
        # is glued to the escape before it: read such a line decoded.
        decoded = unquote(cleaned)
        if redact(decoded) != decoded:
            cleaned = redact(decoded)
    if cleaned != message:
        record.msg, record.args = cleaned, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactProductKeysFilter(logging.Filter):
    """Belt and braces: services never log keys, and this filter scrubs any that slip through."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub(record)
        return True


_redacting = False


def redact_every_log_record() -> None:
    """Scrub every record the process creates, whichever logger and handler it goes to: Django's
    own handlers (the development server's request log, the DEBUG console), gunicorn's access
    and error logs, Celery's. A filter on our handlers alone misses the handlers of others.
    Installed by portal/settings.py; idempotent."""
    global _redacting
    if _redacting:
        return
    make_record = logging.getLogRecordFactory()

    def factory(*args, **kwargs):  # type: ignore[no-untyped-def]
        record = make_record(*args, **kwargs)
        scrub(record)
        return record

    logging.setLogRecordFactory(factory)
    _redacting = True
