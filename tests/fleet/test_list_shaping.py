"""Lists people can shape (issue 17): flag / licence-state / edition sorts with keyset paging,
the page-size choice, short URLs, saved views per user, and the bulk actions "export the
selection" and "re-check now"."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from licensing.models import (
    AuditEvent,
    Client,
    ClientFlagChange,
    ComplianceFlag,
    Edition,
    LicenseStatus,
    Role,
    SavedView,
)
from tests import factories
from tests.conftest import logged_in

ROW = re.compile(r'href="/clients/(\d+)/">([^<]+)</a>')
NEXT = re.compile(r'rel="next" href="([^"]+)"')


def rows(response) -> list[str]:
    return [name for _, name in ROW.findall(response.content.decode())]


def csv_hostnames(response) -> list[str]:
    body = b"".join(response.streaming_content).decode()
    return sorted(r["hostname"] for r in csv.DictReader(io.StringIO(body)))


@pytest.fixture
def sixty(org, other_org):
    """60 clients with many ties on flag, state and edition (some without an edition)."""
    editions = [*Edition.objects.order_by("pk")[:3], None]
    flags = list(ComplianceFlag.values)
    states = list(LicenseStatus.values)
    made = [
        factories.ClientFactory(
            organisation=org,
            hostname=f"pc-{i:02d}",
            compliance_flag=flags[i % len(flags)],
            license_status=states[(i * 7) % len(states)],
            edition=editions[i % 4],
        )
        for i in range(60)
    ]
    factories.ClientFactory(organisation=other_org, hostname="pc-foreign")
    return made


def _expected(clients, sort: str) -> list[str]:
    name = sort.lstrip("-")
    desc = sort.startswith("-")
    value = {
        "flag": lambda c: c.compliance_flag,
        "state": lambda c: c.license_status,
        "edition": lambda c: c.edition.name if c.edition else None,
        "hostname": lambda c: c.hostname,
    }[name]
    present = sorted((c for c in clients if value(c) is not None), key=lambda c: (value(c), c.pk))
    absent = sorted((c for c in clients if value(c) is None), key=lambda c: c.pk)
    if desc:
        present.reverse()
        absent.reverse()
    return [c.hostname for c in present + absent]


@pytest.mark.parametrize(
    "sort", ["flag", "-flag", "state", "-state", "edition", "-edition", "-hostname"]
)
def test_each_sort_pages_by_keyset_without_losing_or_repeating_a_row(as_admin, sixty, sort):
    seen: list[str] = []
    url = f"/clients/?sort={sort}&per_page=25"
    pages = 0
    while url:
        response = as_admin.get(url)
        assert response.status_code == 200
        seen += rows(response)
        pages += 1
        nxt = NEXT.search(response.content.decode())
        url = "/clients/" + html.unescape(nxt.group(1)) if nxt else None
    assert pages == 3
    assert len(seen) == len(set(seen)) == 60
    assert seen == _expected(sixty, sort)


def test_the_sortable_headers_are_offered(as_admin, sixty):
    page = as_admin.get("/clients/").content.decode()
    for name in ("flag", "state", "edition"):
        assert f'href="?sort={name}"' in page


@pytest.mark.parametrize(
    ("per_page", "shown", "message"),
    [
        ("", 50, None),
        ("25", 25, None),
        ("100", 60, None),
        ("37", 25, "37 rows per page is not offered"),
        ("100000", 60, "100,000 rows per page is not offered"),
        ("-5", 25, "-5 rows per page is not offered"),
        ("abc", 50, "Rows per page must be one of 25, 50, 100, 200"),
    ],
)
def test_page_size_is_validated_never_an_error_page(as_admin, sixty, per_page, shown, message):
    response = as_admin.get(f"/clients/?per_page={per_page}")
    assert response.status_code == 200
    assert len(rows(response)) == shown
    body = response.content.decode()
    if message:
        assert message in html.unescape(body)
        assert 'data-testid="per-page-error"' in body
    else:
        assert 'data-testid="per-page-error"' not in body


def test_empty_parameters_are_absent_and_links_drop_them(as_admin, sixty):
    response = as_admin.get(
        "/clients/?q=&compliance_flag=&edition=&sort=&per_page=&last_renewal_after=&retired="
        "&stale=unknown&flagged=unknown"
    )
    assert response.status_code == 200
    assert len(rows(response)) == 50
    nxt = html.unescape(NEXT.search(response.content.decode()).group(1))
    assert "q=" not in nxt and "compliance_flag=" not in nxt and "per_page=" not in nxt
    assert "unknown" not in nxt
    assert "No client matches" not in response.content.decode()


def test_the_filter_form_script_disables_empty_fields(as_admin, sixty):
    from django.conf import settings

    script = (settings.BASE_DIR / "static" / "js" / "portal.js").read_text()
    assert "htmx:configRequest" in script and "el.disabled = true" in script
    assert 'value === "unknown"' in script and "dataset.default" in script


# --- saved views ----------------------------------------------------------------------------


def test_saved_view_is_stored_short_listed_and_audited(as_admin, admin_user, org, sixty):
    response = as_admin.post(
        "/clients/views/",
        {
            "organisation": org.slug,
            "name": "  Expired   first ",
            "query": "compliance_flag=expired&q=&sort=-hostname&cursor=abc&organisation=x&per_page=100",
        },
    )
    assert response.status_code == 302
    view = SavedView.objects.get(user=admin_user)
    assert view.name == "Expired first"
    assert view.query == "compliance_flag=expired&sort=-hostname&per_page=100"
    assert response["Location"].endswith(f"?organisation={org.slug}&{view.query}")
    page = as_admin.get("/clients/").content.decode()
    assert f"?organisation={org.slug}&amp;compliance_flag=expired&amp;sort=-hostname" in page
    event = AuditEvent.objects.get(action="saved_view.created")
    assert event.changes["name"] == "Expired first" and event.organisation_id == org.pk
    # The same name again replaces its query.
    as_admin.post("/clients/views/", {"name": "Expired first", "query": "flagged=true"})
    assert SavedView.objects.get(user=admin_user).query == "flagged=true"
    assert AuditEvent.objects.filter(action="saved_view.updated").count() == 1
    # No name: a message, nothing saved, never a 500.
    response = as_admin.post("/clients/views/", {"name": " ", "query": "flagged=true"})
    assert response.status_code == 302 and SavedView.objects.count() == 1


def test_saved_views_are_private_to_their_user_and_organisation(
    as_admin, admin_user, manager_user, org, other_org, sixty
):
    mine = SavedView.objects.create(user=admin_user, organisation=org, name="Mine", query="")
    theirs = SavedView.objects.create(
        user=manager_user, organisation=org, name="Manager's", query="flagged=true"
    )
    # The admin is also a member of another organisation, with a view there.
    factories.MembershipFactory(user=admin_user, organisation=other_org, role=Role.ADMIN)
    elsewhere = SavedView.objects.create(
        user=admin_user, organisation=other_org, name="Elsewhere", query=""
    )
    page = as_admin.get(f"/clients/?organisation={org.slug}").content.decode()
    assert "Mine" in page and "Manager&#x27;s" not in page and "Elsewhere" not in page
    # Someone else's view, or the user's own view of another organisation: 404, kept.
    assert as_admin.post(f"/clients/views/{theirs.pk}/delete/").status_code == 404
    url = f"/clients/views/{elsewhere.pk}/delete/"
    assert as_admin.post(url, {"organisation": org.slug}).status_code == 404
    assert SavedView.objects.count() == 3
    # An outsider cannot delete either.
    outsider = logged_in(factories.UserFactory(username="nobody"))
    assert outsider.post(f"/clients/views/{mine.pk}/delete/").status_code in (403, 404)
    # The owner deletes it, audited.
    assert as_admin.post(f"/clients/views/{mine.pk}/delete/").status_code == 302
    assert not SavedView.objects.filter(pk=mine.pk).exists()
    assert AuditEvent.objects.get(action="saved_view.deleted").changes["name"] == "Mine"


# --- bulk actions ---------------------------------------------------------------------------


def test_export_the_selection_is_a_get_export_of_the_ticked_rows(as_admin, org, sixty):
    picked = [sixty[3].pk, sixty[7].pk, Client.objects.get(hostname="pc-foreign").pk]
    response = as_admin.post(
        "/clients/export-selection/", {"ids": picked, "query": "sort=flag&cursor=zzz"}
    )
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/clients/export.csv?")
    assert "cursor" not in location and f"ids={picked[0]},{picked[1]},{picked[2]}" in location
    export = as_admin.get(location)
    assert export.status_code == 200
    # Another organisation's id selects nothing.
    assert csv_hostnames(export) == ["pc-03", "pc-07"]
    # The export itself stays GET-only.
    assert as_admin.post(location).status_code == 405


def test_export_all_matching_exports_the_filter(as_admin, org, sixty):
    response = as_admin.post(
        "/clients/export-selection/", {"all_matching": "1", "query": "compliance_flag=expired"}
    )
    export = as_admin.get(response["Location"])
    expected = sorted(c.hostname for c in sixty if c.compliance_flag == "expired")
    assert csv_hostnames(export) == expected


def test_export_selection_refuses_nothing_ticked_and_bad_ids(as_admin, as_auditor, sixty):
    response = as_admin.post("/clients/export-selection/", {"query": ""})
    assert response.status_code == 302 and "export.csv" not in response["Location"]
    assert as_admin.get("/clients/export.csv?ids=1,abc").status_code == 400
    # Auditors may export (not retire or re-check).
    response = as_auditor.post("/clients/export-selection/", {"ids": [sixty[0].pk]})
    assert csv_hostnames(as_auditor.get(response["Location"])) == ["pc-00"]
    assert as_auditor.post("/clients/recheck/", {"ids": [sixty[0].pk]}).status_code == 403


def test_recheck_now_reflags_the_selection_through_the_sweep_rules(as_admin, org, fleet):
    alpha, gamma = fleet["alpha"], fleet["gamma"]
    # The stored flags are wrong (as if a rule had changed): the re-check puts them right.
    Client.objects.filter(pk=alpha.pk).update(compliance_flag=ComplianceFlag.OK, flag_reason="")
    Client.objects.filter(pk=fleet["outsider"].pk).update(compliance_flag=ComplianceFlag.EXPIRED)
    response = as_admin.post(
        "/clients/recheck/", {"ids": [alpha.pk, gamma.pk, fleet["outsider"].pk], "query": ""}
    )
    assert response.status_code == 302
    alpha.refresh_from_db()
    assert alpha.compliance_flag == ComplianceFlag.EXPIRED
    change = ClientFlagChange.objects.get(client=alpha)
    assert change.changed_by == "re-check" and change.from_flag == ComplianceFlag.OK
    # Another organisation's client is untouched.
    assert Client.objects.get(pk=fleet["outsider"].pk).compliance_flag == ComplianceFlag.EXPIRED
    event = AuditEvent.objects.get(action="client.rechecked")
    assert event.changes["count"] == 2 and event.changes["changed"] >= 1
    # A second re-check changes nothing.
    as_admin.post("/clients/recheck/", {"ids": [alpha.pk, gamma.pk]})
    assert ClientFlagChange.objects.filter(client=alpha).count() == 1


def test_recheck_all_matching_covers_every_page(as_admin, org, fleet):
    ids = [fleet[k].pk for k in ("alpha", "delta")]
    Client.objects.filter(pk__in=ids).update(compliance_flag=ComplianceFlag.OK)
    as_admin.post("/clients/recheck/", {"all_matching": "1", "query": "past_deadline=true"})
    assert set(Client.objects.filter(pk__in=ids).values_list("compliance_flag", flat=True)) == {
        ComplianceFlag.EXPIRED,
        ComplianceFlag.UNLICENSED,
    }
    event = AuditEvent.objects.get(action="client.rechecked")
    assert event.changes["selection"] == "all matching: past_deadline=true"


def test_the_bulk_form_offers_every_action_and_tick_all(as_admin, sixty):
    page = as_admin.get("/clients/").content.decode()
    for testid in ("bulk-export", "bulk-recheck", "bulk-retire", "bulk-restore", "check-page"):
        assert f'data-testid="{testid}"' in page
