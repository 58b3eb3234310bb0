"""Dashboard, global view, reports page, and the shared FilterSet on the API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from licensing.models import ActivationRequest, ClientCount, ComplianceSnapshot, MakActivation
from licensing.services.fleet_summary import client_breakdown, refresh_client_counts
from tests import factories


def test_dashboard_shows_flags_pools_hosts_and_newest_flagged(
    as_admin, fleet, org, django_assert_max_num_queries
):
    pool = fleet["key"].pool
    low = factories.MakKeyFactory(
        pool__organisation=org,
        pool__edition=fleet["edition_std"],
        activation_limit=10,
        activations_used=8,
    )
    MakActivation.objects.create(
        key=fleet["key"],
        pool_id=fleet["key"].pool_id,
        client=fleet["gamma"],
        reason="first",
        activated_at=timezone.now() - timedelta(days=1),
    )
    today = timezone.now().date()
    for d in range(30):
        ComplianceSnapshot.objects.create(
            organisation=org, day=today - timedelta(days=d), flag="expired", count=10 + d
        )
    with django_assert_max_num_queries(20):
        response = as_admin.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Clients by compliance flag" in body
    assert 'data-testid="low-water"' in body  # the 10-activation pool has 2 left, mark 5
    assert pool.edition.name in body and low.pool.edition.name in body
    assert "kms1.contoso.test" in body
    assert "alpha-01" in body and "gamma-03" not in body.split("Newest flagged")[1]
    assert 'data-testid="trend-chart"' in body and "<polyline" in body
    assert "style=" not in body.split("<main")[1]
    assert "Pending activation requests" not in body  # admins do not decide requests


def test_dashboard_shows_pending_requests_to_managers(as_manager, fleet, admin_user):
    ActivationRequest.objects.create(
        pool=fleet["key"].pool,
        key=fleet["key"],
        quantity=50,
        justification="new lab",
        requested_by=admin_user,
    )
    body = as_manager.get("/").content.decode()
    assert "Pending activation requests" in body and "new lab" not in body and "50" in body


def test_dashboard_empty_state_says_what_to_do(as_admin):
    body = as_admin.get("/").content.decode()
    assert "No clients yet." in body and "no trend" in body


def test_an_empty_organisation_draws_no_trend_and_claims_nothing(as_admin, org):
    # The sweep ran once over no clients: one day of zeros is not a trend, and "every client
    # renewed in time" is not true of no clients.
    today = timezone.now().date()
    for flag in ("expired", "unlicensed"):
        ComplianceSnapshot.objects.create(organisation=org, day=today, flag=flag, count=0)
    body = as_admin.get("/").content.decode()
    assert 'data-testid="trend-chart"' not in body and 'data-testid="no-trend"' in body
    assert "Every client renewed in time" not in body
    assert "No clients yet, so nothing is flagged." in body


def test_one_day_of_flags_is_not_a_trend_yet(as_admin, org):
    factories.ClientFactory(organisation=org)
    ComplianceSnapshot.objects.create(
        organisation=org, day=timezone.now().date(), flag="expired", count=1
    )
    body = as_admin.get("/").content.decode()
    assert 'data-testid="trend-chart"' not in body and "No trend yet" in body


def test_large_organisations_read_precomputed_counts(as_admin, org, fleet, monkeypatch):
    from licensing.services import fleet_summary

    monkeypatch.setattr(fleet_summary, "LIVE_LIMIT", 2)
    breakdown = client_breakdown(org)  # no stored counts yet: computed once and stored
    assert breakdown.total == 4 and breakdown.as_of is not None
    assert ClientCount.objects.filter(organisation=org).exists()
    factories.ClientFactory(organisation=org, hostname="late-05")
    assert client_breakdown(org).total == 4  # precomputed, until the next refresh
    body = as_admin.get("/").content.decode()
    assert 'data-testid="counts-as-of"' in body and fleet["key"].pool.edition.name in body
    refresh_client_counts()
    assert client_breakdown(org).total == 5
    monkeypatch.setattr(fleet_summary, "LIVE_LIMIT", 20_000)
    assert client_breakdown(org).as_of is None  # small organisations are counted live


def test_the_refresh_task_fills_what_the_next_dashboard_view_would_compute(
    as_admin, org, fleet, monkeypatch
):
    """After the beat's refresh, a large organisation's first dashboard view reads its attention
    counts, licence totals and MAK forecast from the cache: no scan of its clients, no licence
    position, no count of activations (each took a share of 285 ms at 600,000 clients)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from licensing import tasks
    from licensing.services import fleet_summary

    monkeypatch.setattr(fleet_summary, "LIVE_LIMIT", 2)
    as_admin.get("/")  # the page as it was before the refresh (its caches of the old counters)

    def first_view_after_refresh():
        tasks.refresh_client_counts()
        with CaptureQueriesContext(connection) as queries:
            response = as_admin.get("/")
        assert response.status_code == 200
        return response.content.decode(), [q["sql"] for q in queries.captured_queries]

    monkeypatch.setattr(tasks.dashboard_warmup, "warm_dashboards", lambda: 0)
    cold_body, cold = first_view_after_refresh()
    monkeypatch.undo()
    monkeypatch.setattr(fleet_summary, "LIVE_LIMIT", 2)
    warm_body, warm = first_view_after_refresh()

    def derived(sqls):
        return [
            sql
            for sql in sqls
            if "licensing_licence_position" in sql
            or ('FROM "licensing_client"' in sql and "COUNT(" in sql and "flag_changed_at" in sql)
            or 'FROM "licensing_makactivation"' in sql
        ]

    assert len(derived(cold)) >= 3  # the view computed them itself
    assert derived(warm) == []  # the task had
    strip = re.compile(
        r'nonce="[^"]*"|X-CSRFToken": "[^"]*"|middlewaretoken" value="[^"]*"|as of [^<]*'
    )
    assert strip.sub("", warm_body) == strip.sub("", cold_body)


def test_the_first_counts_stored_are_every_organisations(org, other_org, superuser):
    """A large organisation's dashboard stores counts before the first scheduled refresh; the
    global view, which reads stored counts once any exist, must not show the others as empty."""
    from tests.conftest import logged_in

    factories.ClientFactory(organisation=org, hostname="ours-1")
    factories.ClientFactory(organisation=other_org, hostname="theirs-1", compliance_flag="expired")
    factories.ClientFactory(organisation=other_org, hostname="theirs-2")
    refresh_client_counts(organisation_id=org.pk)
    stored = {
        o: sum(ClientCount.objects.filter(organisation=o).values_list("count", flat=True))
        for o in (org, other_org)
    }
    assert stored == {org: 1, other_org: 2}
    # Later one-organisation refreshes rewrite that organisation only.
    factories.ClientFactory(organisation=other_org, hostname="theirs-3")
    factories.ClientFactory(organisation=org, hostname="ours-2")
    refresh_client_counts(organisation_id=org.pk)
    assert sum(ClientCount.objects.filter(organisation=org).values_list("count", flat=True)) == 2
    assert (
        sum(ClientCount.objects.filter(organisation=other_org).values_list("count", flat=True)) == 2
    )
    body = logged_in(superuser).get("/global/").content.decode()
    assert re.search(r'Clients</div><div class="kpi">4<', body)


def test_global_view_is_for_superusers_only(as_admin, superuser, fleet):
    from tests.conftest import logged_in

    assert as_admin.get("/global/").status_code == 404
    body = logged_in(superuser).get("/global/").content.decode()
    assert "Contoso Test" in body and "Other Corp" in body


def test_global_view_lists_the_most_flagged_organisations_and_finds_the_others_by_name(
    superuser, monkeypatch, db
):
    from licensing.views import dashboard as dashboard_views
    from tests.conftest import logged_in

    monkeypatch.setattr(dashboard_views, "GLOBAL_ROWS", 2)
    # (name, flagged clients, clients with no flag): 4 organisations, 13 clients, 6 flagged.
    for name, flagged, ok in (("Alpha", 1, 3), ("Beta", 3, 0), ("Gamma", 0, 2), ("Delta", 2, 2)):
        org = factories.OrganisationFactory(name=name, slug=name.lower())
        for i in range(flagged + ok):
            factories.ClientFactory(
                organisation=org,
                hostname=f"{name.lower()}-{i}",
                compliance_flag="expired" if i < flagged else "ok",
            )
    browser = logged_in(superuser)

    def table(body: str) -> list[str]:
        return re.findall(r'<td><a href="[^"]*organisation=\w+">(\w+)</a></td>', body)

    body = browser.get("/global/").content.decode()
    assert table(body) == ["Beta", "Delta"]  # the most flagged first
    assert "2 of 4 organisations are shown" in body
    # The totals count every organisation, shown or not.
    assert re.search(r'Clients</div><div class="kpi">13<', body)
    assert re.search(r'Flagged</div><div class="kpi text-danger">6<', body)

    body = browser.get("/global/?q=AMM").content.decode()
    assert table(body) == ["Gamma"]
    assert "organisations are shown" not in body
    assert re.search(r'Clients</div><div class="kpi">13<', body)

    response = browser.get("/global/?q=nowhere")
    assert response.status_code == 200
    body = response.content.decode()
    assert table(body) == [] and "No organisation has “nowhere” in its name." in body
    assert 'href="/global/">Show all</a>' in body


def test_reports_page_links_to_ready_made_exports(as_admin, fleet):
    body = as_admin.get("/reports/").content.decode()
    assert "compliance_flag=expired" in body and "never_activated=true" in body
    assert "/audit/export.csv" in body and "Authorization: Bearer" in body


def test_api_clients_endpoint_uses_the_same_filterset(
    client, fleet, admin_user, org, api_token_for
):
    from licensing.api.views.fleet import ClientViewSet
    from licensing.filters import ClientFilterSet

    assert ClientViewSet.filterset_class is ClientFilterSet
    headers = api_token_for(admin_user, org)
    response = client.get("/api/v1/clients/?past_deadline=true&q=del", **headers)
    assert response.status_code == 200
    assert [r["hostname"] for r in response.json()["results"]] == ["delta-04"]
    response = client.get(f"/api/v1/clients/?mak_pool={fleet['key'].pool_id}", **headers)
    assert [r["hostname"] for r in response.json()["results"]] == ["gamma-03"]


def test_dashboard_warns_about_rogue_kms_hosts_of_its_organisation_only(as_admin, org, other_org):
    from licensing.models import DnsFinding

    now = timezone.now()
    DnsFinding.objects.create(
        organisation=org,
        domain="contoso-test.example",
        target="evil-kms.contoso-test.example",
        port=1688,
        first_seen_at=now,
        last_seen_at=now,
    )
    DnsFinding.objects.create(
        organisation=other_org,
        domain="other.example",
        target="theirs.other.example",
        port=1688,
        first_seen_at=now,
        last_seen_at=now,
    )
    page = as_admin.get("/").content.decode()
    assert "Unregistered KMS hosts in DNS" in page
    assert "evil-kms.contoso-test.example" in page
    assert "theirs.other.example" not in page


@pytest.mark.parametrize("path", ["/", "/reports/"])
def test_someone_in_no_organisation_is_told_so_not_shown_an_error(db, path):
    """The dashboard and the reports page of someone who belongs to no organisation say so and
    who adds them (200), rather than a 403 or 404."""
    from tests.conftest import logged_in

    response = logged_in(factories.UserFactory()).get(path)
    assert response.status_code == 200
    body = response.content.decode()
    assert "You are not in any organisation yet" in body
    assert "gives them a role" in body
