"""Webhook pages: admins add, edit, test and delete destinations and see every delivery;
managers and auditors 403, other organisations 404; the URL and the secret never show again."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from licensing.models import AuditEvent, NotificationMute, WebhookDelivery, WebhookDestination
from tests import factories
from tests.outbox import run_outbox
from tests.webhooks.conftest import SECRET

pytestmark = pytest.mark.django_db


def _add(client, url, **extra):
    data = {"name": "ops", "kind": "json", "url": url, "secret": "", **extra}
    return client.post(reverse("licensing:webhook_list"), data)


def test_admin_adds_a_json_destination_sees_its_secret_once_and_sends_a_test(
    as_admin, org, receiver
):
    response = _add(as_admin, receiver.url("/hook?k=s3cr3t"))
    assert response.status_code == 200
    secret = re.search(r'id="webhook-secret"[^>]*>([^<]+)<', response.content.decode()).group(1)
    dest = WebhookDestination.objects.get()
    receiver.secret = secret
    detail = as_admin.get(reverse("licensing:webhook_detail", args=[dest.pk])).content.decode()
    assert secret not in detail and "s3cr3t" not in detail
    assert f"http://127.0.0.1:{receiver.port}/…" in detail
    response = as_admin.post(reverse("licensing:webhook_test", args=[dest.pk]))
    assert response.status_code == 302
    run_outbox()
    (post,) = receiver.received
    assert post["signature_ok"] is True and post["headers"]["X-Portal-Event"] == "ops.webhook_test"
    page = as_admin.get(reverse("licensing:webhook_list")).content.decode()
    assert "Delivered" in page and "Test message for ops" in page
    assert AuditEvent.objects.filter(action="webhook.test_sent").count() == 1


def test_a_bad_url_is_a_form_error_not_a_500(as_admin, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    response = _add(as_admin, "ftp://example.com/x")
    assert response.status_code == 200
    assert "https://" in response.content.decode()
    assert not WebhookDestination.objects.exists()


def test_a_duplicate_name_is_a_form_error(as_admin, receiver):
    _add(as_admin, receiver.url(), secret=SECRET)
    response = _add(as_admin, receiver.url(), secret=SECRET)
    assert response.status_code == 200
    assert "already has a destination of that name" in response.content.decode()


def test_edit_switch_off_and_delete(as_admin, receiver):
    _add(as_admin, receiver.url(), kind="slack")
    dest = WebhookDestination.objects.get()
    url = reverse("licensing:webhook_detail", args=[dest.pk])
    as_admin.post(url, {"events": ["kms.state_change"], "url": ""})
    dest.refresh_from_db()
    assert (dest.events, dest.enabled) == (["kms.state_change"], False)
    as_admin.post(reverse("licensing:webhook_delete", args=[dest.pk]))
    assert not WebhookDestination.objects.exists()
    assert AuditEvent.objects.filter(action__startswith="webhook.").count() == 3


def test_managers_and_auditors_get_403_outsiders_404(
    as_admin, as_manager, as_auditor, as_outsider, receiver
):
    _add(as_admin, receiver.url(), kind="slack")
    dest = WebhookDestination.objects.get()
    for client in (as_manager, as_auditor):
        assert client.get(reverse("licensing:webhook_list")).status_code == 403
        assert client.get(reverse("licensing:webhook_detail", args=[dest.pk])).status_code == 403
        assert client.post(reverse("licensing:webhook_test", args=[dest.pk])).status_code == 403
    for name in ("webhook_detail", "webhook_test", "webhook_delete"):
        response = as_outsider.post(reverse(f"licensing:{name}", args=[dest.pk]))
        assert response.status_code == 404
    assert WebhookDestination.objects.count() == 1 and not WebhookDelivery.objects.exists()


def test_my_notifications_mutes_an_event(as_manager, manager_user):
    url = reverse("licensing:notification_choices")
    assert as_manager.get(url).status_code == 200
    as_manager.post(url, {"email_events": ["kms.state_change"]})
    muted = set(NotificationMute.objects.filter(user=manager_user).values_list("event", flat=True))
    assert "mak.request_created" in muted and "kms.state_change" not in muted


@pytest.mark.parametrize(
    ("code", "error", "shown"),
    [
        (500, "HTTP 500", "HTTP 500"),
        (None, "no answer within 10 s", "no answer within 10 s"),
        (429, "HTTP 429", "HTTP 429"),
    ],
)
def test_a_deliverys_last_answer_is_said_once(as_admin, org, receiver, code, error, shown):
    """The status code and an error that only repeats it are one "HTTP 500" (the page showed
    "HTTP 500 HTTP 500": the template's comparison added a number to a string)."""
    response = _add(as_admin, receiver.url("/hook"))
    assert response.status_code == 200
    factories.webhook_delivery(
        WebhookDestination.objects.get(),
        status="failed",
        attempts=5,
        last_status_code=code,
        last_error=error,
    )
    page = as_admin.get(reverse("licensing:webhook_list")).content.decode()
    row = re.search(r'id="webhook-deliveries".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip() for c in row.split("<td")]
    last_answer = cells[-2]  # the column before "Next attempt / delivered"
    assert last_answer.count(shown) == 1, cells
