"""The webhook channel: a notification becomes one signed post per subscribed destination,
retried with back-off when the receiver is down, answers 500 or times out."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from licensing.models import AuditEvent, DeliveryStatus, WebhookDelivery, WebhookKind
from licensing.services import notify, webhooks
from tests.outbox import queued, run_outbox
from tests.webhooks.conftest import SECRET

pytestmark = pytest.mark.django_db


def _destination(org, admin_user, url, kind=WebhookKind.JSON, events=(), name="ops"):
    return webhooks.create_destination(
        actor=admin_user,
        organisation=org,
        name=name,
        kind=kind,
        url=url,
        events=list(events),
        secret=SECRET if kind == WebhookKind.JSON else "",
    ).destination


def _digest(org, key="t:1"):
    return notify.notify(
        "inventory.digest",
        once_key=key,
        organisation_id=org.pk,
        recipients=["a@example.com"],
        context={
            "organisation": org,
            "total": "3",
            "lines": [("Expired", "3")],
            "since": None,
            "url": "https://portal.example/clients/",
        },
    )


def test_a_notification_is_posted_signed_to_a_json_destination(org, admin_user, receiver):
    dest = _destination(org, admin_user, receiver.url())
    assert _digest(org) == 1  # the e-mail still goes
    assert len(mail.outbox) == 1
    assert queued(webhooks.DELIVER_TASK) == [[WebhookDelivery.objects.get().pk]]
    run_outbox()
    (post,) = receiver.received
    assert post["signature_ok"] is True
    assert post["headers"]["X-Portal-Event"] == "inventory.digest"
    body = json.loads(post["body"])
    assert body["event"] == "inventory.digest"
    assert body["organisation"] == org.slug
    assert body["subject"] == mail.outbox[0].subject  # the same rendered message
    assert "Expired: 3" in body["text"]
    assert body["link"] == "https://portal.example/clients/"
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.DELIVERED, 1, 200)
    assert row.destination == dest


def test_the_receiver_tells_a_wrong_secret_from_the_right_one(org, admin_user, receiver):
    webhooks.create_destination(
        actor=admin_user,
        organisation=org,
        name="wrong",
        kind=WebhookKind.JSON,
        url=receiver.url(),
        events=[],
        secret="another-secret-of-enough-length",
    )
    _digest(org)
    run_outbox()
    assert [p["signature_ok"] for p in receiver.received] == [False]


def test_teams_and_slack_get_their_own_shapes(org, admin_user, receiver):
    _destination(org, admin_user, receiver.url("/teams"), kind=WebhookKind.TEAMS, name="t")
    _destination(org, admin_user, receiver.url("/slack"), kind=WebhookKind.SLACK, name="s")
    _digest(org)
    run_outbox()
    posts = {p["path"]: json.loads(p["body"]) for p in receiver.received}
    card = posts["/teams"]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["body"][0]["text"].endswith("3 client(s) newly flagged")
    assert card["content"]["actions"][0]["url"] == "https://portal.example/clients/"
    assert posts["/slack"]["text"].startswith("*[Volume Licensing]")
    assert all(p["signature_ok"] is None for p in receiver.received)  # only JSON is signed


def test_a_notification_delivered_twice_posts_once_and_events_filter(org, admin_user, receiver):
    _destination(org, admin_user, receiver.url("/all"), name="all")
    _destination(org, admin_user, receiver.url("/kms"), events=["kms.state_change"], name="kms")
    _digest(org, key="same")
    _digest(org, key="same")
    run_outbox()
    assert [p["path"] for p in receiver.received] == ["/all"]


def test_a_switched_off_destination_gets_nothing(org, admin_user, receiver):
    dest = _destination(org, admin_user, receiver.url())
    webhooks.update_destination(actor=admin_user, destination=dest, events=[], enabled=False)
    _digest(org)
    assert not WebhookDelivery.objects.exists()


def test_a_500_is_retried_with_back_off_then_delivered(org, admin_user, receiver, fast_webhooks):
    receiver.answers = [500, 503, 200]
    _destination(org, admin_user, receiver.url())
    _digest(org)
    pk = WebhookDelivery.objects.get().pk
    first = webhooks.deliver(pk)
    assert (first.status, first.status_code, first.retry_in) == ("retry", 500, 0.2)
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 500")
    assert row.next_attempt_at > row.last_attempt_at
    second = webhooks.deliver(pk)
    assert (second.status, second.retry_in) == ("retry", 0.4)  # doubled
    assert webhooks.deliver(pk).status == "delivered"
    assert webhooks.deliver(pk).status == "skipped"  # never posted again
    assert len(receiver.received) == 3
    assert len({p["headers"]["X-Portal-Delivery"] for p in receiver.received}) == 1


def test_a_receiver_that_keeps_failing_gives_up_after_the_last_attempt(
    org, admin_user, receiver, fast_webhooks
):
    receiver.answers = [500]
    _destination(org, admin_user, receiver.url())
    _digest(org)
    pk = WebhookDelivery.objects.get().pk
    outcomes = [webhooks.deliver(pk).status for _ in range(4)]
    assert outcomes == ["retry", "retry", "failed", "skipped"]
    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 3, 500)


def test_a_4xx_fails_at_once(org, admin_user, receiver, fast_webhooks):
    receiver.answers = [404]
    _destination(org, admin_user, receiver.url())
    _digest(org)
    assert webhooks.deliver(WebhookDelivery.objects.get().pk).status == "failed"


def test_a_receiver_that_does_not_answer_times_out_and_is_retried(
    org, admin_user, receiver, fast_webhooks
):
    receiver.delay = 2.0
    _destination(org, admin_user, receiver.url())
    _digest(org)
    outcome = webhooks.deliver(WebhookDelivery.objects.get().pk)
    assert (outcome.status, outcome.error) == ("retry", "no answer within 0.5 s")


def test_a_receiver_that_is_down_is_retried_and_the_url_never_shows(
    org, admin_user, dead_url, fast_webhooks
):
    _destination(org, admin_user, dead_url + "?token=s3cr3t")
    _digest(org)
    outcome = webhooks.deliver(WebhookDelivery.objects.get().pk)
    assert outcome.status == "retry"
    assert outcome.error.startswith("connection failed")
    row = WebhookDelivery.objects.get()
    assert "s3cr3t" not in row.last_error and "127.0.0.1" not in row.last_error


def test_url_and_secret_are_stored_encrypted_and_audited_without_them(org, admin_user):
    dest = _destination(org, admin_user, "https://hooks.example.com/services/T0/B0/s3cr3t")
    assert "s3cr3t" not in dest.url_ciphertext and SECRET not in dest.secret_ciphertext
    assert dest.url_hint == "https://hooks.example.com/…"
    event = AuditEvent.objects.get(action="webhook.created")
    assert "s3cr3t" not in json.dumps(event.changes) and SECRET not in json.dumps(event.changes)


def test_plain_http_is_refused_in_production(org, admin_user, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    from licensing.services.errors import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        _destination(org, admin_user, "http://hooks.example.com/x")
    assert "https://" in exc.value.field_errors["url"][0]


def test_a_muted_event_sends_no_email_to_that_person(org, admin_user, manager_user):
    webhooks.set_email_choices(
        user=admin_user, email_events=[e for e in notify.EVENTS if e != "inventory.digest"]
    )
    sent = notify.notify(
        "inventory.digest",
        once_key="mute:1",
        organisation_id=org.pk,
        recipients=[admin_user.email, manager_user.email],
        context={"organisation": org, "total": "1", "lines": [], "since": None, "url": "x"},
    )
    assert sent == 1
    assert mail.outbox[0].to == [manager_user.email]
