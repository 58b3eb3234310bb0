"""The import history's `?before=` cursor accepts ASCII digits only (no 500 on junk)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("before", ["\u00b2", "\u0663", "abc", "", "99999999999999999999999"])
def test_import_history_ignores_a_junk_before_cursor(admin_user, before):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    assert client.get("/imports/", {"before": before}).status_code == 200
