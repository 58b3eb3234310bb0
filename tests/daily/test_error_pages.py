"""404, 403 and 500 are the portal's own pages with its navigation in every mode (DEBUG too);
a 403 is one log line without a traceback; /favicon.ico answers."""

from __future__ import annotations

import logging

import pytest
from django.test import Client as DjangoClient
from django.urls import include, path

from tests import factories

pytestmark = pytest.mark.django_db

NAV = 'id="mainnav"'


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug_mode(request, settings):
    settings.DEBUG = request.param
    return request.param


def test_a_link_to_another_organisations_client_is_a_404_page_with_navigation(
    as_admin, other_org, debug_mode
):
    foreign = factories.ClientFactory(organisation=other_org)
    response = as_admin.get(f"/clients/{foreign.pk}/")
    assert response.status_code == 404
    body = response.content.decode()
    assert NAV in body and 'data-testid="error-page"' in body
    assert "Back to the dashboard" in body and "Technical" not in body


def test_an_unknown_address_is_the_same_404_page(as_admin, debug_mode):
    response = as_admin.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert NAV in body and 'data-testid="error-page"' in body
    assert "URLconf" not in body  # not Django's debug page listing every pattern


def test_the_api_keeps_its_json_404(as_admin, debug_mode):
    response = as_admin.get("/api/v1/clients/999999999/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_a_403_is_a_page_with_navigation_and_one_log_line(as_auditor, debug_mode, caplog):
    with caplog.at_level(logging.INFO):
        response = as_auditor.get("/organisation/settings/")
    assert response.status_code == 403
    body = response.content.decode()
    assert NAV in body and 'data-testid="error-page"' in body
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(records) == 1, [r.getMessage() for r in records]
    (record,) = records
    assert record.exc_info is None and "Traceback" not in record.getMessage()
    assert "/organisation/settings/" in record.getMessage()
    assert "\n" not in record.getMessage()


def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _boom), path("", include("portal.urls"))]
handler500 = "licensing.views.errors.server_error"


def test_a_500_is_a_page_with_navigation(admin_user, settings):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    browser = DjangoClient(raise_request_exception=False)
    browser.force_login(admin_user, backend="django.contrib.auth.backends.ModelBackend")
    response = browser.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert 'data-testid="error-page"' in body and "Something went wrong" in body
    assert NAV in body


def test_the_favicon_answers(client, settings):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    page = client.get("/accounts/login/").content.decode()
    assert 'rel="icon"' in page
