"""Licence position fixtures: agreements, entitlements and installs in `org` (and `other_org`)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from licensing.models import ActivationMethod, Agreement, Client, Entitlement, Programme
from tests import factories

_hosts = itertools.count(1)

PRO_PLUS = {
    "2024": "Office LTSC Professional Plus 2024",
    "2021": "Office LTSC Professional Plus 2021",
    "2019": "Office Professional Plus 2019",
    "2016": "Office Professional Plus 2016",
    "2013": "Office Professional Plus 2013",
}
STANDARD = {
    "2024": "Office LTSC Standard 2024",
    "2021": "Office LTSC Standard 2021",
    "2019": "Office Standard 2019",
}


def install(org, edition_name: str, n: int) -> None:
    """`n` clients of `org` running the edition."""
    edition = factories.edition(edition_name)
    Client.objects.bulk_create(
        Client(
            organisation=org,
            hostname=f"pc-{next(_hosts):07d}",
            edition=edition,
            activation_method=ActivationMethod.KMS,
        )
        for _ in range(n)
    )


def make_agreement(org, number: str = "EA-1000", **kwargs) -> Agreement:
    kwargs.setdefault("programme", Programme.ENTERPRISE_AGREEMENT)
    kwargs.setdefault("starts_on", dt.date(2025, 1, 1))
    return Agreement.objects.create(organisation=org, number=number, **kwargs)


def entitle(agreement, edition_name: str, quantity: int, *, downgrade: bool = True) -> Entitlement:
    return Entitlement.objects.create(
        organisation_id=agreement.organisation_id,
        agreement=agreement,
        edition=factories.edition(edition_name),
        quantity=quantity,
        acquired_on=agreement.starts_on,
        downgrade_rights=downgrade,
    )


@pytest.fixture
def position_data(org, other_org):
    """Pro Plus 2024: 10 licences; installs 4 of 2024, 5 of 2021, 3 of 2019 (12: 2 short).
    Standard 2024: 5 licences, 2 installed (3 surplus; never covers Pro Plus).
    other_org: 100 Pro Plus 2019 installs and 1,000 licences (never seen from org)."""
    agreement = make_agreement(org)
    entitle(agreement, PRO_PLUS["2024"], 10)
    entitle(agreement, STANDARD["2024"], 5)
    install(org, PRO_PLUS["2024"], 4)
    install(org, PRO_PLUS["2021"], 5)
    install(org, PRO_PLUS["2019"], 3)
    install(org, STANDARD["2024"], 2)
    other = make_agreement(other_org, "OTHER-1")
    entitle(other, PRO_PLUS["2019"], 1000)
    install(other_org, PRO_PLUS["2019"], 100)
    return agreement
