"""`scoping.memberships`: one read of a member's organisations per request, from which the
page's organisation, the header's switcher and the two-factor check answer. A member of more
than the switcher lists falls back to the queries that look further, with the same answers."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from licensing.models import Membership, Role
from licensing.scoping import SWITCHER_LIMIT, organisations_with_role
from tests import factories
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


def member_of(n: int):  # type: ignore[no-untyped-def]
    user = factories.UserFactory(username=f"member-of-{n}")
    orgs = []
    for i in range(n):
        org = factories.OrganisationFactory(name=f"Tenant {i:03d}", slug=f"t-{n}-{i:03d}")
        factories.MembershipFactory(user=user, organisation=org, role=Role.AUDITOR)
        factories.ClientFactory(organisation=org, hostname=f"host-of-{i:03d}")
        orgs.append(org)
    return user, orgs


@pytest.mark.parametrize("n", [3, SWITCHER_LIMIT + 2])
def test_every_organisation_named_or_chosen_resolves_listed_or_not(n):
    user, orgs = member_of(n)
    browser = logged_in(user)
    last = orgs[-1]  # beyond the switcher's list when n > SWITCHER_LIMIT + 1
    assert (
        "host-of-" + last.name[-3:]
        in browser.get("/clients/", {"organisation": last.slug}).content.decode()
    )
    # No choice yet: the first by name. Then the one picked in the switcher.
    assert "host-of-000" in browser.get("/clients/").content.decode()
    assert browser.post("/organisation/switch/", {"organisation": last.pk}).status_code == 302
    assert "host-of-" + last.name[-3:] in browser.get("/clients/").content.decode()


@pytest.mark.parametrize("n", [3, SWITCHER_LIMIT + 2])
def test_another_organisations_slug_is_not_found(n, other_org):
    user, _ = member_of(n)
    assert logged_in(user).get("/clients/", {"organisation": other_org.slug}).status_code == 404


def test_a_member_removed_from_the_chosen_organisation_sees_the_first_by_name():
    user, orgs = member_of(3)
    browser = logged_in(user)
    browser.post("/organisation/switch/", {"organisation": orgs[2].pk})
    Membership.objects.filter(user=user, organisation=orgs[2]).delete()
    page = browser.get("/clients/").content.decode()
    assert "host-of-000" in page and "host-of-002" not in page


@pytest.mark.parametrize("n", [3, SWITCHER_LIMIT + 2])
def test_an_organisation_requiring_2fa_sends_its_member_to_set_it_up(n):
    user, orgs = member_of(n)
    browser = logged_in(user)
    assert browser.get("/clients/").status_code == 200
    orgs[-1].require_2fa = True  # the last by name: beyond the switcher's list for n > 21
    orgs[-1].save(update_fields=["require_2fa"])
    response = browser.get("/clients/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/")


def test_a_members_organisations_and_roles_are_one_join_of_their_memberships():
    """Every page reads them: one join, no subquery per organisation, no user table (the
    subqueries it replaced cost twice as much to build and to run)."""
    user, _ = member_of(3)
    with CaptureQueriesContext(connection) as queries:
        assert logged_in(user).get("/clients/").status_code == 200
    [read] = [q["sql"] for q in queries.captured_queries if "caller_role" in q["sql"]]
    assert read.count(" JOIN ") == 1 and 'JOIN "licensing_membership"' in read
    assert "(SELECT" not in read
    assert '"auth_user"' not in read


def test_each_organisation_comes_once_with_the_callers_own_role():
    """Other members' memberships of the same organisations neither repeat an organisation nor
    lend it their role."""
    user, orgs = member_of(3)
    Membership.objects.filter(user=user, organisation=orgs[1]).update(role=Role.ADMIN)
    for org in orgs:
        factories.MembershipFactory(organisation=org, role=Role.MANAGER)
    roles = [(o.slug, o.caller_role) for o in organisations_with_role(user).order_by("name")]
    assert roles == [
        (orgs[0].slug, Role.AUDITOR),
        (orgs[1].slug, Role.ADMIN),
        (orgs[2].slug, Role.AUDITOR),
    ]


def test_a_superuser_sees_every_organisation_with_a_role_only_where_a_member():
    superuser = factories.UserFactory(username="root-of-all", is_superuser=True)
    _, orgs = member_of(2)
    factories.MembershipFactory(user=superuser, organisation=orgs[0], role=Role.MANAGER)
    roles = dict(organisations_with_role(superuser).values_list("slug", "caller_role"))
    assert roles[orgs[0].slug] == Role.MANAGER and roles[orgs[1].slug] is None


def test_an_inactive_user_has_no_organisations():
    user, _ = member_of(2)
    user.is_active = False
    assert list(organisations_with_role(user)) == []
