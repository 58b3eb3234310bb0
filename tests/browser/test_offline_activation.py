"""An admin completes an offline (proxy) activation in the browser: the queued Installation ID,
a Confirmation ID of the wrong shape refused, the right one recorded, the command shown."""

from __future__ import annotations

import json

import pytest

from licensing.models import OfflineActivation
from tests import factories
from tests.vamt.cil_samples import CID_A
from tests.vamt.wmi_samples import OFFICE_MAK_OSPP_CLASS

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_records_a_confirmation_id(
    page, login, live_server, admin_user, org, screenshot, client, tasks_in_process
):
    from licensing.models import TokenScope
    from licensing.services.tokens import create_api_token

    key = factories.MakKeyFactory(
        pool=factories.MakPoolFactory(organisation=org), key="BCDFG-HJKMP-QRTVW-XY234-7X3QH"
    )
    _, token = create_api_token(
        actor=admin_user, organisation=org, name="agent", scope=TokenScope.AGENT
    )
    r = client.post(
        "/api/v1/inventory/wmi/",
        data=json.dumps({"hostname": "pc-offline", "products": [OFFICE_MAK_OSPP_CLASS]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert r.status_code == 200, r.content
    item = OfflineActivation.objects.get()

    login(page, admin_user)
    page.click("text=Offline activation")
    page.wait_for_url(f"{live_server.url}/offline/")
    assert item.installation_id in page.inner_text("#offline-pending")
    screenshot(page, "offline-activation-queue")

    row = f"#offline-{item.pk}"
    page.fill(f"{row} input[name=confirmation_id]", "not-a-confirmation-id")
    page.click(f"{row} .confirm-form button[type=submit]")
    page.wait_for_selector(".alert")
    assert "digits only" in page.content()

    page.fill(f"{row} input[name=confirmation_id]", CID_A)
    page.click(f"{row} .confirm-form button[type=submit]")
    page.wait_for_selector("#offline-done")
    command = page.inner_text("#offline-done .actcid")
    assert command == f"cscript ospp.vbs /actcid:{CID_A.replace('-', '')}"
    assert "Nothing is waiting" in page.content()
    screenshot(page, "offline-activation-confirmed")
    key.refresh_from_db()
    assert key.activations_used == 1
