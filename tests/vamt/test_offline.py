"""Offline (proxy) activation: the queue, recording a Confirmation ID (shape checked, counted on
the MAK key through the MAK ledger, the install command shown), cancelling, the CILX file out
and back, and who may do it. Every step is audited."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from licensing.models import AuditEvent, MakActivation, OfflineActivation
from licensing.parsers.vamt import parse_cil
from tests import factories
from tests.vamt.cil_samples import CID_A
from tests.vamt.wmi_samples import OFFICE_MAK_OSPP_CLASS

pytestmark = pytest.mark.django_db
CID = CID_A.replace("-", "")


@pytest.fixture
def mak_key(org):
    return factories.MakKeyFactory(
        pool=factories.MakPoolFactory(organisation=org), key="BCDFG-HJKMP-QRTVW-XY234-7X3QH"
    )


@pytest.fixture
def pending(client, org, agent_headers, mak_key):
    """A machine reported by the agent with a not-activated MAK product and its IID."""
    r = client.post(
        "/api/v1/inventory/wmi/",
        data=json.dumps({"hostname": "pc-off", "products": [OFFICE_MAK_OSPP_CLASS]}),
        content_type="application/json",
        **agent_headers,
    )
    assert r.status_code == 200, r.content
    return OfflineActivation.objects.get()


def test_the_queue_lists_the_installation_id(as_admin, pending):
    page = as_admin.get("/offline/").content.decode()
    assert "pc-off" in page and pending.installation_id in page and pending.mak_key.masked in page
    assert AuditEvent.objects.filter(action="offline_activation.queue").count() == 1


def test_recording_the_confirmation_id_counts_on_the_key_and_shows_the_command(
    as_admin, pending, mak_key
):
    r = as_admin.post(f"/offline/{pending.pk}/confirm/", {"confirmation_id": CID_A}, follow=True)
    page = r.content.decode()
    assert f"cscript ospp.vbs /actcid:{CID}" in page
    pending.refresh_from_db()
    mak_key.refresh_from_db()
    assert (pending.status, pending.confirmation_id, mak_key.activations_used) == (
        "confirmed",
        CID,
        1,
    )
    activation = MakActivation.objects.get()
    assert pending.activation == activation and activation.key == mak_key
    client = pending.client
    client.refresh_from_db()
    assert (client.license_status, client.mak_key) == (1, mak_key)
    assert AuditEvent.objects.filter(action="offline_activation.confirm").count() == 1
    assert AuditEvent.objects.filter(action="mak_activation.record").count() == 1
    # A second recording is refused: one activation per Installation ID.
    r = as_admin.post(f"/offline/{pending.pk}/confirm/", {"confirmation_id": CID_A}, follow=True)
    assert "already" in r.content.decode()
    mak_key.refresh_from_db()
    assert mak_key.activations_used == 1


@pytest.mark.parametrize(
    ("cid", "words"),
    [
        ("12345A-222222-333333-444444-555555-666666-777777-888888", "digits only"),
        ("111111-222222-333", "groups of six digits"),
        ("1" * 49, "groups of six digits"),
    ],
)
def test_a_confirmation_id_of_the_wrong_shape_is_refused(as_admin, pending, mak_key, cid, words):
    r = as_admin.post(f"/offline/{pending.pk}/confirm/", {"confirmation_id": cid}, follow=True)
    assert words in r.content.decode()
    pending.refresh_from_db()
    mak_key.refresh_from_db()
    assert pending.status == "pending" and mak_key.activations_used == 0


def test_an_unusual_length_is_taken_with_a_warning(as_admin, pending):
    r = as_admin.post(f"/offline/{pending.pk}/confirm/", {"confirmation_id": "1" * 54}, follow=True)
    assert "has 54 digits" in r.content.decode()
    pending.refresh_from_db()
    assert pending.status == "confirmed"


def test_an_exhausted_key_is_refused_and_nothing_changes(as_admin, pending, mak_key):
    mak_key.activations_used = mak_key.activation_limit
    mak_key.status = "exhausted"
    mak_key.save()
    r = as_admin.post(f"/offline/{pending.pk}/confirm/", {"confirmation_id": CID_A}, follow=True)
    assert "no activation left" in r.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending" and not MakActivation.objects.exists()


def test_cancel(as_admin, pending):
    as_admin.post(f"/offline/{pending.pk}/cancel/")
    pending.refresh_from_db()
    assert pending.status == "cancelled"
    assert AuditEvent.objects.filter(action="offline_activation.cancel").count() == 1


def test_cilx_out_and_back(as_admin, pending, mak_key):
    r = as_admin.get("/offline/export.cilx")
    assert r.status_code == 200 and r["Content-Disposition"].endswith('.cilx"')
    body = r.content
    assert b"pc-off" not in body  # "Installation ID and Product ID only": no names
    doc = parse_cil(body)
    (product,) = doc.computers[0].products
    assert product.installation_id == pending.installation_id and product.confirmation_id is None
    assert AuditEvent.objects.filter(action="offline_activation.export").count() == 1
    # The connected VAMT adds the Confirmation ID; the file comes back.
    back = re.sub(
        rb"</InstallationId>",
        f"</InstallationId><ConfirmationId>{CID_A}</ConfirmationId>".encode(),
        body,
    )
    upload = SimpleUploadedFile("back.cilx", back, content_type="application/xml")
    r = as_admin.post("/offline/import/", {"file": upload}, follow=True)
    assert "1 Confirmation IDs recorded" in r.content.decode()
    pending.refresh_from_db()
    mak_key.refresh_from_db()
    assert pending.status == "confirmed" and mak_key.activations_used == 1
    assert f"/actcid:{CID}" in r.content.decode()


def test_auditor_sees_the_queue_but_may_not_record(as_auditor, pending):
    assert as_auditor.get("/offline/").status_code == 200
    assert (
        as_auditor.post(f"/offline/{pending.pk}/confirm/", {"confirmation_id": CID_A}).status_code
        == 403
    )
    assert as_auditor.get("/offline/export.cilx").status_code == 403


def test_another_organisations_item_is_not_found(as_outsider, pending):
    r = as_outsider.post(f"/offline/{pending.pk}/confirm/", {"confirmation_id": CID_A})
    assert r.status_code == 404
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_api_lists_the_queue_and_records_a_confirmation_id(
    client, org, admin_user, auditor_user, api_token_for, pending, mak_key, agent_headers
):
    headers = api_token_for(admin_user, org)
    r = client.get("/api/v1/offline-activations/?status=pending", **headers)
    assert r.status_code == 200, r.content
    (row,) = r.json()["results"]
    assert (row["client"], row["installation_id"], row["key"]) == (
        "pc-off",
        pending.installation_id,
        mak_key.masked,
    )
    url = f"/api/v1/offline-activations/{pending.pk}/confirm/"
    r = client.post(url, {"confirmation_id": "12"}, content_type="application/json", **headers)
    assert r.status_code == 400 and "confirmation_id" in r.json()["errors"]
    r = client.post(
        url,
        {"confirmation_id": CID_A},
        content_type="application/json",
        **api_token_for(auditor_user, org),
    )
    assert r.status_code == 403
    r = client.post(url, {"confirmation_id": CID_A}, content_type="application/json", **headers)
    assert r.status_code == 200, r.content
    assert r.json()["command"] == f"cscript ospp.vbs /actcid:{CID}"
    r = client.post(url, {"confirmation_id": CID_A}, content_type="application/json", **headers)
    assert r.status_code == 409
    mak_key.refresh_from_db()
    assert mak_key.activations_used == 1
    # An agent token reaches only its own endpoints: the queue does not exist for it.
    assert client.get("/api/v1/offline-activations/", **agent_headers).status_code == 404


def test_a_new_installation_id_of_the_same_product_supersedes_the_pending_one(
    client, org, agent_headers, pending
):
    changed = dict(OFFICE_MAK_OSPP_CLASS, OfflineInstallationId="9" * 54)
    r = client.post(
        "/api/v1/inventory/wmi/",
        data=json.dumps({"hostname": "pc-off", "products": [changed]}),
        content_type="application/json",
        **agent_headers,
    )
    assert r.status_code == 200, r.content
    pending.refresh_from_db()
    assert pending.status == "cancelled"
    assert OfflineActivation.objects.get(status="pending").installation_id == "9" * 54
    assert AuditEvent.objects.filter(
        action="offline_activation.cancel", changes__reason="superseded by a newer Installation ID"
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_queueing_and_superseding_outside_a_test_transaction(client, org, admin_user):
    """As in production (autocommit between requests): the agent's report queues, and a new
    Installation ID supersedes, within the request's own transaction."""
    from licensing.models import TokenScope
    from licensing.services.tokens import create_api_token

    factories.MakKeyFactory(
        pool=factories.MakPoolFactory(organisation=org), key="BCDFG-HJKMP-QRTVW-XY234-7X3QH"
    )
    _, token = create_api_token(
        actor=admin_user, organisation=org, name="agent", scope=TokenScope.AGENT
    )
    for iid in ("1" * 54, "2" * 54):
        r = client.post(
            "/api/v1/inventory/wmi/",
            data=json.dumps(
                {
                    "hostname": "pc-tx",
                    "products": [dict(OFFICE_MAK_OSPP_CLASS, OfflineInstallationId=iid)],
                }
            ),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert r.status_code == 200, r.content
    assert sorted(OfflineActivation.objects.values_list("installation_id", "status")) == [
        ("1" * 54, "cancelled"),
        ("2" * 54, "pending"),
    ]
