"""Retiring decommissioned clients: one, the ticked ones, or all matching the list's filter
("select all N matching" across keyset pages); audited; retired clients leave the counts, the
flag totals, the lists and the exports, keep their history, and come back when restored."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection

from licensing.filters import clients_matching
from licensing.models import AuditEvent, Client, ComplianceFlag
from licensing.services.fleet_summary import client_breakdown
from licensing.services.inventory import bulk
from tests import factories
from tests.outbox import queued, run_outbox

pytestmark = pytest.mark.django_db


def hostnames(response) -> list[str]:
    return re.findall(r'href="/clients/\d+/">([^<]+)</a>', response.content.decode())


@pytest.fixture
def fleet(org, other_org):
    made = {
        f"pc-{i:02d}": factories.ClientFactory(
            organisation=org,
            hostname=f"pc-{i:02d}",
            compliance_flag=ComplianceFlag.EXPIRED if i % 2 else ComplianceFlag.OK,
        )
        for i in range(6)
    }
    made["foreign"] = factories.ClientFactory(organisation=other_org, hostname="foreign")
    return made


def test_retiring_ticked_clients_takes_them_out_of_counts_and_lists(as_admin, org, fleet):
    ids = [fleet["pc-01"].pk, fleet["pc-02"].pk, fleet["foreign"].pk]  # another org's id: ignored
    response = as_admin.post("/clients/retire/", {"ids": ids, "query": ""})
    assert response.status_code == 302
    assert Client.objects.filter(retired_at__isnull=False).count() == 2
    assert Client.objects.get(hostname="foreign").retired_at is None
    assert hostnames(as_admin.get("/clients/")) == ["pc-00", "pc-03", "pc-04", "pc-05"]
    assert hostnames(as_admin.get("/clients/?retired=true")) == ["pc-01", "pc-02"]
    assert len(hostnames(as_admin.get("/clients/?retired=all"))) == 6
    breakdown = client_breakdown(org)
    assert breakdown.total == 4 and breakdown.by_flag[ComplianceFlag.EXPIRED] == 2
    csv = as_admin.get("/clients/export.csv").getvalue().decode()
    assert "pc-01" not in csv and "pc-00" in csv
    event = AuditEvent.objects.get(action="client.retired")
    assert event.changes["count"] == 2 and event.changes["hostnames"] == ["pc-01", "pc-02"]
    # History stays: the page still opens and says retired.
    page = as_admin.get(f"/clients/{fleet['pc-01'].pk}/").content.decode()
    assert 'data-testid="retired"' in page


def test_select_all_matching_retires_every_page_of_the_filter(as_admin, fleet):
    response = as_admin.post(
        "/clients/retire/", {"all_matching": "1", "query": "compliance_flag=expired&per_page=1"}
    )
    assert response.status_code == 302
    retired = set(
        Client.objects.filter(retired_at__isnull=False).values_list("hostname", flat=True)
    )
    assert retired == {"pc-01", "pc-03", "pc-05"}
    assert (
        AuditEvent.objects.get(action="client.retired")
        .changes["selection"]
        .startswith("all matching")
    )


def test_restore_one_from_its_page(as_admin, fleet):
    as_admin.post("/clients/retire/", {"ids": [fleet["pc-00"].pk]})
    page = as_admin.get(f"/clients/{fleet['pc-00'].pk}/").content.decode()
    assert "Restore" in page
    response = as_admin.post(
        "/clients/restore/", {"ids": [fleet["pc-00"].pk], "next": f"/clients/{fleet['pc-00'].pk}/"}
    )
    assert response["Location"] == f"/clients/{fleet['pc-00'].pk}/"
    assert Client.objects.get(pk=fleet["pc-00"].pk).retired_at is None
    event = AuditEvent.objects.get(action="client.restored")
    assert event.object_id == str(fleet["pc-00"].pk)  # one client: the entry names it


def test_auditors_cannot_retire_and_nothing_changes_twice(as_auditor, as_admin, fleet):
    assert as_auditor.post("/clients/retire/", {"ids": [fleet["pc-00"].pk]}).status_code == 403
    as_admin.post("/clients/retire/", {"ids": [fleet["pc-00"].pk]})
    again = as_admin.post("/clients/retire/", {"ids": [fleet["pc-00"].pk]}, follow=True)
    assert "already retired" in again.content.decode()
    assert AuditEvent.objects.filter(action="client.retired").count() == 1
    assert as_admin.get("/clients/retire/").status_code == 405


@pytest.mark.parametrize(
    ("path", "said", "action"),
    [
        ("/clients/retire/", "Retiring more than 2 clients in the background", "client.retired"),
        (
            "/clients/recheck/",
            "Re-checking more than 2 clients in the background",
            "client.rechecked",
        ),
    ],
)
def test_all_matching_past_the_inline_limit_runs_in_the_background(
    as_admin, admin_user, fleet, settings, path, said, action
):
    """More matching clients than BULK_INLINE_MAX: the request queues one task and says so; the
    task acts on the filter's clients as the request would have, and the audit log names the
    administrator."""
    settings.BULK_INLINE_MAX = 2
    query = "compliance_flag=expired&per_page=1"
    response = as_admin.post(path, {"all_matching": "1", "query": query}, follow=True)
    assert said in response.content.decode()
    assert not AuditEvent.objects.filter(action=action).exists()  # nothing done in the request
    assert queued("licensing.inventory.bulk_action") == [
        [path.strip("/").split("/")[1], fleet["pc-01"].organisation_id, admin_user.pk, query]
    ]
    run_outbox()
    event = AuditEvent.objects.get(action=action)
    assert event.actor == admin_user and event.changes["count"] == 3
    assert "in the background" in event.changes["selection"]
    if action == "client.retired":
        retired = Client.objects.filter(retired_at__isnull=False).values_list("hostname", flat=True)
        assert set(retired) == {"pc-01", "pc-03", "pc-05"}


def test_a_selection_within_the_limit_is_done_in_the_request(as_admin, fleet, settings):
    settings.BULK_INLINE_MAX = 3
    as_admin.post("/clients/retire/", {"all_matching": "1", "query": "compliance_flag=expired"})
    assert queued("licensing.inventory.bulk_action") == []
    assert Client.objects.filter(retired_at__isnull=False).count() == 3


def test_the_background_task_is_idempotent_and_gives_up_quietly(admin_user, org, fleet):
    """Run again, it finds nothing left to retire; for a user who may no longer manage clients
    or a filter that is no longer valid it does nothing, and never raises (a retry could not do
    better)."""
    args = (org.pk, admin_user.pk, "compliance_flag=expired")
    kw = {"matching": clients_matching}
    assert bulk.run_queued("retire", *args, **kw) == "retire: 3"
    assert bulk.run_queued("retire", *args, **kw) == "nothing to do"
    assert AuditEvent.objects.filter(action="client.retired").count() == 1
    assert bulk.run_queued("restore", org.pk, admin_user.pk, "compliance_flag=nonsense", **kw) == (
        "invalid filter"
    )
    admin_user.memberships.update(role="auditor")
    assert bulk.run_queued("restore", *args, **kw) == "not allowed"
    assert Client.objects.filter(retired_at__isnull=False).count() == 3


def test_an_unknown_bulk_action_is_refused_not_taken_for_restore(admin_user, org, fleet):
    with pytest.raises(ValueError, match="unknown bulk action"):
        bulk.run_queued("purge", org.pk, admin_user.pk, "", matching=clients_matching)
    assert not AuditEvent.objects.filter(action__startswith="client.").exists()


@pytest.mark.django_db(transaction=True)
def test_two_background_retires_of_the_same_clients_at_once_retire_each_once(
    admin_user, org, fleet
):
    """Two workers running the same queued retire at once (a redelivered message): the rows'
    locks order them; one retires the three, the other finds nothing left, one audit entry."""
    barrier = threading.Barrier(2)
    results: list[str] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(
                bulk.run_queued(
                    "retire",
                    org.pk,
                    admin_user.pk,
                    "compliance_flag=expired",
                    matching=clients_matching,
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["nothing to do", "retire: 3"]
    assert Client.objects.filter(retired_at__isnull=False).count() == 3
    assert AuditEvent.objects.filter(action="client.retired").count() == 1
