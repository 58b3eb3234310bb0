"""Pages of the licences area: roles and tenancy on every page and action, and what they show."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client as DjangoClient

from licensing.models import Agreement, AuditEvent, Edition, Entitlement, OutboxMessage
from tests.licences.conftest import PRO_PLUS, entitle, make_agreement


@pytest.fixture
def agreement(org):
    a = make_agreement(org, "EA-7", reseller="Reseller Ltd")
    entitle(a, PRO_PLUS["2024"], 10)
    return a


def _read_urls(agreement):
    return [
        "/licences/",
        "/licences/agreements/",
        f"/licences/agreements/{agreement.pk}/",
        "/licences/editions/",
    ]


def test_every_member_reads_the_pages(as_admin, as_manager, as_auditor, agreement, position_data):
    for client in (as_admin, as_manager, as_auditor):
        for url in _read_urls(agreement):
            assert client.get(url).status_code == 200, url
    # 10 + 10 Pro Plus 2024 licences (two agreements) cover all 12 Pro Plus installs.
    response = as_auditor.get("/licences/")
    page = response.content.decode()
    assert 'data-testid="position-table"' in page and "Office Professional Plus 2019" in page
    assert 'data-testid="shortfall"' not in page
    p19 = next(r for r in response.context["rows"] if r.edition.name == PRO_PLUS["2019"])
    assert (p19.installed, p19.covered, p19.covered_by_newer) == (3, 3, 3)


def test_the_page_shows_a_shortfall(as_manager, position_data):
    page = as_manager.get("/licences/").content.decode()
    assert '<span class="badge text-bg-danger" data-testid="shortfall">2</span>' in page


def test_anonymous_is_sent_to_sign_in(client, agreement):
    for url in [*_read_urls(agreement), "/licences/export.csv", "/licences/agreements/new/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"], url


def test_an_outsider_gets_404_for_the_organisation_and_its_objects(as_outsider, agreement):
    line = agreement.entitlements.get()
    assert as_outsider.get("/licences/?organisation=contoso-test").status_code == 404
    assert as_outsider.get("/licences/agreements/?organisation=contoso-test").status_code == 404
    assert as_outsider.get("/licences/export.csv?organisation=contoso-test").status_code == 404
    for url in (
        f"/licences/agreements/{agreement.pk}/",
        f"/licences/agreements/{agreement.pk}/edit/",
        f"/licences/agreements/{agreement.pk}/import/",
        f"/licences/agreements/{agreement.pk}/true-up.csv",
        f"/licences/lines/{line.pk}/edit/",
    ):
        assert as_outsider.get(url).status_code == 404, url
    for url in (
        f"/licences/agreements/{agreement.pk}/",
        f"/licences/agreements/{agreement.pk}/edit/",
        f"/licences/agreements/{agreement.pk}/delete/",
        f"/licences/agreements/{agreement.pk}/true-up/",
        f"/licences/lines/{line.pk}/edit/",
        f"/licences/lines/{line.pk}/delete/",
    ):
        assert as_outsider.post(url, {"quantity": 1}).status_code == 404, url
    assert Agreement.objects.filter(pk=agreement.pk, number="EA-7").exists()
    assert Entitlement.objects.filter(pk=line.pk, quantity=10).exists()
    # Its own (empty) position does not show org's rows.
    assert as_outsider.get("/licences/").context["rows"] == []


def test_managers_and_auditors_cannot_change_anything(as_manager, as_auditor, agreement, org):
    line = agreement.entitlements.get()
    edition = Edition.objects.get(name=PRO_PLUS["2021"])
    for client in (as_manager, as_auditor):
        assert client.get("/licences/agreements/new/").status_code == 403
        assert client.post("/licences/agreements/new/", {"number": "X"}).status_code == 403
        assert client.get(f"/licences/agreements/{agreement.pk}/edit/").status_code == 403
        assert (
            client.post(
                f"/licences/agreements/{agreement.pk}/", {"edition": edition.pk, "quantity": 5}
            ).status_code
            == 403
        )
        assert client.post(f"/licences/agreements/{agreement.pk}/delete/").status_code == 403
        assert client.get(f"/licences/agreements/{agreement.pk}/import/").status_code == 403
        assert client.post(f"/licences/agreements/{agreement.pk}/true-up/").status_code == 403
        assert client.get(f"/licences/lines/{line.pk}/edit/").status_code == 403
        assert client.post(f"/licences/lines/{line.pk}/delete/").status_code == 403
        assert client.post("/licences/editions/", {"name": "X"}).status_code == 403
        page = client.get(f"/licences/agreements/{agreement.pk}/").content.decode()
        assert 'data-testid="entitlement-form"' not in page
    assert Agreement.objects.count() == 1 and Entitlement.objects.get().quantity == 10


def test_admin_records_an_agreement_and_its_licences(as_admin, admin_user, org):
    response = as_admin.post(
        "/licences/agreements/new/",
        {
            "programme": "ea",
            "number": " 6712 3456 ",
            "starts_on": "2025-01-01",
            "ends_on": "2027-12-31",
            "sa_ends_on": "2027-12-31",
            "reseller": "SoftwareONE",
        },
    )
    agreement = Agreement.objects.get(organisation=org)
    assert response.status_code == 302 and response["Location"].endswith(f"/{agreement.pk}/")
    assert agreement.number == "6712 3456" and agreement.created_by == admin_user
    edition = Edition.objects.get(name=PRO_PLUS["2024"])
    response = as_admin.post(
        f"/licences/agreements/{agreement.pk}/",
        {"edition": edition.pk, "quantity": 250, "downgrade_rights": "on"},
    )
    assert response.status_code == 302
    line = Entitlement.objects.get()
    assert (line.organisation_id, line.quantity, line.downgrade_rights) == (org.pk, 250, True)
    assert line.acquired_on == dt.date(2025, 1, 1)  # the agreement's start by default
    actions = list(AuditEvent.objects.filter(organisation=org).values_list("action", flat=True))
    assert "agreement.create" in actions and "entitlement.create" in actions
    assert OutboxMessage.objects.filter(task_name="licensing.licences.check_shortfall").exists()
    # Edit, then remove the line, then the agreement: all audited.
    response = as_admin.post(
        f"/licences/lines/{line.pk}/edit/",
        {"edition": edition.pk, "quantity": 300, "acquired_on": "2025-02-01"},
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.quantity == 300 and line.downgrade_rights is False  # unticked box
    assert as_admin.post(f"/licences/lines/{line.pk}/delete/").status_code == 302
    assert not Entitlement.objects.exists()
    assert as_admin.post(f"/licences/agreements/{agreement.pk}/delete/").status_code == 302
    assert not Agreement.objects.exists()
    actions = set(AuditEvent.objects.filter(organisation=org).values_list("action", flat=True))
    assert {"entitlement.update", "entitlement.delete", "agreement.delete"} <= actions


def test_agreement_form_errors_are_shown_on_their_fields(as_admin, org, agreement):
    response = as_admin.post(
        "/licences/agreements/new/",
        {"programme": "ea", "number": "EA-7", "starts_on": "2025-01-01", "ends_on": "2024-01-01"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "ends_on" in form.errors
    response = as_admin.post(
        "/licences/agreements/new/",
        {"programme": "ea", "number": "EA-7", "starts_on": "2025-01-01"},
    )
    assert "recorded already" in str(response.context["form"].errors["number"])
    response = as_admin.post(
        "/licences/agreements/new/",
        {"programme": "nonsense", "number": "x", "starts_on": "not a date"},
    )
    assert response.status_code == 200 and {"programme", "starts_on"} <= set(
        response.context["form"].errors
    )
    assert Agreement.objects.count() == 1


def test_editing_an_end_date_re_arms_its_alerts(as_admin, agreement):
    Agreement.objects.filter(pk=agreement.pk).update(
        ends_on=dt.date(2026, 12, 31), end_alerted_days=30, sa_end_alerted_days=90
    )
    response = as_admin.post(
        f"/licences/agreements/{agreement.pk}/edit/",
        {"programme": "ea", "number": "EA-7", "starts_on": "2025-01-01", "ends_on": "2027-12-31"},
    )
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.ends_on == dt.date(2027, 12, 31)
    assert agreement.end_alerted_days is None and agreement.sa_end_alerted_days == 90


def test_dashboard_card_says_how_many_editions_are_short(as_manager, position_data):
    page = as_manager.get("/").content.decode()
    assert 'data-testid="licence-position-card"' in page
    assert "1 edition under-licensed, 2 installs short" in page


def test_dashboard_card_without_licences_or_installs(as_manager):
    page = as_manager.get("/").content.decode()
    assert "No agreements or installs of a known edition yet." in page


def test_navigation_link(as_auditor):
    assert 'href="/licences/"' in as_auditor.get("/").content.decode()


def test_a_bad_filter_is_named_not_widened(as_auditor, position_data):
    response = as_auditor.get("/licences/?version=1999")
    assert response.status_code == 200 and response.context["rows"] == []
    assert 'data-testid="filter-errors"' in response.content.decode()
    response = as_auditor.get("/licences/?short=true")
    assert [r.edition.name for r in response.context["rows"]] == [PRO_PLUS["2019"]]


def test_switching_organisation_by_slug(as_admin, admin_user, other_org, position_data):
    from tests.factories import MembershipFactory

    MembershipFactory(user=admin_user, organisation=other_org)
    rows = as_admin.get("/licences/?organisation=other-corp").context["rows"]
    assert [(r.edition.name, r.installed) for r in rows] == [(PRO_PLUS["2019"], 100)]


def test_a_token_of_another_organisation_cannot_export(outsider, other_org, api_token_for, org):
    api = DjangoClient(**api_token_for(outsider, other_org))
    assert api.get("/licences/export.csv?organisation=contoso-test").status_code == 404
