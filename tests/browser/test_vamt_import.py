"""An admin imports a VAMT CILX file in the browser and reads the report; the Tokens page shows
the agent's install command with a new agent token in it."""

from __future__ import annotations

import pytest

from licensing.models import Client
from tests.vamt.cil_samples import WINDOWS_APP, cil, computer, product

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_imports_a_cilx_and_reads_the_report(
    page, login, live_server, admin_user, screenshot, tmp_path, tasks_in_process
):
    path = tmp_path / "vamt-export.cilx"
    path.write_bytes(
        cil(
            computer("PC-1", product(), domain="contoso.test"),
            computer("PC-2", product(app=WINDOWS_APP, name="Windows"), vamt_id="2"),
        )
    )
    login(page, admin_user)
    page.goto(f"{live_server.url}/imports/")
    screenshot(page, "vamt-import-card")
    page.set_input_files("#id_cil_file", str(path))
    page.click("#cil-import-form button[type=submit]")
    page.wait_for_selector("#rejections")
    assert "matched 0, created 1, skipped 1" in page.inner_text("#run-message")
    assert "no Office product" in page.inner_text("#rejections")
    screenshot(page, "vamt-import-result")
    assert Client.objects.get(hostname="pc-1").fqdn == "pc-1.contoso.test"


def test_tokens_page_shows_the_agent_install_command(
    page, login, live_server, admin_user, screenshot
):
    login(page, admin_user)
    page.goto(f"{live_server.url}/tokens/")
    page.fill("#id_name", "agents")
    page.select_option("#id_scope", "agent")
    page.click("form button[type=submit]:has-text('Create token')")
    page.wait_for_selector("#new-token")
    token = page.inner_text("#new-token").strip()
    command = page.inner_text("#agent-command")
    assert f"-Token '{token}'" in command and f"-PortalUrl '{live_server.url}'" in command
    screenshot(page, "agent-install-command")
