"""The KMS, offline activation and webhook pages and messages in Norwegian (issue 15): pages asked
for in `nb` show Norwegian headings and none of the English ones; a host's stored (English)
state reason is shown in Norwegian; a state-change e-mail to a recipient who chose `nb` and the
webhook test message of an organisation whose language is `nb` are written in Norwegian."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from licensing.models import (
    HostPoll,
    HostState,
    OfflineActivation,
    Profile,
    Role,
    WebhookKind,
)
from licensing.services import webhooks
from licensing.services.kms import notifications, reasons
from tests import factories
from tests.kms.helpers import host, report

pytestmark = pytest.mark.django_db

NB = {"HTTP_ACCEPT_LANGUAGE": "nb"}


def page(client, url: str, **headers: str) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.content.decode()


def destination(org, actor, kind: str) -> webhooks.CreatedDestination:
    return webhooks.create_destination(
        actor=actor,
        organisation=org,
        name="Drift",
        kind=kind,
        url="https://hooks.example.test/services/T0/B0/x",
        events=[],
    )


def test_the_host_list_in_norwegian(as_admin, org):
    host(
        org,
        "kms1.contoso.test",
        state=HostState.BELOW_THRESHOLD,
        state_reason=reasons.BELOW_THRESHOLD % {"count": 3, "threshold": 5},
    )
    html = page(as_admin, reverse("licensing:host_list"), **NB)
    assert "Legg til KMS-vert" in html and "Kontroller DNS nå" in html
    assert "Under aktiveringsterskelen" in html  # the state badge
    assert "Gjeldende aktiveringsantall 3 er under aktiveringsterskelen på 5" in html
    for english in ("Add KMS host", "Check DNS now", "Below activation threshold", "Last poll"):
        assert english not in html
    assert "is under the activation threshold" not in html  # the stored reason, translated
    # The same page asked for in English stays English.
    assert "Check DNS now" in page(as_admin, reverse("licensing:host_list"))


def test_the_host_page_in_norwegian(as_admin, org):
    h = host(org, "kms1.contoso.test", state=HostState.HEALTHY, poll_interval_minutes=15)
    report(h, 12)
    HostPoll.objects.create(
        host=h,
        polled_at=timezone.now() - timedelta(minutes=5),
        reachable=True,
        srv_published=True,
        current_count=12,
        latency_ms=1.5,
        state=HostState.HEALTHY,
    )
    html = page(as_admin, reverse("licensing:host_detail", args=[h.pk]), **NB)
    for norwegian in (
        "Spørrehistorikk",
        "Nyeste statusrapport",
        "Rapporteringstokener",
        "Spør nå",
        "I orden",
        "hvert 15. minutt",
        "1,5 ms",  # the decimal comma of Norwegian numbers
    ):
        assert norwegian in html
    for english in (
        "Poll history",
        "Newest status report",
        "Reporter tokens",
        "Poll now",
        "Healthy",
        "every 15 minutes",
        "Current count over time",
    ):
        assert english not in html


def test_the_offline_page_in_norwegian(as_admin, org):
    client = factories.ClientFactory(organisation=org, hostname="pc-042")
    OfflineActivation.objects.create(
        organisation=org,
        client=client,
        installation_id="1" * 54,
        requested_at=timezone.now(),
    )
    html = page(as_admin, reverse("licensing:offline_list"), **NB)
    assert "Frakoblet aktivering (via mellomledd)" in html
    assert "Venter på bekreftelses-ID" in html and "Bekreftelses-ID for pc-042" in html
    for english in (
        "Offline (proxy) activation",
        "Waiting for a Confirmation ID",
        "Record</button>",
    ):
        assert english not in html


def test_the_webhook_pages_in_norwegian(as_admin, admin_user, org):
    created = destination(org, admin_user, WebhookKind.SLACK)
    factories.webhook_delivery(
        created.destination, attempts=1, last_error=webhooks.NO_ANSWER % {"seconds": "10"}
    )
    html = page(as_admin, reverse("licensing:webhook_list"), **NB)
    assert "Legg til et mål" in html and "Nylige leveringer" in html
    assert "ingen svar innen 10 s" in html and "Prøver på nytt" in html
    assert "no answer within" not in html
    assert "Slack (innkommende webhook)" in html
    for english in ("Add a destination", "Recent deliveries", "Slack (incoming webhook)"):
        assert english not in html
    detail = page(
        as_admin, reverse("licensing:webhook_detail", args=[created.destination.pk]), **NB
    )
    assert "Slett dette målet" in detail and "Delete this destination" not in detail
    # The events one chooses from are described in Norwegian too.
    choices = page(as_admin, reverse("licensing:notification_choices"), **NB)
    assert "En KMS-vert endret status" in choices and "A KMS host changed state" not in choices


def test_a_state_change_email_to_a_norwegian_reader_is_norwegian(org):
    english = factories.UserFactory(username="en-admin", email="en@example.test")
    norwegian = factories.UserFactory(username="nb-admin", email="nb@example.test")
    for user in (english, norwegian):
        factories.MembershipFactory(user=user, organisation=org, role=Role.ADMIN)
    Profile.objects.create(user=norwegian, language="nb")
    h = host(org, "kms1.contoso.test", state=HostState.BELOW_THRESHOLD)
    poll = HostPoll.objects.create(
        host=h,
        polled_at=timezone.now(),
        reachable=True,
        srv_published=True,
        current_count=3,
        state=HostState.BELOW_THRESHOLD,
        error=reasons.BELOW_THRESHOLD % {"count": 3, "threshold": 5},
    )
    assert notifications.notify_state_change(poll_id=poll.pk, previous=HostState.HEALTHY) == 2
    by_reader = {message.to[0]: message for message in mail.outbox}
    nb, en = by_reader["nb@example.test"], by_reader["en@example.test"]
    assert nb.subject == "[KMS] kms1.contoso.test: Under aktiveringsterskelen"
    assert "har nå status: Under aktiveringsterskelen." in nb.body
    assert "Før: I orden." in nb.body
    assert "Gjeldende aktiveringsantall 3 er under aktiveringsterskelen på 5" in nb.body
    assert "Klienter kan ikke aktivere" in nb.body  # the advice
    for english_text in ("is now", "Before:", "Clients cannot activate", "Host page"):
        assert english_text not in nb.body
    assert en.subject == "[KMS] kms1.contoso.test: Below activation threshold"
    assert "Current count 3 is under the activation threshold of 5" in en.body


def test_the_webhook_test_message_of_a_norwegian_organisation_is_norwegian(org, admin_user):
    org.language = "nb"
    org.save(update_fields=["language"])
    created = destination(org, admin_user, WebhookKind.TEAMS)
    delivery = webhooks.send_test(actor=admin_user, destination=created.destination)
    assert delivery.subject == "[Lisensiering] Testmelding for Drift (Contoso Test)"
    assert "Dette er en testmelding fra Volume Licensing Portal" in delivery.text
    assert "This is a test message" not in delivery.text
    body, _headers = webhooks.build_request(created.destination, delivery)
    assert "Åpne i portalen" in body.decode() and "Open in the portal" not in body.decode()
