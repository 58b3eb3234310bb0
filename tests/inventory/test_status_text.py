"""Posted ospp.vbs / slmgr.vbs text: read by the shared parser into one inventory record."""

from __future__ import annotations

import json

import pytest

from licensing.models import Client, ImportRun
from tests import factories
from tests.inventory.conftest import NOW, days_ago
from tests.samples import SAMPLES

pytestmark = pytest.mark.django_db

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
