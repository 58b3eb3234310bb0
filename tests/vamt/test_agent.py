"""The PowerShell agent kept in the repository and served by the portal: what it collects
matches what the WMI parser reads, its host-mode text is what the KMS report endpoint reads,
its report shape is accepted, and the Tokens page shows the install one-liner."""

from __future__ import annotations

import json
import re

import pytest

from licensing.models import Client, TokenScope
from licensing.parsers import parse_slmgr_dlv
from licensing.services.agent import SCRIPT_PATH, install_command
from tests.inventory.conftest import NOW
from tests.vamt.wmi_samples import office_kms

pytestmark = pytest.mark.django_db
SCRIPT = SCRIPT_PATH.read_text(encoding="utf-8")


def test_the_script_is_served_to_anyone_as_text(client):
    r = client.get("/agent/vlp-agent.ps1")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain")
    body = r.content.decode()
    assert body == SCRIPT
    assert "/api/v1/inventory/wmi/" in body and "status-reports/" in body
    assert not re.search(r"vlp_[A-Za-z0-9]{8,}", body)  # no token in the script


def test_the_script_collects_every_property_the_parser_reads():
    parser = (SCRIPT_PATH.parents[1] / "parsers" / "wmi.py").read_text()
    read = set(re.findall(r'_(?:int|str)\(obj, "(\w+)"', parser))
    read.discard("ApplicationId")  # the Windows 7 class spells it so; Select-Object is case-blind
    listed = re.search(r"\$ProductProperties = @\((.*?)\)", SCRIPT, re.S).group(1)
    assert read <= set(re.findall(r"'(\w+)'", listed))
    assert "ClientMachineID" in SCRIPT and "KeyManagementServiceName" in SCRIPT


def test_the_host_mode_text_is_read_by_the_kms_report_parser():
    template = re.search(r"\$HostTextTemplate = @'\n(.*?)\n'@", SCRIPT, re.S).group(1)
    text = template.format(
        "Office 24, Office24KMSHostVL_KMS_Host edition",
        "Office 24, VOLUME_KMS channel",
        "f3d89bbf-c0ec-47ce-a8fa-e5a5f97e447f",
        "KDQ2G",
        "Licensed",
        7,
        1688,
        "DNS publishing enabled",
        "Normal",
        120,
        3,
        1,
        100,
        10,
        4,
        0,
        2,
    )
    (lic,) = parse_slmgr_dlv(text).licenses
    assert lic.status == "licensed" and lic.last5 == "KDQ2G"
    host = lic.kms_host
    assert (host.current_count, host.port, host.dns_publishing, host.priority) == (
        7,
        1688,
        True,
        "normal",
    )
    assert (host.total_requests, host.failed_requests) == (120, 3)
    assert host.requests_by_status.to_dict() == {
        "unlicensed": 1,
        "licensed": 100,
        "oob_grace": 10,
        "oot_grace": 4,
        "non_genuine_grace": 0,
        "notification": 2,
        "extended_grace": None,
    }


def test_a_report_in_the_scripts_shape_is_accepted(client, org, agent_headers, frozen):
    report = {
        "hostname": "PC-42",
        "fqdn": "pc-42.contoso.test",
        "collected_at": "2026-06-15T11:00:00.1234567Z",
        "agent": "vlp-agent.ps1 1.0",
        "kms_settings": {"KeyManagementServiceName": "kms01.contoso.test"},
        "service": {
            "ClientMachineID": "36f27b39-2fd5-440b-be67-a09996d27a38",
            "KeyManagementServiceCurrentCount": 4294967295,
            "Version": "10.0.19041.1",
        },
        "products": [office_kms()],
    }
    r = client.post(
        "/api/v1/inventory/wmi/",
        data=json.dumps(report),
        content_type="application/json",
        **agent_headers,
    )
    assert r.status_code == 200, r.content
    c = Client.objects.get(hostname="pc-42")
    assert c.fqdn == "pc-42.contoso.test" and c.last_seen_at < NOW


def test_tokens_page_shows_the_one_liner_with_the_new_token_and_url(as_admin):
    page = as_admin.get("/tokens/").content.decode()
    assert "&lt;agent token&gt;" in page and "http://testserver/agent/vlp-agent.ps1" in page
    r = as_admin.post("/tokens/", {"name": "agents", "scope": TokenScope.AGENT, "days": 30})
    page = r.content.decode()
    token = re.search(r'id="new-token"[^>]*>([^<]+)<', page).group(1)
    assert f"-Token &#x27;{token}&#x27;" in page or f"-Token '{token}'" in page
    assert "-PortalUrl &#x27;http://testserver&#x27;" in page


def test_install_command_quotes_for_powershell():
    cmd = install_command("https://portal.example/", "vlp_abc'def", host_id=7)
    assert "Invoke-RestMethod 'https://portal.example/agent/vlp-agent.ps1'" in cmd
    assert "-Token 'vlp_abc''def'" in cmd and "-Mode Host -KmsHostId 7" in cmd


def test_host_page_shows_the_host_mode_install_command_with_the_reporter_token(as_admin, org):
    from tests import factories

    host = factories.KmsHostFactory(organisation=org, fqdn="kms01.contoso.test")
    r = as_admin.post(f"/kms/hosts/{host.pk}/tokens/", {"name": "kms01", "days": 30}, follow=True)
    page = r.content.decode()
    token = re.search(r'id="new-token"[^>]*>([^<]+)<', page).group(1)
    agent = re.search(r'id="cmd-agent"[^>]*>([^<]+)<', page).group(1)
    assert f"-Token &#x27;{token}&#x27;" in agent and f"-Mode Host -KmsHostId {host.pk}" in agent


def test_the_page_that_shows_a_new_reporter_token_is_not_stored_and_shows_it_once(as_admin, org):
    from tests import factories

    host = factories.KmsHostFactory(organisation=org, fqdn="kms02.contoso.test")
    created = as_admin.post(f"/kms/hosts/{host.pk}/tokens/", {"name": "kms02", "days": 30})
    assert created.status_code == 302
    shown = as_admin.get(created["Location"])
    assert 'id="new-token"' in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    again = as_admin.get(created["Location"])
    assert 'id="new-token"' not in again.content.decode()
