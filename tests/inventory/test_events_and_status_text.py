"""KMS host event 12290 exports and posted ospp.vbs / slmgr.vbs text."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from licensing.models import Client, ImportRun
from licensing.services.inventory import events
from tests import factories
from tests.inventory.conftest import NOW, days_ago
from tests.samples import SAMPLES

pytestmark = pytest.mark.django_db

CMID_A = "36f27b39-2fd5-440b-be67-a09996d27a38"
CMID_B = "11111111-2fd5-440b-be67-a09996d27a38"
SKU = "68531fb9-5511-4989-97be-d11a0f55633f"


def export(*lines: str) -> str:
    rows = ['"TimeCreated","Id","Info"']
    rows += [f'"2026-06-15 10:00:00","12290","{line}"' for line in lines]
    return "\n".join(rows) + "\n"


def test_12290_export_sets_renewals_states_and_the_host(frozen, org):
    host = factories.KmsHostFactory(organisation=org, fqdn="kms01.contoso.test")
    renewed = factories.ClientFactory(
        organisation=org,
        hostname="pc-1",
        last_renewal_at=days_ago(170),
        last_seen_at=days_ago(170),
        license_status=1,
    )
    text = export(
        f"0x0,5,PC-1.contoso.test,{CMID_A},2026/6/10 9:00,0,1,100000,{SKU}",
        f"0x0,5,pc-1.contoso.test,{CMID_A},2026/6/14 9:00,0,1,100000,{SKU}",
        f"0xC004F038,5,pc-2.contoso.test,{CMID_B},2026/6/14 9:30,1,2,20000,{SKU}",
        "garbage line that is not an event",
    )
    run = events.import_kms_events(actor="cli", organisation=org, text=text, kms_host=host)
    assert run.status == "done" and run.received == 4 and run.rejected == 1
    renewed.refresh_from_db()
    assert renewed.last_renewal_at.isoformat() == "2026-06-14T09:00:00+00:00"
    assert renewed.kms_host == host and renewed.compliance_flag == "ok"
    # The events are older than what a later report said: dates move forward, state stays.
    factories.ClientFactory(organisation=org, hostname="pc-3", license_status=5, last_seen_at=NOW)
    events.import_kms_events(
        actor="cli",
        organisation=org,
        text=export(f"0x0,5,pc-3,{CMID_B},2026/6/14 9:00,0,1,0,{SKU}"),
    )
    later = Client.objects.get(hostname="pc-3")
    assert later.license_status == 5 and later.last_renewal_at.day == 14
    pending = Client.objects.get(organisation=org, hostname="pc-2")
    assert pending.license_status == 2 and pending.grace_minutes == 20000
    assert pending.fqdn == "pc-2.contoso.test" and str(pending.cmid) == CMID_B
    assert pending.last_renewal_at is None
    assert run.rejections.get().position == 5  # the line of the file


def test_12290_matches_a_renamed_client_by_its_unique_cmid(frozen, org):
    c = factories.ClientFactory(organisation=org, hostname="old-name", cmid=CMID_A)
    text = export(f"0x0,5,new-name.contoso.test,{CMID_A},2026/6/14 9:00,0,1,0,{SKU}")
    run = events.import_kms_events(actor="cli", organisation=org, text=text)
    c.refresh_from_db()
    assert run.updated == 1 and c.last_renewal_at.date().isoformat() == "2026-06-14"
    assert not Client.objects.filter(hostname="new-name").exists()
    assert "matched by CMID" in run.message


def test_12290_notes_cmids_shared_by_unsysprepped_images(frozen, org):
    text = export(
        f"0x0,5,pc-a,{CMID_A},2026/6/14 9:00,0,1,0,{SKU}",
        f"0x0,5,pc-b,{CMID_A},2026/6/14 9:05,0,1,0,{SKU}",
    )
    run = events.import_kms_events(actor="cli", organisation=org, text=text)
    assert run.created == 2 and "sysprep" in run.message


def test_the_supportarticle_sample_imports_its_12290_event(frozen, org):
    text = (SAMPLES / "kms-events-12288-12290-0xC004F06C-supportarticles.txt").read_text()
    run = events.import_kms_events(actor="cli", organisation=org, text=text)
    assert run.status == "done" and run.created + run.rejected >= 1


def test_an_export_without_events_is_refused(org):
    run = events.import_kms_events(actor="cli", organisation=org, text="")
    assert run.status == "refused" and not Client.objects.exists()


def test_import_kms_events_command(tmp_path, frozen, org):
    factories.KmsHostFactory(organisation=org, fqdn="kms01.contoso.test")
    path = tmp_path / "events.csv"
    path.write_text(export(f"0x0,5,pc-9,{CMID_A},2026/6/14 9:00,0,1,0,{SKU}"))
    out = io.StringIO()
    call_command(
        "import_kms_events", org.slug, str(path), "--host", "KMS01.contoso.test", stdout=out
    )
    assert "1 created" in out.getvalue()
    assert Client.objects.get(hostname="pc-9").kms_host.fqdn == "kms01.contoso.test"


OSPP_KMS = """---Processing--------------------------
---------------------------------------
SKU ID: 8d368fc1-9470-4be2-8d66-90e836cbb051
LICENSE NAME: Office 24, Office24ProPlus2024VL_KMS_Client_AE edition
LICENSE DESCRIPTION: Office 24, VOLUME_KMSCLIENT channel
LICENSE STATUS:  ---LICENSED---
REMAINING GRACE: 170 days  (244800 minute(s) before expiring)
Last 5 characters of installed product key: XCVCB
Activation Type Configuration: ALL
\tKMS machine name from DNS: kms01.contoso.test:1688
\tActivation Interval: 120 minutes
\tRenewal Interval: 10080 minutes
\tKMS host caching: Enabled
---------------------------------------
---Exiting-----------------------------
"""


def test_posted_ospp_text_creates_the_client_from_the_shared_parser(
    client, org, agent_headers, frozen
):
    host = factories.KmsHostFactory(organisation=org, fqdn="kms01.contoso.test")
    r = client.post(
        "/api/v1/inventory/status-text/",
        data=json.dumps({"hostname": "PC-7", "text": OSPP_KMS}),
        content_type="application/json",
        **agent_headers,
    )
    assert r.status_code == 200, r.content
    assert r.json()["result"]["result"] == "created"
    c = Client.objects.get(hostname="pc-7")
    assert (c.license_status, c.activation_method, c.kms_host, c.grace_minutes) == (
        1,
        "kms",
        host,
        244800,
    )
    # 170 days of validity left: renewed 10 days ago.
    assert abs((c.last_renewal_at - days_ago(10)).total_seconds()) < 1
    assert (c.edition is not None and c.edition.sku_id is not None) or c.edition is None
    assert c.compliance_flag == "ok"


def test_posted_raw_text_with_the_hostname_in_the_query(client, org, agent_headers, frozen):
    text = (SAMPLES / "ospp-dstatus-office365-oobgrace-full-mas-issue269.txt").read_text()
    r = client.post(
        "/api/v1/inventory/status-text/?hostname=pc-8",
        data=text,
        content_type="text/plain",
        **agent_headers,
    )
    assert r.status_code == 200, r.content
    c = Client.objects.get(hostname="pc-8")
    assert c.license_status == 2 and c.grace_minutes == 14316
    assert c.renewal_deadline == NOW + __import__("datetime").timedelta(minutes=14316)


def test_unreadable_status_text_is_refused_and_kept(client, org, agent_headers):
    r = client.post(
        "/api/v1/inventory/status-text/",
        data=json.dumps({"hostname": "pc-1", "text": "hello, this is not ospp output"}),
        content_type="application/json",
        **agent_headers,
    )
    assert r.status_code == 400 and "Unreadable" in r.json()["detail"]
    assert not Client.objects.exists()
    run = ImportRun.objects.get()
    assert run.status == "refused" and "hello" in run.rejections.get().raw


def test_status_text_with_nul_characters_gets_a_clear_400_and_writes_nothing(
    client, org, agent_headers
):
    r = client.post(
        "/api/v1/inventory/status-text/",
        data=json.dumps({"hostname": "a\u0000", "text": "L\u0000I\u0000C"}),
        content_type="application/json",
        **agent_headers,
    )
    assert r.status_code == 400 and "NUL" in r.json()["detail"]
    assert not Client.objects.filter(organisation=org).exists()
    assert not ImportRun.objects.exists()
