"""Browser: an admin requests extra activations, a manager approves them in the queue (htmx),
the pool shows the new limit. Also walks the reveal flow. Screenshots in .run/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from licensing.models import ActivationRequest, AuditEvent, RequestStatus
from tests import factories

EDITION = "Office LTSC Professional Plus 2024"


@pytest.fixture
def eager_celery(tasks_in_process):
    return tasks_in_process


@pytest.fixture
def mak_world(live_server, admin_user, manager_user, org):
    pool = factories.MakPoolFactory(
        organisation=org,
        edition=factories.edition(EDITION),
        agreement_number="87654321",
        low_water_mark=10,
    )
    key = factories.MakKeyFactory(
        pool=pool, activation_limit=100, activations_used=96, label="EA 2025"
    )
    factories.MakKeyFactory(pool=pool, activation_limit=50, status="blocked", label="Leaked")
    factories.MakPoolFactory(
        organisation=org,
        edition=factories.edition("Visio LTSC Professional 2024"),
        low_water_mark=5,
    )
    return pool, key


def test_admin_requests_manager_approves_in_the_queue_and_the_pool_shows_the_new_limit(
    live_server, page, login, screenshot, mak_world, admin_user, manager_user, eager_celery
):
    pool, key = mak_world
    login(page, admin_user)
    page.get_by_role("link", name="MAK pools", exact=True).click()
    expect(page.get_by_test_id("pool-table")).to_contain_text(EDITION)
    screenshot(page, "mak-pool-list")

    page.get_by_role("link", name=EDITION).click()
    expect(page.get_by_test_id("pool-limit")).to_have_text("100")
    screenshot(page, "mak-pool-detail")

    page.get_by_role("link", name="Request extra activations").click()
    page.fill("#id_quantity", "0")
    page.fill("#id_justification", "Forty kiosks for the new assembly hall")
    page.click("form[data-testid=request-form] button[type=submit]")
    expect(page.get_by_test_id("form-error")).to_contain_text("at least one")
    page.fill("#id_quantity", "40")
    page.fill("#id_justification", "Forty kiosks for the new assembly hall")
    screenshot(page, "mak-request-form")
    page.click("form[data-testid=request-form] button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text(
        "for 40 activations sent to the managers"
    )
    req = ActivationRequest.objects.get()
    assert req.status == RequestStatus.PENDING and req.key_last5 == key.last5

    page.context.clear_cookies()
    login(page, manager_user)
    page.get_by_role("link", name="Approvals").click()
    card = page.locator(f"#request-{req.pk}")
    expect(card).to_contain_text("40 extra activations for " + EDITION)
    expect(card).to_contain_text(f"…{key.last5}")
    expect(card).to_contain_text("Forty kiosks")
    expect(card).to_contain_text("limit 140, remaining 44")
    screenshot(page, "mak-approval-queue")
    card.get_by_placeholder("Note (optional)").fill("Approved for the hall")
    card.get_by_test_id("approve").click()
    expect(page.locator(f"#request-{req.pk}")).to_contain_text("Approved by")  # swapped by htmx
    assert page.url.endswith("/approvals/")
    screenshot(page, "mak-approval-decided")

    page.goto(f"{live_server.url}/pools/{pool.pk}/")
    expect(page.get_by_test_id("pool-limit")).to_have_text("140")
    expect(page.get_by_test_id("pool-remaining")).to_have_text("44")
    expect(page.get_by_test_id("pool-requests")).to_contain_text("approved")
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED and req.decided_by == manager_user
    # (Django's test outbox directly: the mailoutbox fixture upsets serialized_rollback here.)
    from django.core import mail

    assert any("approved" in m.subject and m.to == [admin_user.email] for m in mail.outbox)


def test_the_reveal_flow_asks_for_the_password_and_is_audited(
    live_server, page, login, screenshot, mak_world, admin_user
):
    pool, key = mak_world
    login(page, admin_user)
    page.goto(f"{live_server.url}/pools/{pool.pk}/")
    row = page.locator(f"tr[data-key='{key.pk}']")
    row.locator("summary").click()
    row.get_by_role("link", name="Reveal (audited)").click()
    expect(page.locator("h1")).to_contain_text("Confirm your password")
    screenshot(page, "mak-reveal-confirm-password")
    page.fill("#id_password", "correct-horse-battery")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("button", name="Show the whole key")).to_be_visible()
    response_headers = {}
    page.on(
        "response",
        lambda r: response_headers.update(r.headers) if r.request.method == "POST" else None,
    )
    page.get_by_role("button", name="Show the whole key").click()
    revealed = page.get_by_test_id("revealed-key")
    assert revealed.inner_text().endswith(key.last5) and len(revealed.inner_text()) == 29
    assert "no-store" in response_headers.get("cache-control", "")
    screenshot(page, "mak-reveal-shown")
    assert AuditEvent.objects.filter(action="mak_key.reveal", object_id=str(key.pk)).count() == 1
