"""Stale clients are marked and filterable by the organisation's own rule; an "Expired" client
whose renewal deadline is still ahead says why both are true; the client page says what to do,
with the exact commands."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from licensing.models import AuditEvent, ComplianceFlag, LicenseStatus, Organisation
from tests import factories

pytestmark = pytest.mark.django_db


def hostnames(response) -> list[str]:
    return re.findall(r'href="/clients/\d+/">([^<]+)</a>', response.content.decode())


@pytest.fixture
def seen(org):
    now = timezone.now()
    return {
        name: factories.ClientFactory(
            organisation=org, hostname=name, last_seen_at=now - timedelta(days=days)
        )
        for name, days in (("fresh", 1), ("quiet", 60), ("gone", 120))
    }


def test_clients_not_seen_for_the_organisations_days_are_marked_stale(as_admin, seen):
    body = as_admin.get("/clients/").content.decode()
    marked = re.findall(
        r'>([a-z]+)</a> <span class="badge text-bg-secondary" data-testid="stale"', body
    )
    assert marked == ["gone"]
    assert hostnames(as_admin.get("/clients/?stale=true")) == ["gone"]
    assert hostnames(as_admin.get("/clients/?stale=false")) == ["fresh", "quiet"]
    # The CSV export and the API take the same filter.
    csv = as_admin.get("/clients/export.csv?stale=true").getvalue().decode()
    assert "gone" in csv and "quiet" not in csv
    api = as_admin.get("/api/v1/clients/?stale=true").json()
    assert [c["hostname"] for c in api["results"]] == ["gone"]


def test_the_stale_rule_is_the_organisations_setting(as_admin, org, seen):
    response = as_admin.post(
        "/organisation/settings/", {"at_risk_days": org.at_risk_days, "stale_after_days": 30}
    )
    assert response.status_code == 302
    assert Organisation.objects.get(pk=org.pk).stale_after_days == 30
    event = AuditEvent.objects.get(action="organisation.settings_changed")
    assert event.changes == {"stale_after_days": [90, 30]}
    assert hostnames(as_admin.get("/clients/?stale=true")) == ["gone", "quiet"]
    bad = as_admin.post(
        "/organisation/settings/", {"at_risk_days": org.at_risk_days, "stale_after_days": 0}
    )
    assert bad.status_code == 200 and "between 1 and 3650" in bad.content.decode()


@pytest.fixture
def reported_expired(org):
    now = timezone.now()
    host = factories.KmsHostFactory(organisation=org, fqdn="kms1.contoso.test", port=1688)
    return factories.ClientFactory(
        organisation=org,
        hostname="renewed-but-expired",
        kms_host=host,
        compliance_flag=ComplianceFlag.EXPIRED,
        license_status=LicenseStatus.OOT_GRACE,
        flag_reason="Client reports out-of-tolerance grace",
        last_renewal_at=now - timedelta(days=2),
        renewal_deadline=now + timedelta(days=178),
    )


def test_an_expired_client_with_a_future_deadline_is_explained(as_admin, reported_expired):
    listing = as_admin.get("/clients/").content.decode()
    assert 'data-testid="deadline-note"' in listing
    assert "flag from the client's own report" in listing
    page = as_admin.get(f"/clients/{reported_expired.pk}/").content.decode()
    explanation = re.search(r'data-testid="deadline-explanation">(.*?)</p>', page, re.S).group(1)
    assert "Both are true" in explanation and "Out-of-tolerance grace" in explanation


def test_the_client_page_gives_the_exact_commands(as_admin, reported_expired):
    page = as_admin.get(f"/clients/{reported_expired.pk}/").content.decode()
    commands = re.search(r'data-testid="client-commands">(.*?)</pre>', page, re.S).group(1)
    assert "OSPP.VBS&quot; /sethst:kms1.contoso.test" in commands
    assert "/setprt:1688" in commands and "OSPP.VBS&quot; /act" in commands
    assert "slmgr.vbs /dlv" in page
    assert f'href="/kms/hosts/{reported_expired.kms_host.pk}/"' in page


def test_an_ok_recent_client_needs_no_remedy(as_admin, org):
    client = factories.ClientFactory(organisation=org)
    page = as_admin.get(f"/clients/{client.pk}/").content.decode()
    assert 'data-testid="remedy"' not in page


def test_a_client_whose_activation_lapsed_by_date_is_told_so(as_admin, org):
    """A client that last reported itself licensed, but has not renewed for 180 days, is told
    its activation lapsed (not that it "is not activated", which its own report contradicts)."""
    now = timezone.now()
    host = factories.KmsHostFactory(organisation=org, fqdn="kms1.contoso.test", port=1688)
    lapsed = factories.ClientFactory(
        organisation=org,
        kms_host=host,
        compliance_flag=ComplianceFlag.EXPIRED,
        license_status=LicenseStatus.LICENSED,
        last_renewal_at=now - timedelta(days=200),
        renewal_deadline=now - timedelta(days=20),
    )
    page = as_admin.get(f"/clients/{lapsed.pk}/").content.decode()
    remedy = re.search(r'data-testid="remedy-summary">(.*?)</p>', page, re.S).group(1)
    assert "KMS activation has lapsed" in remedy
    assert "kms1.contoso.test on TCP port 1688" in remedy
    assert "is not activated" not in remedy


def test_a_client_that_reports_itself_unlicensed_is_told_it_is_not_activated(
    as_admin, reported_expired
):
    page = as_admin.get(f"/clients/{reported_expired.pk}/").content.decode()
    remedy = re.search(r'data-testid="remedy-summary">(.*?)</p>', page, re.S).group(1)
    assert "The client is not activated" in remedy
