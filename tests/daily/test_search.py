"""The header search: hostname/FQDN prefix, CMID (whole or 8+ characters), a key's last five,
a KMS host, a request number; grouped by kind, only the caller's organisations."""

from __future__ import annotations

import re
import uuid

import pytest

from licensing.models import ActivationRequest
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def things(org, other_org, admin_user):
    cmid = uuid.UUID("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    mine = factories.ClientFactory(organisation=org, hostname="lab-pc-01", cmid=cmid)
    factories.ClientFactory(organisation=other_org, hostname="lab-pc-02")
    host = factories.KmsHostFactory(organisation=org, fqdn="kms1.contoso.test")
    factories.KmsHostFactory(organisation=other_org, fqdn="kms1.fabrikam.test")
    key = factories.MakKeyFactory(pool__organisation=org)
    req = ActivationRequest.objects.create(
        pool=key.pool,
        key=key,
        key_last5=key.last5,
        quantity=3,
        justification="lab",
        requested_by=admin_user,
    )
    return {"client": mine, "cmid": cmid, "host": host, "key": key, "request": req}


def _groups(body: str) -> set[str]:
    return set(re.findall(r'data-testid="results-(\w+)"', body))


def test_hostname_prefix_finds_only_my_clients(as_admin, things):
    body = as_admin.get("/search/", {"q": "LAB-PC"}).content.decode()
    assert "lab-pc-01" in body and "lab-pc-02" not in body
    assert _groups(body) == {"clients"}


@pytest.mark.parametrize("q", ["3f2504e0-4f89-11d3-9a0c-0305e82c3301", "3f2504e0"])
def test_a_cmid_whole_or_by_its_start(as_admin, things, q):
    body = as_admin.get("/search/", {"q": q}).content.decode()
    assert f'href="/clients/{things["client"].pk}/"' in body


def test_a_key_a_host_and_a_request_number(as_admin, things):
    body = as_admin.get("/search/", {"q": things["key"].last5.lower()}).content.decode()
    assert "results-keys" in body and things["key"].last5 in body
    body = as_admin.get("/search/", {"q": "kms1."}).content.decode()
    assert "kms1.contoso.test" in body and "fabrikam" not in body
    body = as_admin.get("/search/", {"q": f"#{things['request'].pk}"}).content.decode()
    assert f"Request #{things['request'].pk}" in body


def test_nothing_found_and_junk_are_plain_answers(as_admin, things):
    assert 'data-testid="no-results"' in as_admin.get("/search/?q=zzz-nothing").content.decode()
    for junk in ("\x00", "%", "9" * 40, "' OR 1=1"):
        assert as_admin.get("/search/", {"q": junk}).status_code == 200
    page = as_admin.get("/").content.decode()
    assert 'data-testid="header-search"' in page


def test_clients_of_several_organisations_come_in_hostname_order(org, other_org):
    """Read organisation by organisation (`first_by_hostname`), merged in hostname order, ten at
    most; an organisation the user does not belong to stays out."""
    from tests.conftest import logged_in

    third = factories.OrganisationFactory(slug="third")
    user = factories.UserFactory(username="consultant-search")
    for member_of in (org, other_org):
        factories.MembershipFactory(user=user, organisation=member_of, role="auditor")
    for n in range(1, 13):
        factories.ClientFactory(
            organisation=org if n % 2 else other_org, hostname=f"lab-{n:02d}", fqdn=""
        )
    factories.ClientFactory(organisation=third, hostname="lab-00", fqdn="")
    body = logged_in(user).get("/search/", {"q": "lab-"}).content.decode()
    shown = re.findall(r">(lab-\d\d)<", body)
    assert shown == [f"lab-{n:02d}" for n in range(1, 11)]


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("3f2504e0", {"first", "last"}),
        ("3F2504E0-4F89", {"first"}),
        ("3f2504e0-ffff-ffff-ffff-ffffffffffff", {"last"}),
        ("3f2504e04f89", set()),  # a dash is missing: no CMID starts so
        ("3f2504e1", {"next"}),
        ("3f2504e04f8911d39a0c0305e82c3301ff", set()),  # longer than any CMID: no error
    ],
)
def test_a_cmid_prefix_is_a_range_with_exact_ends(as_admin, org, q, found):
    cmids = {
        "first": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "last": "3f2504e0-ffff-ffff-ffff-ffffffffffff",
        "next": "3f2504e1-0000-0000-0000-000000000000",
    }
    clients = {
        name: factories.ClientFactory(organisation=org, hostname=f"cmid-{name}", cmid=cmid)
        for name, cmid in cmids.items()
    }
    response = as_admin.get("/search/", {"q": q})
    assert response.status_code == 200
    body = response.content.decode()
    shown = {name for name, c in clients.items() if f'href="/clients/{c.pk}/"' in body}
    assert shown == found


def test_a_caller_in_many_organisations_costs_the_same_statements(org, other_org):
    """The clients of every organisation are read in one statement planned once (a correlated
    subquery per organisation), not one UNION part per organisation: a superuser over 1,000
    organisations searched in 330 ms with the UNION, 8-16 ms now (docs/daily-work.md)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from licensing.services.daily.search import search

    user = factories.UserFactory(username="many-orgs")
    factories.MembershipFactory(user=user, organisation=org, role="auditor")
    factories.ClientFactory(organisation=org, hostname="lab-01", fqdn="")

    def client_statements() -> tuple[list[str], list[str]]:
        with CaptureQueriesContext(connection) as queries:
            found = [c.hostname for c in search(user, "lab-").clients]
        return found, [q["sql"] for q in queries if "licensing_client" in q["sql"]]

    found_one, one = client_statements()
    for n in range(8):
        extra = factories.OrganisationFactory(slug=f"many-{n}")
        factories.MembershipFactory(user=user, organisation=extra, role="auditor")
        factories.ClientFactory(organisation=extra, hostname=f"lab-1{n}", fqdn="")
    found_nine, nine = client_statements()
    assert found_one == ["lab-01"]
    assert found_nine == ["lab-01", *(f"lab-1{n}" for n in range(8))]
    assert len(nine) == len(one)
    assert not any("UNION" in sql for sql in nine)


def test_a_user_in_no_organisation_finds_nothing(org):
    from tests.conftest import logged_in

    factories.ClientFactory(organisation=org, hostname="lab-01", fqdn="")
    loner = factories.UserFactory(username="no-organisation")
    response = logged_in(loner).get("/search/", {"q": "lab-"})
    assert response.status_code == 200
    assert "lab-01" not in response.content.decode()
