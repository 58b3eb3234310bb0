"""The edition catalogue: admins add editions that are not built in; built-in ones stay
read-only; Action.MANAGE_EDITIONS decides."""

from __future__ import annotations

from licensing.models import AuditEvent, Edition, Product
from tests.licences.conftest import entitle, install, make_agreement

ACCESS = {
    "name": "Access LTSC 2024",
    "version": "2024",
    "product": "app",
    "application": "Access",
    "gvlk": "82ftr-nchr7-w3944-mgrhm-jmcwd",
    "sku_id": "f748e2f7-5951-4bc2-8a06-5a1fbe42f5f4",
}


def test_admin_adds_a_single_application(as_admin, org):
    response = as_admin.post("/licences/editions/", ACCESS)
    assert response.status_code == 302
    edition = Edition.objects.get(name="Access LTSC 2024")
    assert (edition.product, edition.application, edition.gvlk, edition.kms_product_group) == (
        Product.APPLICATION,
        "Access",
        "82FTR-NCHR7-W3944-MGRHM-JMCWD",
        "office_2024",
    )
    assert str(edition.sku_id) == ACCESS["sku_id"] and not edition.is_builtin
    event = AuditEvent.objects.get(action="edition.create")
    assert event.changes["gvlk_last5"] == "JMCWD" and event.organisation_id == org.pk
    # It can be licensed and installed at once.
    install(org, "Access LTSC 2024", 2)
    entitle(make_agreement(org), "Access LTSC 2024", 3)
    row = as_admin.get("/licences/").context["rows"][0]
    assert (row.edition.name, row.covered, row.surplus) == ("Access LTSC 2024", 2, 1)


def test_edition_errors(as_admin):
    bad = dict(ACCESS, gvlk="not-a-key", application="", sku_id="nope")
    response = as_admin.post("/licences/editions/", bad)
    assert response.status_code == 200
    assert {"gvlk", "application", "sku_id"} <= set(response.context["form"].errors)
    builtin = Edition.objects.filter(is_builtin=True).first()
    response = as_admin.post("/licences/editions/", dict(ACCESS, gvlk=builtin.gvlk))
    assert "exists already" in str(response.context["form"].errors["gvlk"])
    response = as_admin.post("/licences/editions/", dict(ACCESS, name=builtin.name.upper()))
    assert "exists already" in str(response.context["form"].errors["name"])
    assert not Edition.objects.filter(is_builtin=False).exists()


def test_built_in_editions_are_read_only_and_used_ones_stay(as_admin, org):
    builtin = Edition.objects.filter(is_builtin=True).first()
    response = as_admin.post(f"/licences/editions/{builtin.pk}/delete/", follow=True)
    assert "Built-in editions are read-only." in response.content.decode()
    assert Edition.objects.filter(pk=builtin.pk).exists()
    as_admin.post("/licences/editions/", ACCESS)
    added = Edition.objects.get(name="Access LTSC 2024")
    install(org, added.name, 1)
    response = as_admin.post(f"/licences/editions/{added.pk}/delete/", follow=True)
    assert "is in use" in response.content.decode()
    from licensing.models import Client

    Client.objects.filter(edition=added).delete()
    assert as_admin.post(f"/licences/editions/{added.pk}/delete/").status_code == 302
    assert not Edition.objects.filter(pk=added.pk).exists()
    assert AuditEvent.objects.filter(action="edition.delete").count() == 1


def test_only_admins_manage_editions(as_manager, as_auditor, as_admin):
    as_admin.post("/licences/editions/", ACCESS)
    added = Edition.objects.get(name="Access LTSC 2024")
    for client in (as_manager, as_auditor):
        page = client.get("/licences/editions/").content.decode()
        assert 'data-testid="edition-form"' not in page and "Access LTSC 2024" in page
        assert (
            client.post("/licences/editions/", dict(ACCESS, name="Excel", gvlk="")).status_code
            == 403
        )
        assert client.post(f"/licences/editions/{added.pk}/delete/").status_code == 403
    assert Edition.objects.filter(pk=added.pk).exists()


def test_manage_editions_is_the_action_used():
    from pathlib import Path

    from licensing import policy
    from licensing.views import licences

    source = Path(licences.__file__).read_text()
    assert "Action.MANAGE_EDITIONS" in source
    assert policy.Action.MANAGE_EDITIONS in policy.ROLE_ACTIONS["admin"]
    assert policy.Action.MANAGE_EDITIONS not in policy.ROLE_ACTIONS["manager"]
