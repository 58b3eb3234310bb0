"""Request and task context for logs and metrics: a request id (or task id) carried by every log
record made while it runs, the JSON line formatter (`LOG_FORMAT=json`), and the Celery signal
handlers that time each task, count it for /metrics and log one line for it."""

from __future__ import annotations

import contextvars
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

# The id of the request or task being handled in this thread/context ("" outside both).
current_id: contextvars.ContextVar[str] = contextvars.ContextVar("portal_request_id", default="")

# Attributes of a LogRecord that are not "extra" fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class ContextFilter(logging.Filter):
    """Adds `request_id` (the request's or task's id) to every record made inside one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, every extra field (request_id,
    user, organisation, duration_ms, ...), and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and value not in (None, ""):
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


# --- Celery tasks -------------------------------------------------------------------------------

task_log = logging.getLogger("portal.task")
_started: dict[str, tuple[float, contextvars.Token]] = {}


def task_started(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _started[task_id] = (time.perf_counter(), current_id.set(task_id))


def task_finished(
    task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any
) -> None:
    if not task_id or task_id not in _started:
        return
    began, token = _started.pop(task_id)
    seconds = time.perf_counter() - began
    name = getattr(task, "name", "?")
    state = state or "UNKNOWN"
    from django.conf import settings

    from licensing.services import metrics

    metrics.record_task(name, state, seconds)
    if settings.LOG_REQUESTS:
        # Task arguments are ids and never logged (see licensing/services/outbox.py).
        task_log.info(
            "task %s %s %.1f ms",
            name,
            state,
            seconds * 1000,
            extra={
                "task": name,
                "task_id": task_id,
                "state": state,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
    try:
        current_id.reset(token)
    except ValueError:  # finished in another context than it started: leave it
        current_id.set("")
