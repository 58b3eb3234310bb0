"""`?organisation=` with junk (a NUL byte PostgreSQL cannot compare) is a 404, not a 500."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "path", ["/", "/clients/", "/clients/export.csv", "/reports/", "/audit/", "/pools/export.csv"]
)
def test_a_nul_byte_in_the_organisation_parameter_is_not_found(admin_user, path):
    response = _client(admin_user).get(path, {"organisation": "contoso\x00test"})
    assert response.status_code == 404
