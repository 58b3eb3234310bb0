"""One form mechanism and the client list, looked at in a real browser at desktop (1440 px)
and phone (390 px) widths: field errors beside their fields, a bad filter explained in words;
and the client list on laptop screens (1024 and 1280 px) and the dashboard on a phone: every
column on screen."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from licensing.models import ComplianceFlag, LicenseStatus
from tests import factories
from tests.browser.test_fleet_browser import make_fleet

WIDTHS = {"desktop": 1440, "phone": 390}


def open_on_a_phone(page, login, user, url: str) -> None:
    page.set_viewport_size({"width": WIDTHS["phone"], "height": 900})
    login(page, user)
    page.goto(url)


def assert_no_sideways_scroll(table) -> None:
    """Below 576 px a table is its own scroll box (static/css/portal.css): nothing to scroll."""
    scroll_width, client_width = table.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert scroll_width <= client_width, (scroll_width, client_width)


@pytest.mark.parametrize("width", WIDTHS, ids=list(WIDTHS))
def test_a_form_page_and_the_client_list_at_two_widths(
    live_server, page, login, screenshot, org, admin_user, width
):
    make_fleet(org)
    page.set_viewport_size({"width": WIDTHS[width], "height": 900})
    login(page, admin_user)

    page.goto(f"{live_server.url}/kms/hosts/new/")
    page.fill("#id_fqdn", "kms9.contoso.test")
    page.fill("#id_port", "0")
    page.click("[data-testid=host-form] button[type=submit]")
    port = page.locator("#id_port")
    expect(port).to_have_class("form-control is-invalid")
    expect(port).to_have_attribute("aria-describedby", "id_port_helptext id_port_error")
    expect(page.locator("#id_port_error")).to_contain_text("greater than or equal to 1")
    screenshot(page, f"form-kms-host-errors-{width}")

    page.goto(f"{live_server.url}/clients/")
    expect(page.get_by_test_id("client-table")).to_be_visible()
    expect(page.locator("#id_last_renewal_0")).to_have_attribute("type", "date")
    if width == "phone":
        # On a phone the filters beyond the search start folded, so the rows come first.
        expect(page.locator("#id_compliance_flag")).to_be_hidden()
        page.click("details.filter-more > summary")
    page.select_option("#id_compliance_flag", "expired")
    expect(page.get_by_test_id("row-count").first).to_contain_text("65 matching rows")
    screenshot(page, f"client-list-{width}")

    page.goto(f"{live_server.url}/clients/?last_renewal_after=notadate")
    alert = page.get_by_test_id("filter-errors")
    expect(alert).to_contain_text("Last renewal: Enter a valid date.")
    expect(page.get_by_test_id("export-link")).to_have_count(0)
    expect(page.get_by_test_id("empty-state")).to_have_count(0)
    screenshot(page, f"client-list-invalid-filter-{width}")


@pytest.mark.parametrize("width", [1024, 1280])
def test_the_client_list_fits_a_laptop_screen(live_server, page, login, org, admin_user, width):
    """The widest values a row can hold (a long hostname and FQDN, "Reactivation needed",
    "Out-of-tolerance grace", a long edition, "KMS via <host>", the note under a deadline) fit
    the table's width: every column is on screen without a sideways scroll."""
    now = timezone.now()
    host = factories.KmsHostFactory(organisation=org, fqdn="kms01.branch-office.contoso.test")
    for i in range(3):
        factories.ClientFactory(
            organisation=org,
            hostname=f"pc-0004d0b5-19{i:02d}",
            fqdn=f"pc-0004d0b5-19{i:02d}.branch-office.contoso.test",
            kms_host=host,
            license_status=LicenseStatus.OOT_GRACE,
            compliance_flag=ComplianceFlag.REACTIVATION_NEEDED if i else ComplianceFlag.EXPIRED,
            renewal_deadline=now + timedelta(days=90),
        )
    page.set_viewport_size({"width": width, "height": 900})
    login(page, admin_user)
    page.goto(f"{live_server.url}/clients/?sort=-deadline")
    expect(page.get_by_test_id("deadline-note").first).to_be_visible()
    scroller = page.locator(".table-responsive")
    assert_no_sideways_scroll(scroller)
    expect(page.get_by_role("columnheader", name="Renewal deadline")).to_be_in_viewport()


def test_the_dashboards_tables_fit_a_phone(live_server, page, login, org, admin_user):
    """At 390 px every table of the dashboard fits its card: a host below the activation
    threshold (a long state, its count with "(needs 5)") and flagged clients with long names."""
    now = timezone.now()
    factories.KmsHostFactory(
        organisation=org,
        fqdn="kms02.branch-office.contoso.test",
        state="below_threshold",
        current_count=3,
    )
    for i in range(3):
        factories.ClientFactory(
            organisation=org,
            hostname=f"pc-a5e30807-41{i:02d}",
            compliance_flag=ComplianceFlag.GRACE_EXPIRING,
            flag_changed_at=now - timedelta(hours=i),
        )
    page.set_viewport_size({"width": 390, "height": 900})
    login(page, admin_user)
    expect(page.get_by_text("Newest flagged clients")).to_be_visible()
    expect(page.get_by_text("Below activation threshold").first).to_be_visible()
    tables = page.locator("main table")
    assert tables.count() >= 2
    for i in range(tables.count()):
        scroll_width, client_width = tables.nth(i).evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert scroll_width <= client_width, (i, scroll_width, client_width)


def test_the_decided_requests_fit_a_phone(live_server, page, login, org, admin_user, manager_user):
    """A manager on a phone sees each decided request's pool, quantity, status and who decided
    when, without the table running off the screen (the number and requester show from 576 px)."""
    from licensing.services.mak import requests as mak_requests

    key = factories.MakKeyFactory(
        pool=factories.MakPoolFactory(organisation=org, agreement_number="42394260")
    )
    asked = mak_requests.request_activations(
        actor=admin_user, pool=key.pool, key=key, quantity=400, justification="New branch office"
    )
    mak_requests.reject_request(actor=manager_user, request=asked, note="Ask for January's need")
    open_on_a_phone(page, login, manager_user, f"{live_server.url}/approvals/")
    table = page.get_by_test_id("decided-requests")
    expect(table).to_contain_text("rejected")
    expect(table).to_contain_text(manager_user.username)
    assert_no_sideways_scroll(table)


def test_the_audit_log_reads_on_a_phone(live_server, page, login, org, auditor_user):
    """At 390 px the audit log's details column keeps a readable width (the table scrolls
    sideways) instead of a few characters a line: a sign-in's browser string made each row
    about 480 px tall."""
    from licensing.services import audit

    browser_string = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Safari/537.36"
    )
    for _ in range(3):
        audit.record(
            action="kms_host.updated",
            actor=auditor_user,
            organisation=org,
            changes={"method": "password", "user_agent": browser_string},
            ip_address="192.0.2.10",
        )
    open_on_a_phone(page, login, auditor_user, f"{live_server.url}/audit/?organisation={org.slug}")
    details = page.get_by_test_id("audit-summary-cell").first
    expect(details).to_contain_text("user_agent")
    row_height, details_width = details.evaluate(
        "e => [e.closest('tr').getBoundingClientRect().height,"
        " e.closest('td').getBoundingClientRect().width]"
    )
    assert details_width >= 200, details_width
    assert row_height <= 160, row_height


def test_the_group_mappings_fit_a_phone(live_server, page, login, org, admin_user):
    """At 390 px each group mapping shows its group, source, role and Remove button without the
    table running off the screen (the Remove button was cut in half)."""
    from licensing.models import GroupMapping

    GroupMapping.objects.create(
        organisation=org, source="oidc", group="Contoso-Licensing-Admins", role="admin"
    )
    open_on_a_phone(
        page, login, admin_user, f"{live_server.url}/organisation/sign-in/?organisation={org.slug}"
    )
    table = page.locator("#group-mappings")
    expect(table).to_contain_text("Contoso-Licensing-Admins")
    expect(table.locator("text=Single sign-on >> visible=true")).to_have_count(1)
    expect(table.get_by_role("button", name="Remove")).to_be_in_viewport(ratio=1)
    assert_no_sideways_scroll(table)


def test_the_mak_pools_fit_a_phone(live_server, page, login, org, admin_user, manager_user):
    """At 390 px each pool shows its edition, what remains (with "low"), its run-out and its
    pending requests on screen; the keys and used / limit columns show from 576 px (the
    remaining column was cut in half, the rest off screen)."""
    from licensing.services.mak import requests as mak_requests

    key = factories.MakKeyFactory(
        pool=factories.MakPoolFactory(
            organisation=org, agreement_number="42394260", low_water_mark=5
        ),
        activation_limit=10,
        activations_used=7,
    )
    mak_requests.request_activations(
        actor=admin_user, pool=key.pool, key=key, quantity=150, justification="New branch"
    )
    open_on_a_phone(page, login, manager_user, f"{live_server.url}/pools/?organisation={org.slug}")
    table = page.get_by_test_id("pool-table")
    expect(table).to_contain_text("42394260")
    for shown in (
        table.get_by_text("low", exact=True),
        table.get_by_test_id("pool-urgency"),
        table.locator("text=1 pending (150) >> visible=true"),
    ):
        expect(shown).to_be_in_viewport(ratio=1)
    assert_no_sideways_scroll(table)


def test_the_activation_requests_fit_a_phone(live_server, page, login, org, admin_user):
    """At 390 px the one who asked sees each request's pool, quantity, status and Cancel button
    on screen; the number, justification, requester and decision show from wider screens (the
    status and the button were off screen)."""
    from licensing.services.mak import requests as mak_requests

    key = factories.MakKeyFactory(
        pool=factories.MakPoolFactory(organisation=org, agreement_number="42394260")
    )
    mak_requests.request_activations(
        actor=admin_user,
        pool=key.pool,
        key=key,
        quantity=150,
        justification="Finance moves 120 desktops to Office LTSC 2024 in January; 30 spare.",
    )
    open_on_a_phone(page, login, admin_user, f"{live_server.url}/requests/?organisation={org.slug}")
    table = page.get_by_test_id("request-table")
    expect(table).to_contain_text("42394260")
    for shown in (table.get_by_text("pending"), table.get_by_role("button", name="Cancel")):
        expect(shown).to_be_in_viewport(ratio=1)
    assert_no_sideways_scroll(table)
    # Newest first; the menu turns the order round (its column shows from 768 px).
    expect(page.get_by_test_id("sort-menu")).to_contain_text("Sort: Requested")


def test_a_mak_pool_fits_a_phone(live_server, page, login, org, admin_user):
    """At 390 px a pool's keys (the key's last five, its label, status, used / limit and Manage),
    its recent activations and its requests fit the screen; the full mask, the remaining
    columns, the reason and the decision show on wider screens (the keys table was 824 px)."""
    from licensing.services.mak import requests as mak_requests

    key = factories.MakKeyFactory(
        pool=factories.MakPoolFactory(organisation=org, agreement_number="42394260"),
        label="Enrolment key 1",
    )
    clients = [
        factories.ClientFactory(organisation=org, hostname=f"pc-c2c2a045-38{i:02d}")
        for i in range(3)
    ]
    factories.activations(key, clients, [timedelta(hours=i) for i in range(3)])
    mak_requests.request_activations(
        actor=admin_user, pool=key.pool, key=key, quantity=150, justification="New branch"
    )
    open_on_a_phone(
        page, login, admin_user, f"{live_server.url}/pools/{key.pool.pk}/?organisation={org.slug}"
    )
    keys = page.get_by_test_id("key-table")
    expect(keys.locator(f"text=…{key.last5} >> visible=true")).to_be_in_viewport(ratio=1)
    expect(keys.get_by_test_id("key-label-phone")).to_have_text("Enrolment key 1")
    expect(keys.get_by_text("Manage")).to_be_in_viewport(ratio=1)
    expect(page.get_by_test_id("recent-activation")).to_have_count(3)
    for table in (
        keys,
        page.locator("table:has([data-testid=recent-activation])"),
        page.get_by_test_id("pool-requests"),
    ):
        assert_no_sideways_scroll(table)


def _enterprise_agreement(org, admin_user):
    """Enterprise Agreement 42394260, 2024-2026, with Software Assurance and a reseller."""
    from datetime import date

    from licensing.services.licences import agreements

    return agreements.create_agreement(
        actor=admin_user,
        organisation=org,
        programme="ea",
        number="42394260",
        starts_on=date(2024, 1, 1),
        ends_on=date(2026, 12, 31),
        sa_ends_on=date(2026, 12, 31),
        reseller="Demo Reseller Ltd",
    )


def test_an_agreement_fits_a_phone(live_server, page, login, org, admin_user):
    """At 390 px an agreement's licences show edition, count and Edit / Remove on screen (the
    date, downgrade rights and note from wider screens), and the true-up form's button stays
    inside its card (it ran past the screen's edge)."""
    from licensing.services.licences import agreements

    agreement = _enterprise_agreement(org, admin_user)
    for name in ("Office LTSC Professional Plus 2024", "Visio LTSC Professional 2024"):
        agreements.add_entitlement(
            actor=admin_user,
            agreement=agreement,
            edition=factories.edition(name),
            quantity=459,
            note="Delivered with the 2024 refresh of the finance department",
        )
    open_on_a_phone(
        page,
        login,
        admin_user,
        f"{live_server.url}/licences/agreements/{agreement.pk}/?organisation={org.slug}",
    )
    table = page.get_by_test_id("entitlement-table")
    expect(table.get_by_role("button", name="Remove").first).to_be_in_viewport(ratio=1)
    assert_no_sideways_scroll(table)
    button_right, card_right = page.get_by_test_id("true-up-form").evaluate(
        "e => [e.querySelector('button').getBoundingClientRect().right,"
        " e.closest('.card-body').getBoundingClientRect().right]"
    )
    assert button_right <= card_right, (button_right, card_right)


def test_the_kms_hosts_fit_a_phone(live_server, page, login, org, admin_user):
    """At 390 px each KMS host shows its name, its state and its count against the threshold on
    screen (DNS, product group and the last poll and report from 768 px): the state of a host
    below the threshold was cut off and its count off screen."""
    factories.KmsHostFactory(
        organisation=org,
        fqdn="kms02.branch-office.contoso.example",
        state="below_threshold",
        current_count=3,
    )
    open_on_a_phone(
        page, login, admin_user, f"{live_server.url}/kms/hosts/?organisation={org.slug}"
    )
    table = page.get_by_test_id("host-table")
    expect(table.get_by_text("Below activation threshold")).to_be_in_viewport(ratio=1)
    expect(table.get_by_test_id("host-count-phone")).to_contain_text("3 / 5")
    assert_no_sideways_scroll(table)
    # The last poll and report are sorted from the menu on a phone.
    menu = page.get_by_test_id("sort-menu")
    menu.get_by_role("button", name="Sort: Host").click()
    expect(menu.get_by_role("link", name="Last poll descending")).to_be_visible()


def test_the_licence_position_fits_a_phone(live_server, page, login, org, admin_user):
    """At 390 px each edition shows installs, licences and how many are short on screen (what
    is covered by a newer version and what is unused from 768 px): the short column was off
    screen."""
    for i in range(3):
        factories.ClientFactory(
            organisation=org,
            hostname=f"pc-short-{i}",
            edition=factories.edition("Office LTSC Professional Plus 2024"),
        )
    open_on_a_phone(page, login, admin_user, f"{live_server.url}/licences/?organisation={org.slug}")
    table = page.get_by_test_id("position-table")
    shortfall = table.get_by_test_id("shortfall").first
    shortfall.scroll_into_view_if_needed()
    expect(shortfall).to_have_text("3")
    expect(shortfall).to_be_in_viewport(ratio=1)
    assert_no_sideways_scroll(table)


def test_a_kms_hosts_poll_history_fits_a_phone(live_server, page, login, org, admin_user):
    """At 390 px each poll shows when, the state, TCP, DNS, the count and why it failed; how
    long the poll took shows from 576 px (the table ran off screen)."""
    from licensing.models import HostPoll, HostState

    host = factories.KmsHostFactory(organisation=org, fqdn="kms01.contoso.example")
    now = timezone.now()
    for i in range(3):
        HostPoll.objects.create(
            host=host,
            polled_at=now - timedelta(hours=6 * i),
            reachable=True,
            srv_published=True,
            current_count=46,
            latency_ms=2.2,
            duration_ms=1012.0,
            state=HostState.HEALTHY,
        )
    open_on_a_phone(
        page, login, admin_user, f"{live_server.url}/kms/hosts/{host.pk}/?organisation={org.slug}"
    )
    table = page.get_by_test_id("poll-history")
    expect(table).to_contain_text("published")
    assert_no_sideways_scroll(table)


@pytest.mark.parametrize("path", ["/licences/editions/", "/licences/agreements/"])
def test_the_edition_catalogue_and_the_agreements_fit_a_phone(
    live_server, page, login, org, admin_user, path
):
    """At 390 px the catalogue shows each edition with its GVLK (version, product line and SKU
    id from 768 px) and the agreements each agreement with its end and licences (start,
    Software Assurance and reseller from 768 px): both ran off screen."""
    _enterprise_agreement(org, admin_user)
    open_on_a_phone(page, login, admin_user, f"{live_server.url}{path}?organisation={org.slug}")
    table = page.locator("main table").first
    expect(table).to_contain_text("2024" if "editions" in path else "42394260")
    assert_no_sideways_scroll(table)


def test_the_client_list_fits_a_phone(live_server, page, login, screenshot, org, admin_user):
    """At 390 px each client shows its tick box, hostname and flag on screen, its renewal
    deadline under the hostname (its FQDN from 576 px; licence state, edition, activation and
    the date columns from 768 px): the flag of a client that must reactivate was cut off. The
    sort menu sorts by the columns a phone hides: the latest deadline first here."""
    now = timezone.now()
    factories.ClientFactory(
        organisation=org,
        hostname="pc-0004d0b5-1970",
        fqdn="pc-0004d0b5-1970.contoso.example",
        compliance_flag=ComplianceFlag.REACTIVATION_NEEDED,
        renewal_deadline=now + timedelta(days=20),
    )
    factories.ClientFactory(
        organisation=org, hostname="pc-zz-latest", renewal_deadline=now + timedelta(days=170)
    )
    open_on_a_phone(page, login, admin_user, f"{live_server.url}/clients/?organisation={org.slug}")
    table = page.get_by_test_id("client-table")
    flag = table.get_by_text("Reactivation needed")
    flag.scroll_into_view_if_needed()
    expect(flag).to_be_in_viewport(ratio=1)
    expect(table.get_by_test_id("deadline-phone").first).to_be_visible()
    assert_no_sideways_scroll(table)

    menu = page.get_by_test_id("sort-menu")
    expect(menu).to_contain_text("Sort: Hostname")
    menu.get_by_role("button").click()
    menu.get_by_role("link", name="Renewal deadline descending").click()
    expect(page).to_have_url(re.compile(r"sort=-deadline"))
    expect(menu).to_contain_text("Sort: Renewal deadline")
    first_row = page.get_by_test_id("client-table").locator("tbody tr").first
    expect(first_row).to_contain_text("pc-zz-latest")
    screenshot(page, "client-list-sorted-phone")

    page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})
    # From 768 px the column headers sort, and the menu is gone.
    expect(menu).to_be_hidden()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Renewal deadline")


def test_the_webhook_deliveries_fit_a_phone(live_server, page, login, org, admin_user):
    """At 390 px each delivery shows when, the event, its status and the last answer under it
    (destination from 576 px; subject, attempts, answer and next attempt as columns from
    768 px): the table was 649 px wide."""
    from licensing.models import WebhookKind
    from licensing.services import webhooks

    created = webhooks.create_destination(
        actor=admin_user,
        organisation=org,
        name="Licensing channel",
        kind=WebhookKind.SLACK,
        url="https://hooks.example.test/services/T0/B0/x",
        events=[],
    )
    factories.webhook_delivery(
        created.destination,
        subject="[KMS] kms01.contoso.example is below the activation threshold",
        status="failed",
        attempts=5,
        last_status_code=500,
        last_error="HTTP 500",
    )
    open_on_a_phone(
        page, login, admin_user, f"{live_server.url}/organisation/webhooks/?organisation={org.slug}"
    )
    table = page.locator("#webhook-deliveries")
    expect(table.get_by_text("Failed")).to_be_visible()
    answer = table.get_by_test_id("delivery-answer-phone")
    answer.scroll_into_view_if_needed()
    expect(answer).to_have_text("HTTP 500")
    expect(answer).to_be_in_viewport(ratio=1)
    assert_no_sideways_scroll(table)
