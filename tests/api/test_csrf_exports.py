"""CSRF: exports answer GET only, so a cross-site form post cannot read one (issue 11)."""

from __future__ import annotations

import pytest
from django.test import Client as DjangoClient

EXPORTS = [
    "/pools/export.csv",
    "/pools/keys-export.csv",
    "/requests/export.csv",
    "/kms/hosts/export.csv",
    "/clients/export.csv",
    "/audit/export.csv",
]


@pytest.mark.parametrize("path", EXPORTS)
def test_a_post_with_a_session_and_no_csrf_token_is_refused(admin_user, org, path):
    browser = DjangoClient(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    response = browser.post(path, HTTP_ORIGIN="https://evil.example")
    assert response.status_code in (403, 405)
    assert not response.get("Content-Type", "").startswith("text/csv")
    assert browser.get(path).status_code == 200


@pytest.mark.parametrize("path", EXPORTS[:2])
def test_a_post_with_a_token_is_refused_too(admin_user, org, api_token_for, path):
    response = DjangoClient(**api_token_for(admin_user, org)).post(path)
    assert response.status_code == 405
