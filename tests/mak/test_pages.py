"""Pool pages and the approvals queue: cheap queries, htmx fragments with no-JS fallbacks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from licensing.models import (
    ActivationRequest,
    AuditEvent,
    Edition,
    MakActivation,
    MakKey,
    MakPool,
    RequestStatus,
)
from licensing.services.mak import requests as mak_requests
from tests import factories

pytestmark = pytest.mark.django_db


def _fill(org, pools: int, keys_per_pool: int) -> list[MakPool]:
    created = []
    for edition in Edition.objects.exclude(mak_pools__organisation=org).order_by("id")[:pools]:
        pool = factories.MakPoolFactory(organisation=org, edition=edition)
        for _ in range(keys_per_pool):
            factories.MakKeyFactory(pool=pool, activation_limit=20, activations_used=3)
        created.append(pool)
    return created


def _queries(client, url, **headers) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
        assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_pool_list_costs_the_same_for_2_or_12_pools(org, as_admin):
    _fill(org, 2, 2)
    small = _queries(as_admin, "/pools/")
    _fill(org, 10, 4)
    big = _queries(as_admin, "/pools/")
    assert big == small, "the pool list must not run a query per pool or key"
    assert big <= 12


def test_the_pool_detail_costs_the_same_for_1_or_30_keys(org, as_admin, admin_user):
    (pool,) = _fill(org, 1, 1)
    small = _queries(as_admin, f"/pools/{pool.pk}/")
    for _ in range(29):
        factories.MakKeyFactory(pool=pool, activation_limit=5)
    mak_requests.request_activations(
        actor=admin_user, pool=pool, quantity=3, justification="x", agreement_number="1"
    )
    big = _queries(as_admin, f"/pools/{pool.pk}/")
    assert big == small
    assert big <= 14


def test_the_pool_list_shows_usage_burn_rate_and_low_water(org, pool, as_admin):
    factories.MakKeyFactory(pool=pool, activation_limit=10, activations_used=8)
    factories.MakKeyFactory(pool=pool, activation_limit=99, status="blocked")
    body = as_admin.get("/pools/").content.decode()
    assert "8 / 10" in body and "1 blocked" in body and ">low<" in body
    assert "no activations in 30 days" in body
    fragment = as_admin.get("/pools/", HTTP_HX_REQUEST="true")
    assert "<html" not in fragment.content.decode() and "data-pool=" in fragment.content.decode()
    assert "HX-Request" in fragment["Vary"]


def test_the_pool_shows_its_ten_newest_activations_over_every_key(
    org, pool, second_pool, as_admin, make_clients
):
    """The pool page's ten newest activations (read from the pool's own index) are the same rows,
    in the same order, as sorting every activation of the pool's keys (ties by id); another
    pool's newer activation does not show."""
    keys = [factories.MakKeyFactory(pool=pool, activation_limit=100) for _ in range(3)]
    other_pool_key = factories.MakKeyFactory(pool=second_pool)
    # Key 0 holds most of the newest; equal times on different keys; the newest of all belongs
    # to another pool and must not show.
    factories.activations(
        [other_pool_key if i == 0 else keys[i % 3 if i > 12 else 0] for i in range(40)],
        make_clients(org, 40),
        [timedelta(hours=i // 2) for i in range(40)],
    )
    expected = [
        (str(a.client_id), a.client.hostname, a.key.last5)
        for a in MakActivation.objects.filter(key__pool=pool)
        .select_related("client", "key")
        .order_by("-activated_at", "-id")[:10]
    ]
    body = as_admin.get(f"/pools/{pool.pk}/").content.decode()
    # Each row links its client's page.
    shown = re.findall(
        r'<tr data-testid="recent-activation"><td[^>]*>[^<]*</td>'
        r'<td><a href="/clients/(\d+)/">([^<]+)</a></td><td[^>]*>[^<]*</td>'
        r'<td class="secret text-nowrap">…([^<]+)</td>',
        body,
    )
    assert len(expected) == 10 and shown == expected


def test_the_request_form_explains_bad_input(org, pool, as_admin):
    key = factories.MakKeyFactory(pool=pool, activation_limit=5)
    url = f"/pools/{pool.pk}/request/"
    base = {
        "key": key.pk,
        "agreement_number": "123",
        "product_name": "Office",
        "justification": "why",
    }
    for quantity, message in (
        (0, "at least one"),
        (-3, "at least one"),
        (100_001, "at most 100,000"),
    ):
        body = as_admin.post(url, base | {"quantity": quantity}).content.decode()
        assert message in body, quantity
    body = as_admin.post(url, base | {"quantity": 5, "justification": ""}).content.decode()
    assert "This field is required" in body
    assert not ActivationRequest.objects.exists()
    assert as_admin.post(url, base | {"quantity": 5}).status_code == 302
    assert ActivationRequest.objects.get().key_last5 == key.last5


@pytest.fixture
def pending(org, pool, admin_user):
    key = factories.MakKeyFactory(pool=pool, activation_limit=10, activations_used=9)
    return mak_requests.request_activations(
        actor=admin_user, pool=pool, key=key, quantity=15, justification="Kiosks for the new hall"
    )


def test_the_queue_shows_what_is_being_approved(pending, as_manager):
    body = as_manager.get("/approvals/").content.decode()
    for text in (
        "15 extra activations for Office LTSC Professional Plus 2024",
        f"…{pending.key_last5}",
        "9 / 10",
        "Kiosks for the new hall",
        pending.requested_by.username,
        "limit 25, remaining 16",
        "12345678",
    ):
        assert text in body, text
    # The requester, then when: the date and time on one line even on a phone.
    requested = re.search(r'data-testid="requested-by">(.*?)</dd>', body)
    assert requested is not None
    at = pending.requested_at.isoformat()
    assert requested.group(1).startswith(f"{pending.requested_by.username}<br>")
    assert f'<time class="text-nowrap" datetime="{at}">' in requested.group(1)


def _activations_a_day(key, clients, per_day: int) -> None:
    """`per_day` activations of `key` on each of the last 30 days (the burn window)."""
    n = 30 * per_day
    factories.activations(key, clients[:n], [timedelta(days=i % 30) for i in range(n)])


def test_the_queue_says_how_long_the_pool_lasts_once_approved(
    org, pool, admin_user, as_manager, make_clients
):
    key = factories.MakKeyFactory(pool=pool, activation_limit=1000, activations_used=996)
    _activations_a_day(key, make_clients(org, 60), per_day=2)
    request = mak_requests.request_activations(
        actor=admin_user, pool=pool, key=key, quantity=15, justification="Kiosks"
    )
    body = as_manager.get("/approvals/").content.decode()
    # 4 left + 15 = 19 activations at 2 a day: 9 whole days; today it runs out in 2.
    assert "limit 1,015, remaining 19" in body
    assert re.search(r'data-testid="lasts">\s*enough for about 9 days at the current rate', body)
    assert "2 / day" in body and "runs out today" not in body

    # A request that does not cover a day says so, in the htmx card as on the page.
    ActivationRequest.objects.filter(pk=request.pk).update(quantity=1)
    MakKey.objects.filter(pk=key.pk).update(activations_used=1000)
    card = as_manager.get("/approvals/", HTTP_HX_REQUEST="true").content.decode()
    assert "less than a day at the current rate" in card


def test_the_queue_says_nothing_of_days_for_a_pool_nobody_draws_on(pending, as_manager):
    body = as_manager.get("/approvals/").content.decode()
    assert "limit 25, remaining 16" in body and 'data-testid="lasts"' not in body


def test_htmx_approve_swaps_the_card_and_applies_the_request(pending, as_manager, manager_user):
    response = as_manager.post(
        f"/requests/{pending.pk}/approve/", {"note": "go"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "HX-Request" in response["Vary"]
    assert f'id="request-{pending.pk}"' in body and "Approved by" in body
    assert MakKey.objects.get(pk=pending.key_id).activation_limit == 25
    again = as_manager.post(
        f"/requests/{pending.pk}/reject/", {"note": "no"}, HTTP_HX_REQUEST="true"
    )
    assert "already approved" in again.content.decode()


def test_no_js_reject_redirects_back_with_a_message(pending, as_manager):
    response = as_manager.post(f"/requests/{pending.pk}/reject/", {"note": ""}, follow=True)
    assert "Say why" in response.content.decode()
    response = as_manager.post(f"/requests/{pending.pk}/reject/", {"note": "Use KMS"}, follow=True)
    assert response.redirect_chain[-1][0] == "/approvals/"
    assert "rejected" in response.content.decode()
    assert ActivationRequest.objects.get().status == RequestStatus.REJECTED


def test_requests_list_cancel_and_grant(pending, as_admin, manager_user, admin_user):
    assert "Kiosks for the new hall" in as_admin.get("/requests/?status=pending").content.decode()
    as_admin.post(f"/requests/{pending.pk}/cancel/")
    assert ActivationRequest.objects.get().status == RequestStatus.CANCELLED
    req = mak_requests.request_activations(
        actor=admin_user, pool=pending.pool, quantity=2, justification="again"
    )
    mak_requests.approve_request(actor=manager_user, request=req)
    as_admin.post(f"/requests/{req.pk}/grant/", {"reference": "MS-42"})
    req.refresh_from_db()
    assert req.microsoft_reference == "MS-42"
    body = as_admin.get("/requests/").content.decode()
    assert "granted by Microsoft" in body and "cancelled" in body
    csv = b"".join(as_admin.get("/requests/export.csv").streaming_content).decode()
    assert (
        "MS-42" in csv and "Kiosks for the new hall" in csv and csv.startswith("request_id,status")
    )


def test_exports_neutralise_formulas(org, pool, admin_user, as_admin):
    factories.MakKeyFactory(pool=pool, label="=HYPERLINK(1)")
    mak_requests.request_activations(
        actor=admin_user, pool=pool, quantity=1, justification="@SUM(1)"
    )
    keys_csv = b"".join(as_admin.get("/pools/keys-export.csv").streaming_content).decode()
    assert "'=HYPERLINK(1)" in keys_csv
    requests_csv = b"".join(as_admin.get("/requests/export.csv").streaming_content).decode()
    assert "'@SUM(1)" in requests_csv


def test_the_request_export_is_audited_streamed_and_filtered_by_status(
    org, pool, admin_user, as_admin
):
    factories.MakKeyFactory(pool=pool)
    mak_requests.request_activations(
        actor=admin_user, pool=pool, quantity=2, justification="=cmd|' /C calc'!A0"
    )
    response = as_admin.get("/requests/export.csv?status=pending")
    assert response.status_code == 200 and response.streaming
    assert response["Cache-Control"] == "no-store"
    body = b"".join(response.streaming_content).decode()
    assert "'=cmd|' /C calc'!A0" in body
    event = AuditEvent.objects.get(action="export.activation-requests")
    assert event.organisation_id == org.pk and event.changes["filters"] == {"status": "pending"}
    rejected = b"".join(as_admin.get("/requests/export.csv?status=rejected").streaming_content)
    assert rejected.decode().count("\n") == 1  # the header only


def test_an_unknown_request_status_is_a_400_on_the_export_and_an_error_on_the_list(
    pool, admin_user, as_admin
):
    factories.MakKeyFactory(pool=pool)
    mak_requests.request_activations(actor=admin_user, pool=pool, quantity=2, justification="x")
    export = as_admin.get("/requests/export.csv?status=lost")
    assert export.status_code == 400
    assert "Invalid filter: Status (status)" in export.content.decode()
    assert not AuditEvent.objects.filter(action="export.activation-requests").exists()
    page = as_admin.get("/requests/?status=lost").content.decode()
    assert 'data-testid="filter-errors"' in page and 'data-testid="request-table"' not in page
    assert "/requests/export.csv" not in page


def test_a_form_wide_error_is_on_top_and_field_errors_beside_their_fields(pool, as_admin):
    key = factories.MakKeyFactory(pool=pool, activation_limit=5)
    form = {"key": key.pk, "agreement_number": "1", "product_name": "Office"}
    body = as_admin.post(
        f"/pools/{pool.pk}/request/", form | {"quantity": 0, "justification": "why"}
    ).content.decode()
    alert = body.index('data-testid="form-error"')
    assert "at least one" in body[alert : body.index("</div>", alert)]
    assert alert < body.index('name="agreement_number"')
    body = as_admin.post(
        f"/pools/{pool.pk}/request/", form | {"quantity": 2, "justification": ""}
    ).content.decode()
    assert 'data-testid="form-error"' not in body
    textarea = re.search(r'<textarea[^>]*name="justification"[^>]*>', body).group(0)
    assert 'aria-describedby="id_justification_helptext id_justification_error"' in textarea
    assert 'id="id_justification_error">This field is required.' in body
