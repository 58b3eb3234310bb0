"""LOG_FORMAT=json / LOG_REQUESTS: one JSON line per request and per task, with request id,
user, organisation and duration; the request id is echoed to the client and carried by every
record logged while the request runs."""

from __future__ import annotations

import json
import logging

import pytest
from django.urls import reverse

from portal.observability import ContextFilter, JsonFormatter, task_finished, task_started

pytestmark = pytest.mark.django_db


def _format(record: logging.LogRecord) -> dict:
    ContextFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_one_json_line_per_request_with_id_user_organisation_and_duration(
    settings, as_admin, admin_user, org, caplog
):
    settings.LOG_REQUESTS = True
    with caplog.at_level(logging.INFO, logger="portal.request"):
        response = as_admin.get(reverse("licensing:home"), {"q": "secret-search"})
    (record,) = [r for r in caplog.records if r.name == "portal.request"]
    line = _format(record)
    assert line["request_id"] == response["X-Request-ID"]
    assert line["user"] == admin_user.username
    assert line["organisation"] == org.slug
    assert line["view"] == "licensing:home" and line["status"] == 200
    assert line["path"] == "/" and "secret-search" not in json.dumps(line)
    assert line["duration_ms"] > 0 and line["level"] == "INFO"


def test_a_proxy_request_id_is_kept_and_a_bad_one_replaced(as_admin):
    good = as_admin.get(reverse("licensing:home"), HTTP_X_REQUEST_ID="edge-42.abc")
    assert good["X-Request-ID"] == "edge-42.abc"
    bad = as_admin.get(reverse("licensing:home"), HTTP_X_REQUEST_ID="<script>" * 20)
    assert len(bad["X-Request-ID"]) == 32 and "<" not in bad["X-Request-ID"]


def test_no_request_lines_unless_asked(settings, as_admin, caplog):
    settings.LOG_REQUESTS = False
    with caplog.at_level(logging.INFO, logger="portal.request"):
        as_admin.get(reverse("licensing:home"))
    assert not [r for r in caplog.records if r.name == "portal.request"]


def test_one_json_line_per_task_and_records_inside_carry_its_id(settings, caplog):
    settings.LOG_REQUESTS = True

    class FakeTask:
        name = "licensing.ops.record_heartbeat"

    with caplog.at_level(logging.INFO):
        task_started(task_id="task-1")
        logging.getLogger("licensing.tasks").info("inside")
        task_finished(task_id="task-1", task=FakeTask(), state="SUCCESS")
        logging.getLogger("licensing.tasks").info("after")
    inside, line, after = (_format(r) for r in caplog.records)
    assert inside["request_id"] == "task-1" and "request_id" not in after
    assert line["logger"] == "portal.task"
    assert (line["task"], line["task_id"], line["state"]) == (FakeTask.name, "task-1", "SUCCESS")
    assert line["duration_ms"] >= 0


def test_json_lines_keep_tracebacks():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), None)
        import sys

        record.exc_info = sys.exc_info()
    line = _format(record)
    assert line["message"] == "failed" and "ValueError: boom" in line["exception"]
