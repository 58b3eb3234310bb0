"""API list filters that take an object id (`?pool=`, `?key=`, `?client=`) answer the same for
another organisation's object as for an id that does not exist: no hint that it exists."""

import pytest
from django.test import Client

from licensing.services.mak import allocation
from tests import factories as f

pytestmark = pytest.mark.django_db

MISSING = 987654321


@pytest.fixture
def foreign(other_org, outsider):
    pool = f.MakPoolFactory(organisation=other_org)
    key = f.MakKeyFactory(pool=pool)
    client = f.ClientFactory(organisation=other_org, edition=pool.edition)
    allocation.record_activation(actor=outsider, client=client)
    return {"pool": pool, "key": key, "client": client}


@pytest.mark.parametrize(
    ("path", "param", "obj"),
    [
        ("/api/v1/mak-keys/", "pool", "pool"),
        ("/api/v1/activation-requests/", "pool", "pool"),
        ("/api/v1/mak-activations/", "key", "key"),
        ("/api/v1/mak-activations/", "client", "client"),
    ],
)
def test_filter_by_another_organisations_object_answers_like_a_missing_id(
    admin_user, org, api_token_for, foreign, path, param, obj
):
    headers = api_token_for(admin_user, org)
    client = Client(raise_request_exception=False)
    theirs = client.get(path, {param: foreign[obj].pk}, **headers)
    missing = client.get(path, {param: MISSING}, **headers)
    # A well-formed id that names nothing of yours: an empty list (issue 11), the same answer.
    assert theirs.status_code == missing.status_code == 200
    assert theirs.json() == missing.json() and theirs.json()["results"] == []


def test_filter_by_own_pool_still_selects_its_keys(admin_user, org, api_token_for):
    pool = f.MakPoolFactory(organisation=org)
    key = f.MakKeyFactory(pool=pool)
    response = Client().get(
        "/api/v1/mak-keys/", {"pool": pool.pk}, **api_token_for(admin_user, org)
    )
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [key.pk]


def test_token_bound_filter_refuses_the_users_other_organisation(
    admin_user, org, other_org, api_token_for
):
    """A member of two organisations, with a token bound to one: the other's pool is unknown."""
    f.MembershipFactory(user=admin_user, organisation=other_org)
    their_pool = f.MakPoolFactory(organisation=other_org)
    response = Client(raise_request_exception=False).get(
        "/api/v1/mak-keys/", {"pool": their_pool.pk}, **api_token_for(admin_user, org)
    )
    assert response.status_code == 200 and response.json()["results"] == []
