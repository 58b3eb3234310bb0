"""Fleet browser fixtures: a small, varied fleet in `org` and one row in `other_org`."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from licensing.models import ActivationMethod, ComplianceFlag, LicenseStatus
from licensing.pagination import SortKey
from tests import factories


@pytest.fixture
def fleet(org, other_org):
    now = timezone.now()
    host = factories.KmsHostFactory(organisation=org, fqdn="kms1.contoso.test")
    other_host = factories.KmsHostFactory(organisation=org, fqdn="kms2.contoso.test")
    key = factories.MakKeyFactory(pool__organisation=org, activation_limit=100, activations_used=3)
    std = factories.edition("Office LTSC Standard 2024")
    c = {}
    c["alpha"] = factories.ClientFactory(
        organisation=org,
        hostname="alpha-01",
        kms_host=host,
        compliance_flag=ComplianceFlag.EXPIRED,
        flag_reason="No KMS renewal for 180 days",
        last_renewal_at=now - timedelta(days=200),
        renewal_deadline=now - timedelta(days=20),
    )
    c["beta"] = factories.ClientFactory(
        organisation=org,
        hostname="beta-02",
        kms_host=other_host,
        edition=std,
        compliance_flag=ComplianceFlag.AT_RISK,
        last_renewal_at=now - timedelta(days=160),
        renewal_deadline=now + timedelta(days=20),
    )
    c["gamma"] = factories.ClientFactory(
        organisation=org,
        hostname="gamma-03",
        activation_method=ActivationMethod.MAK,
        mak_key=key,
        cmid=uuid.uuid4(),
        license_status=LicenseStatus.LICENSED,
        last_renewal_at=None,
        renewal_deadline=None,
    )
    c["delta"] = factories.ClientFactory(
        organisation=org,
        hostname="delta-04",
        fqdn="=cmd|' /C calc'!A0",
        license_status=LicenseStatus.OOB_GRACE,
        last_activation_at=None,
        last_renewal_at=None,
        installed_at=now - timedelta(days=40),
        renewal_deadline=now - timedelta(days=10),
        compliance_flag=ComplianceFlag.UNLICENSED,
    )
    c["outsider"] = factories.ClientFactory(organisation=other_org, hostname="alpha-99")
    c["host"], c["key"], c["edition_std"] = host, key, std
    return c


# Two sorts of the keyset paginator: one never NULL, one with NULLs (tests of pagination).
KEYSET_SORTS = {
    "hostname": SortKey("hostname"),
    "renewal": SortKey("last_renewal_at", nullable=True),
}


@pytest.fixture
def tied_clients(org):
    """23 clients: renewals on only three distinct instants, plus 8 that never renewed."""
    now = timezone.now().replace(microsecond=0)
    instants = [now - timedelta(days=d) for d in (1, 5, 9)]
    rows = []
    for i in range(23):
        renewal = None if i % 3 == 0 else instants[i % 3 if i % 2 else 0]
        rows.append(
            factories.ClientFactory(
                organisation=org, hostname=f"pc-{(i * 7) % 23:03d}", last_renewal_at=renewal
            )
        )
    return rows
