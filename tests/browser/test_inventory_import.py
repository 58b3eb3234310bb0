"""An admin imports a CSV inventory through the browser and reads the result."""

from __future__ import annotations

import pytest

from licensing.models import Client

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_imports_a_csv_and_sees_rejected_rows(
    page, login, live_server, admin_user, screenshot, tmp_path, tasks_in_process
):
    # The import queues a sweep after commit: run it here rather than on a shared broker.
    csv_file = tmp_path / "inventory.csv"
    csv_file.write_text(
        "hostname,activation_method,license_status,last_renewal_at\n"
        "PC-0001,kms,licensed,2026-01-10T08:00:00Z\n"
        "pc-0002,kms,licensed,2020-01-10T08:00:00Z\n"
        "bad host,kms,licensed,\n"
    )
    login(page, admin_user)
    page.click("text=Import")
    page.wait_for_url(f"{live_server.url}/imports/")
    page.set_input_files("#id_csv_file", str(csv_file))
    page.click("#csv-import-form button[type=submit]")
    page.wait_for_selector("#rejections")
    assert "2 created" in page.content() and "bad host" in page.inner_text("#rejections")
    screenshot(page, "inventory-import-result")
    page.click("text=Imports")
    page.wait_for_selector("#import-history")
    assert "inventory.csv" in page.inner_text("#import-history")
    screenshot(page, "inventory-import-list")
    assert Client.objects.filter(hostname="pc-0001").exists()
    assert (
        "licensing.inventory.sweep_after_ingest",
        [admin_user.memberships.first().organisation_id],
    ) in tasks_in_process
