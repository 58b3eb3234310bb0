"""Roles map to actions in one policy; outsiders get 404, never the data."""

import pytest

from licensing import policy
from licensing.models import Client, Organisation
from licensing.policy import Action
from tests import factories

pytestmark = pytest.mark.django_db

EXPECTED = {
    "admin": {
        Action.VIEW,
        Action.EXPORT,
        Action.VIEW_AUDIT,
        Action.USE_API_TOKENS,
        Action.MANAGE_CLIENTS,
        Action.MANAGE_KEYS,
        Action.REVEAL_SECRET,
        Action.REQUEST_ACTIVATIONS,
        Action.MANAGE_HOSTS,
        Action.MANAGE_EDITIONS,
        Action.MANAGE_LICENCES,
        Action.MANAGE_ORGANISATION,
    },
    "manager": {
        Action.VIEW,
        Action.EXPORT,
        Action.VIEW_AUDIT,
        Action.USE_API_TOKENS,
        Action.DECIDE_REQUESTS,
    },
    "auditor": {Action.VIEW, Action.EXPORT, Action.VIEW_AUDIT, Action.USE_API_TOKENS},
}


@pytest.mark.parametrize("role", ["admin", "manager", "auditor"])
def test_each_role_may_do_exactly_its_actions(org, role, request):
    user = request.getfixturevalue(f"{role}_user")
    granted = {a for a in Action if policy.allowed(user, a, org)}
    assert granted == EXPECTED[role]


def test_an_outsider_may_do_nothing_in_the_organisation(org, outsider):
    assert not any(policy.allowed(outsider, a, org) for a in Action)


def test_only_managers_decide_and_only_admins_reveal(org, admin_user, manager_user):
    assert policy.allowed(manager_user, Action.DECIDE_REQUESTS, org)
    assert not policy.allowed(admin_user, Action.DECIDE_REQUESTS, org)
    assert policy.allowed(admin_user, Action.REVEAL_SECRET, org)
    assert not policy.allowed(manager_user, Action.REVEAL_SECRET, org)


def test_the_django_permission_backend_uses_the_policy(org, admin_user, auditor_user):
    client = factories.ClientFactory(organisation=org)
    assert admin_user.has_perm("licensing.manage_clients", client)
    assert not auditor_user.has_perm("licensing.manage_clients", client)
    assert not auditor_user.has_perm("licensing.no_such_action", org)


def test_for_user_returns_only_the_users_organisations(
    org, other_org, admin_user, outsider, superuser
):
    mine = factories.ClientFactory(organisation=org)
    theirs = factories.ClientFactory(organisation=other_org)
    assert list(Client.objects.for_user(admin_user)) == [mine]
    assert list(Client.objects.for_user(outsider)) == [theirs]
    assert set(Client.objects.for_user(superuser)) == {mine, theirs}
    assert list(Organisation.objects.for_user(admin_user)) == [org]


def test_a_user_in_two_organisations_sees_both(org, other_org):
    user = factories.UserFactory(username="consultant")
    factories.MembershipFactory(user=user, organisation=org, role="auditor")
    factories.MembershipFactory(user=user, organisation=other_org, role="admin")
    assert set(Organisation.objects.for_user(user)) == {org, other_org}
    assert policy.allowed(user, Action.MANAGE_KEYS, other_org)
    assert not policy.allowed(user, Action.MANAGE_KEYS, org)


def test_outsider_gets_404_on_another_organisations_client_in_the_api(org, as_outsider, as_admin):
    client = factories.ClientFactory(organisation=org)
    assert as_outsider.get(f"/api/v1/clients/{client.pk}/").status_code == 404
    assert as_outsider.get(f"/api/v1/organisations/{org.pk}/").status_code == 404
    assert as_admin.get(f"/api/v1/clients/{client.pk}/").status_code == 200


def test_outsider_list_never_contains_foreign_rows(org, as_outsider):
    factories.ClientFactory(organisation=org, hostname="secret-host")
    response = as_outsider.get("/api/v1/clients/")
    assert response.status_code == 200
    assert "secret-host" not in response.content.decode()


def test_switching_to_a_foreign_organisation_is_ignored(org, other_org, as_admin):
    response = as_admin.post("/organisation/switch/", {"organisation": other_org.pk, "next": "/"})
    assert response.status_code == 302
    page = as_admin.get("/")
    assert org.name in page.content.decode()
    assert other_org.name not in page.content.decode()


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/api/v1/clients/").status_code in (401, 403)
