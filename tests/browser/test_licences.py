"""End to end: an admin records an agreement and its licences (by hand and from a CSV file); a
manager and an auditor see the licence position and export it."""

from __future__ import annotations

import csv
import io

import pytest

from licensing.models import Entitlement
from tests.licences.conftest import PRO_PLUS, STANDARD, install

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_records_licences_and_manager_and_auditor_export_the_position(
    page,
    browser,
    login,
    live_server,
    org,
    admin_user,
    manager_user,
    auditor_user,
    screenshot,
    tmp_path,
    tasks_in_process,
):
    install(org, PRO_PLUS["2024"], 6)
    install(org, PRO_PLUS["2019"], 4)
    install(org, STANDARD["2024"], 3)

    # The admin records an Enterprise Agreement ...
    login(page, admin_user)
    page.click("nav >> text=Licences")
    page.wait_for_url(f"{live_server.url}/licences/")
    page.click("text=Agreements")
    page.click("text=New agreement")
    page.select_option("#id_programme", "ea")
    page.fill("#id_number", "EA-8765432")
    page.fill("#id_starts_on", "2025-01-01")
    page.fill("#id_ends_on", "2027-12-31")
    page.fill("#id_sa_ends_on", "2027-12-31")
    page.fill("#id_reseller", "Contoso Reseller")
    screenshot(page, "licences-agreement-form")
    page.click("[data-testid=agreement-form] button[type=submit]")
    page.wait_for_selector("[data-testid=no-lines]")
    # ... adds licences by hand ...
    page.select_option("#id_edition", label=PRO_PLUS["2024"])
    page.fill("#id_quantity", "8")
    page.click("[data-testid=entitlement-form] button[type=submit]")
    page.wait_for_selector("[data-testid=entitlement-table]")
    assert PRO_PLUS["2024"] in page.inner_text("[data-testid=entitlement-table]")
    # ... and from a CSV file (a bad file first: nothing stored, every row named).
    page.click("text=Import licences (CSV)")
    bad = tmp_path / "bad.csv"
    bad.write_text("edition,quantity\nOffice Premium 2030,5\nOffice LTSC Standard 2024,x\n")
    page.set_input_files("#id_file", str(bad))
    page.click("[data-testid=entitlement-import-form] button[type=submit]")
    page.wait_for_selector("[data-testid=import-errors]")
    errors = page.inner_text("[data-testid=import-errors]")
    assert "Row 2" in errors and "Row 3" in errors
    screenshot(page, "licences-import-errors")
    good = tmp_path / "licences.csv"
    good.write_text(f"edition,quantity,downgrade_rights\n{STANDARD['2024']},2,yes\n")
    page.set_input_files("#id_file", str(good))
    page.click("[data-testid=entitlement-import-form] button[type=submit]")
    page.wait_for_selector("[data-testid=entitlement-table]")
    assert "Imported 1 licence line (2 licences)" in page.content()
    screenshot(page, "licences-agreement-detail")
    assert Entitlement.objects.count() == 2

    # A manager sees the position and exports it.
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    manager_page = context.new_page()
    login(manager_page, manager_user)
    card = manager_page.inner_text("[data-testid=licence-position-card]")
    assert "2 editions under-licensed, 3 installs short" in card
    screenshot(manager_page, "licences-dashboard-card")
    manager_page.click("[data-testid=licence-position-card] a")
    manager_page.wait_for_selector("[data-testid=position-table]")
    table = manager_page.inner_text("[data-testid=position-table]")
    assert "Office Professional Plus 2019" in table
    screenshot(manager_page, "licences-position")
    with manager_page.expect_download() as download_info:
        manager_page.click("[data-testid=position-export]")
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    by_edition = {r["edition"]: r for r in rows}
    assert by_edition[PRO_PLUS["2019"]]["covered"] == "2"
    assert by_edition[PRO_PLUS["2019"]]["shortfall"] == "2"
    assert by_edition[STANDARD["2024"]]["shortfall"] == "1"
    context.close()

    # An auditor too, with the under-licensed filter.
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    auditor_page = context.new_page()
    login(auditor_page, auditor_user)
    auditor_page.goto(f"{live_server.url}/licences/?short=true")
    with auditor_page.expect_download() as download_info:
        auditor_page.click("[data-testid=position-export]")
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
    assert sorted(r["edition"] for r in rows) == sorted([PRO_PLUS["2019"], STANDARD["2024"]])
    assert "New agreement" not in auditor_page.content()
    context.close()
