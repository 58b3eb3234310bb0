"""The organisation switcher ignores ids that are not numbers (no 500)."""

import pytest
from django.test import Client

from licensing.scoping import SESSION_KEY

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize("value", ["%00x", "abc", "", "99999999999999999999999", "\u00b2"])
def test_switching_to_a_junk_organisation_id_is_ignored(admin_user, org, value):
    client = _client(admin_user)
    response = client.post("/organisation/switch/", {"organisation": value, "next": "/clients/"})
    assert response.status_code == 302
    assert response["Location"] == "/clients/"
    assert SESSION_KEY not in client.session
