"""The header of every page, drawn by the jinja2 engine (`templates/jinja2/licensing/partials/
_header.html`): what each role is offered, the current area, escaping, and links that follow the
URL configuration."""

from __future__ import annotations

import re

import pytest
from django.urls import include, path

from tests import factories
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


def nav(html: str) -> str:
    return html[html.index("<nav") : html.index("</nav>")]


def menu(html: str) -> list[str]:
    return re.findall(r'class="nav-link[^"]*" href="[^"]*">([^<]+)', nav(html))


def test_each_role_is_offered_its_own_areas(as_admin, as_manager, as_auditor):
    common = ["Dashboard", "Clients", "KMS hosts", "MAK pools", "Licences"]
    admin = menu(as_admin.get("/clients/").content.decode())
    manager = menu(as_manager.get("/clients/").content.decode())
    auditor = menu(as_auditor.get("/clients/").content.decode())
    assert admin == [*common, "Import", "Offline activation", "Reports", "Audit"]
    assert manager[: len(common) + 1] == [*common, "Approvals"] and "Import" not in manager
    assert "Import" not in auditor and "Approvals" not in auditor and "Audit" in auditor


def test_the_current_area_is_marked_and_only_it(as_admin):
    header = nav(as_admin.get("/kms/hosts/").content.decode())
    active = re.findall(r'class="nav-link active" href="([^"]+)"', header)
    assert active == ["/kms/hosts/"]


def test_names_people_typed_are_escaped(admin_user, org):
    org.name = '<img src=x onerror="alert(1)">Contoso'
    org.save(update_fields=["name"])
    other = factories.OrganisationFactory(name="<b>Fabrikam</b>", slug="fabrikam-x")
    factories.MembershipFactory(user=admin_user, organisation=other, role="auditor")
    header = nav(logged_in(admin_user).get("/clients/").content.decode())
    assert "<img" not in header and "<b>" not in header
    assert "&lt;b&gt;Fabrikam&lt;/b&gt;" in header


def test_a_signed_out_visitor_gets_the_brand_only(client):
    header = nav(client.get("/accounts/login/").content.decode())
    assert 'class="navbar-brand"' in header and "nav-link" not in header


def test_the_switcher_and_log_out_carry_the_csrf_token(as_admin, other_org, admin_user):
    factories.MembershipFactory(user=admin_user, organisation=other_org, role="auditor")
    header = nav(as_admin.get("/clients/").content.decode())
    assert header.count('name="csrfmiddlewaretoken"') == 2  # the switcher and "Log out"


urlpatterns = [path("portal/", include("portal.urls"))]


def test_links_follow_the_url_configuration(as_admin, settings):
    """`url()` works each name out once per URL configuration: a portal mounted under a prefix
    links there, and the default configuration's links come back after."""
    settings.ROOT_URLCONF = __name__
    header = nav(as_admin.get("/portal/clients/").content.decode())
    assert 'href="/portal/clients/"' in header and 'href="/clients/"' not in header
    settings.ROOT_URLCONF = "portal.urls"
    assert 'href="/clients/"' in nav(as_admin.get("/clients/").content.decode())
