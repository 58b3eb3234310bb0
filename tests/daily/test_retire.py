"""Retiring decommissioned clients: one, the ticked ones, or all matching the list's filter
("select all N matching" across keyset pages); audited; retired clients leave the counts, the
flag totals, the lists and the exports, keep their history, and come back when restored."""

from __future__ import annotations

import re

import pytest

from licensing.models import AuditEvent, Client, ComplianceFlag
from licensing.services.fleet_summary import client_breakdown
from tests import factories

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
