"""The KMS host page says one thing at a time: licence states in words, the last poll is the
newest row of the history, DNS publishing comes from that poll, the history is paged, the next
poll follows the interval, and a reporter token is shown once at the top after a redirect."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from licensing.models import ApiToken, HostPoll, HostState, HostStatusReport
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def polled_host(org):
    now = timezone.now()
    host = factories.KmsHostFactory(
        organisation=org,
        fqdn="kms1.contoso.test",
        license_status="licensed",
        last_polled_at=now - timedelta(minutes=3),  # the host row says 3 minutes ago...
        next_poll_at=now + timedelta(minutes=12),
        poll_interval_minutes=15,
    )
    HostPoll.objects.bulk_create(
        HostPoll(
            host=host,
            polled_at=now - timedelta(hours=6 * i + 1),  # ...the newest poll row 1 hour ago
            reachable=True,
            srv_published=True,
            current_count=30,
            latency_ms=1.0,
            state=HostState.HEALTHY,
        )
        for i in range(56)
    )
    HostStatusReport.objects.create(
        host=host,
        accepted=True,
        raw_text="x",
        license_status="oob_grace",
        current_count=30,
        requests_by_status={"licensed": 5, "oot_grace": 0, "extended_grace": None},
        submitted_by="test",
        received_at=now,
    )
    return host


def test_licence_states_are_words_not_codes(as_admin, polled_host):
    html = as_admin.get(f"/kms/hosts/{polled_host.pk}/").content.decode()
    for raw in ("oob_grace", "oot_grace", "extended_grace", ": None", ">None<", ">licensed<"):
        assert raw not in html, raw
    assert "Initial (OOB) grace" in html and "Out-of-tolerance grace" in html
    assert "Extended grace" in html


def test_the_last_poll_is_the_newest_history_row_and_dns_agrees(as_admin, org, polled_host):
    org.dns_domains = ["contoso.test"]
    org.save()
    html = as_admin.get(f"/kms/hosts/{polled_host.pk}/").content.decode()
    last = re.search(r'data-testid="last-poll">([^<]+)', html).group(1).strip()
    first_row = re.search(r'data-testid="poll-history".*?<time[^>]*>([^<]+)</time>', html, re.S)
    assert last == first_row.group(1)
    assert "Not polled yet" not in html
    assert re.search(r'data-testid="srv-published">yes<', html)
    assert 'data-testid="srv-summary"' in html


def test_the_poll_history_is_paged(as_admin, polled_host):
    html = as_admin.get(f"/kms/hosts/{polled_host.pk}/").content.decode()
    history = re.search(r'data-testid="poll-history".*?</table>', html, re.S).group(0)
    assert history.count("<tr>") == 1 + 10  # the header and one page
    assert "56 matching rows" in html
    next_url = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    second = as_admin.get(f"/kms/hosts/{polled_host.pk}/{next_url}", HTTP_HX_REQUEST="true")
    second = second.content.decode()
    assert "<html" not in second and second.count("<time") == 10


def test_the_interval_is_in_words(as_admin, polled_host):
    html = as_admin.get(f"/kms/hosts/{polled_host.pk}/").content.decode()
    assert "(every 15 minutes)" in html and " min)" not in html


def test_a_reload_after_creating_a_token_creates_no_second_one(as_admin, polled_host):
    url = f"/kms/hosts/{polled_host.pk}/tokens/"
    response = as_admin.post(url, {"name": "task", "days": 30})
    page = as_admin.get(response["Location"]).content.decode()
    # The token block comes before the state card, at the top of the page.
    assert page.index('data-testid="created-token"') < page.index('data-testid="host-state"')
    secret = re.search(r'<code id="new-token" class="secret">([^<]+)</code>', page).group(1)
    assert secret not in as_admin.get(response["Location"]).content.decode()
    assert ApiToken.objects.filter(kms_host=polled_host).count() == 1
