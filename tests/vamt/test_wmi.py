"""POST /api/v1/inventory/wmi/: WMI licence objects (ConvertTo-Json) read into the same client
state as the same machine's ospp.vbs text, through the one ingest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from licensing.models import Client, ImportRun, OfflineActivation
from licensing.parsers.wmi import WmiError, parse_wmi_date, parse_wmi_products
from tests import factories
from tests.inventory.conftest import NOW, days_ago
from tests.vamt.wmi_samples import OFFICE_KMS_OSPP, OFFICE_MAK_OSPP_CLASS, WINDOWS, office_kms

pytestmark = pytest.mark.django_db

URL = "/api/v1/inventory/wmi/"
STATE = (
    "license_status",
    "activation_method",
    "kms_host_id",
    "grace_minutes",
    "last_renewal_at",
    "renewal_deadline",
    "compliance_flag",
    "edition_id",
    "cmid",
)


def post(client, body, headers, query=""):
    return client.post(
        URL + query, data=json.dumps(body), content_type="application/json", **headers
    )


def test_wmi_array_gives_the_same_client_state_as_the_ospp_text(client, org, agent_headers, frozen):
    factories.KmsHostFactory(organisation=org, fqdn="kms01.contoso.test")
    r = post(client, {"hostname": "PC-7", "products": [WINDOWS, office_kms()]}, agent_headers)
    assert r.status_code == 200, r.content
    assert r.json()["result"]["result"] == "created"
    r = client.post(
        "/api/v1/inventory/status-text/",
        data=json.dumps({"hostname": "PC-8", "text": OFFICE_KMS_OSPP}),
        content_type="application/json",
        **agent_headers,
    )
    assert r.status_code == 200, r.content
    by_wmi = Client.objects.values(*STATE).get(hostname="pc-7")
    by_text = Client.objects.values(*STATE).get(hostname="pc-8")
    assert by_wmi == by_text
    assert by_wmi["license_status"] == 1 and by_wmi["activation_method"] == "kms"
    assert by_wmi["kms_host_id"] is not None and by_wmi["grace_minutes"] == 244800
    assert abs((by_wmi["last_renewal_at"] - days_ago(10)).total_seconds()) < 1
    run = ImportRun.objects.get(source="wmi")
    assert (run.created, run.status, run.filename) == (1, "done", "PC-7")


def test_a_single_bare_object_with_the_hostname_in_the_query(client, org, agent_headers, frozen):
    r = post(client, office_kms(), agent_headers, "?hostname=pc-9")
    assert r.status_code == 200, r.content
    c = Client.objects.get(hostname="pc-9")
    assert (c.license_status, c.activation_method, c.grace_minutes) == (1, "kms", 244800)
    # The KMS host found in DNS is not registered: not linked, and the answer says so.
    assert c.kms_host_id is None and "not registered" in r.json()["note"]


def test_hostname_from_cim_system_properties_and_fqdn_kept(client, org, agent_headers, frozen):
    r = post(client, {"fqdn": "pc-7.contoso.test", "products": [office_kms()]}, agent_headers)
    assert r.status_code == 200, r.content
    assert Client.objects.get(hostname="pc-7").fqdn == "pc-7.contoso.test"


def test_unknown_and_missing_properties_are_tolerated(client, org, agent_headers, frozen):
    minimal = {
        "ApplicationID": "0ff1ce16-a989-479d-af46-f275c6370663",
        "LicenseStatus": 2,
        "PartialProductKey": "ABCDE",
        "SomethingNew": {"nested": [1, 2]},
        "GracePeriodRemaining": 14316,
    }
    r = post(client, {"hostname": "pc-1", "products": minimal}, agent_headers)
    assert r.status_code == 200, r.content
    c = Client.objects.get(hostname="pc-1")
    assert (c.license_status, c.grace_minutes) == (2, 14316)
    assert c.renewal_deadline == NOW + timedelta(minutes=14316)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"LicenseStatus": "1"}, "LicenseStatus: expected a number"),
        ({"LicenseStatus": True}, "LicenseStatus: expected a number"),
        ({"GracePeriodRemaining": 1.5}, "GracePeriodRemaining: expected a whole number"),
        ({"PartialProductKey": 12345}, "PartialProductKey: expected text"),
        ({"ID": "not-a-guid"}, "ID: 'not-a-guid' is not a GUID"),
        ({"EvaluationEndDate": "tomorrow"}, "EvaluationEndDate: 'tomorrow' is not a date"),
        ({"DiscoveredKeyManagementServiceMachinePort": 2**40}, "out of range"),
    ],
)
def test_wrong_types_are_a_400_naming_the_property(client, org, agent_headers, change, words):
    r = post(
        client, {"hostname": "pc-2", "products": [WINDOWS, office_kms(**change)]}, agent_headers
    )
    assert r.status_code == 400, r.content
    assert words in r.json()["detail"] and "products[1]" in r.json()["detail"]
    assert not Client.objects.exists()
    assert ImportRun.objects.get().status == "refused"


@pytest.mark.parametrize(
    "body",
    [
        {"hostname": "pc-3", "products": [WINDOWS]},
        {"hostname": "pc-3", "products": [office_kms(PartialProductKey=None)]},
        {"hostname": "pc-3", "products": "text"},
        {"hostname": "pc-3", "products": [1, 2]},
        {"hostname": "pc-3", "products": [office_kms()], "service": "x"},
        {"hostname": "pc-3", "products": [office_kms()], "service": {"ClientMachineID": "zz"}},
        # uint32 -1 and other numbers outside 0..6: no licence with a known state is left.
        {"hostname": "pc-3", "products": [office_kms(LicenseStatus=4294967295)]},
        {"hostname": "pc-3", "products": [office_kms(LicenseStatus=-1)]},
    ],
)
def test_reports_without_usable_office_licences_are_refused(client, org, agent_headers, body):
    r = post(client, body, agent_headers)
    assert r.status_code == 400, r.content
    assert "Unreadable WMI report" in r.json()["detail"]
    assert not Client.objects.exists()


def test_no_hostname_at_all_is_a_400(client, org, agent_headers):
    obj = office_kms(CimSystemProperties=None)
    r = post(client, [obj], agent_headers)
    assert r.status_code == 400 and "hostname" in r.json()["detail"]


def test_collected_at_dates_and_the_service_cmid(client, org, agent_headers, frozen):
    collected = NOW - timedelta(hours=6)
    ms = int(collected.timestamp() * 1000)
    body = {
        "hostname": "pc-4",
        "collected_at": f"/Date({ms})/",
        "service": {"ClientMachineID": "{36F27B39-2FD5-440B-BE67-A09996D27A38}"},
        "products": [office_kms()],
    }
    r = post(client, body, agent_headers)
    assert r.status_code == 200, r.content
    c = Client.objects.get(hostname="pc-4")
    assert str(c.cmid) == "36f27b39-2fd5-440b-be67-a09996d27a38"
    # 244800 minutes (170 days) of validity left six hours ago: renewed 10 days before that.
    assert c.last_renewal_at == collected - timedelta(days=10)
    assert c.last_seen_at == collected


def test_a_not_activated_mak_product_joins_the_offline_queue(client, org, agent_headers, frozen):
    pool = factories.MakPoolFactory(organisation=org)
    key = factories.MakKeyFactory(pool=pool, key="BCDFG-HJKMP-QRTVW-XY234-7X3QH")
    r = post(client, {"hostname": "pc-5", "products": [OFFICE_MAK_OSPP_CLASS]}, agent_headers)
    assert r.status_code == 200, r.content
    c = Client.objects.get(hostname="pc-5")
    assert (c.license_status, c.activation_method) == (5, "mak")
    item = OfflineActivation.objects.get()
    assert item.client == c and item.mak_key == key and item.status == "pending"
    assert item.installation_id == "014436285634731822914450637126523406851234110562773981"
    # Reported again: not queued twice.
    post(client, {"hostname": "pc-5", "products": [OFFICE_MAK_OSPP_CLASS]}, agent_headers)
    assert OfflineActivation.objects.count() == 1


def test_an_outsider_token_may_not_post_into_another_organisation(
    client, org, other_org, outsider, api_token_for
):
    headers = api_token_for(outsider, other_org)
    body = {"hostname": "pc-6", "organisation": org.slug, "products": [office_kms()]}
    assert post(client, body, headers).status_code == 404
    assert not Client.objects.exists()


def test_parse_wmi_date_shapes():
    assert parse_wmi_date("/Date(1781524800000)/") == datetime(2026, 6, 15, 12, tzinfo=UTC)
    assert parse_wmi_date("\\/Date(1781524800000+0200)\\/") == datetime(2026, 6, 15, 12, tzinfo=UTC)
    assert parse_wmi_date("2026-06-15T14:00:00+02:00") == datetime(2026, 6, 15, 12, tzinfo=UTC)
    assert parse_wmi_date({"value": "/Date(1781524800000)/", "DisplayHint": 2}) == datetime(
        2026, 6, 15, 12, tzinfo=UTC
    )
    assert parse_wmi_date(None) is None
    with pytest.raises(WmiError):
        parse_wmi_date(17)


def test_parser_reads_the_office_licence_only():
    report = parse_wmi_products([WINDOWS, office_kms(), OFFICE_MAK_OSPP_CLASS])
    assert [lic.last5 for lic in report.document.licenses] == ["GCVGB", "7X3QH"]
    kms, mak = report.document.licenses
    assert kms.kms_client.kms_host == "kms01.contoso.test" and kms.kms_client.kms_port == 1688
    assert kms.error_code == "0x4004F040" and mak.error_code == "0xC004F009"
    assert mak.grace_minutes is None and mak.kms_client is None
    assert report.host_name == "PC-7"
    # The registry override wins over DNS, as in ospp.vbs.
    over = parse_wmi_products(
        office_kms(KeyManagementServiceMachine="KMS02.contoso.test", KeyManagementServicePort=1700)
    )
    assert over.document.licenses[0].kms_client.kms_host == "kms02.contoso.test"
    assert over.document.licenses[0].kms_client.kms_port == 1700
