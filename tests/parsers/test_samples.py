"""Every shared sample: the two status outputs parse, the others are refused as status text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from licensing.parsers import (
    EventError,
    UnreadableStatusText,
    parse_12290_export,
    parse_ospp_dstatus,
    parse_slmgr_dlv,
    parse_status,
)

pytestmark = pytest.mark.db_free

SLMGR = "slmgr-dlv-office2016-kms-host-msdocs.txt"
OSPP = "ospp-dstatus-office365-oobgrace-full-mas-issue269.txt"
EVENTS = "kms-events-12288-12290-0xC004F06C-supportarticles.txt"


def test_office2016_kms_host_sample_gives_every_host_field(sample_text):
    doc = parse_status(sample_text(SLMGR))

    assert doc.format == "slmgr_dlv"
    assert len(doc.licenses) == 1
    lic = doc.licenses[0]
    assert lic.name == "Office 16, OfficeKMSHostVL_KMS_Host edition"
    assert lic.description == "Office 16, VOLUME_KMS channel"
    assert lic.sku_id == "98ebfe73-2084-4c97-932c-c0cd1643bea7"
    assert lic.status == "licensed"
    assert lic.state_code == 1
    assert lic.last5 == "KDQ2G"
    assert lic.error_code is None
    assert lic.grace_minutes is None
    assert lic.kms_client is None
    host = lic.kms_host
    assert host is not None
    assert (host.current_count, host.port, host.dns_publishing, host.priority) == (
        0,
        1688,
        True,
        "normal",
    )
    assert (host.total_requests, host.failed_requests) == (0, 0)
    assert host.requests_by_status.to_dict() == {
        "unlicensed": 0,
        "licensed": 0,
        "oob_grace": 0,
        "oot_grace": 0,
        "non_genuine_grace": 0,
        "notification": 0,
        "extended_grace": None,
    }


def test_office2016_sample_parses_the_same_with_the_explicit_slmgr_parser(sample_text):
    assert parse_slmgr_dlv(sample_text(SLMGR)) == parse_status(sample_text(SLMGR))


def test_wrapped_use_license_url_does_not_leak_into_any_field(sample_text):
    dumped = json.dumps(parse_status(sample_text(SLMGR)).to_dict())

    assert "teProduct" not in dumped
    assert "asmx" not in dumped


def test_office365_oob_grace_sample_gives_grace_error_code_and_last5(sample_text):
    doc = parse_status(sample_text(OSPP))

    assert doc.format == "ospp_dstatus"
    assert len(doc.licenses) == 1
    lic = doc.licenses[0]
    # The `_ ` gaps of the posted copy are closed.
    assert lic.name == "Office 16, Office16O365ProPlusR_Subscription1 edition"
    assert lic.description == "Office 16, TIMEBASED_SUB channel"
    assert lic.sku_id == "149dbce7-a48e-44db-8364-a53386cd4580"
    assert lic.status == "oob_grace"
    assert lic.state_code == 2
    assert lic.error_code == "0x4004F00C"
    assert lic.grace_minutes == 14316
    assert lic.last5 == "M96P2"
    assert lic.kms_client is None
    assert lic.kms_host is None
    assert parse_ospp_dstatus(sample_text(OSPP)) == doc


def test_to_dict_has_exactly_the_documented_keys_in_order(sample_text):
    data = parse_status(sample_text(SLMGR)).to_dict()

    assert list(data) == ["format", "licenses"]
    assert list(data["licenses"][0]) == [
        "name",
        "description",
        "sku_id",
        "status",
        "error_code",
        "grace_minutes",
        "last5",
        "kms_client",
        "kms_host",
    ]
    assert list(data["licenses"][0]["kms_host"]) == [
        "current_count",
        "port",
        "dns_publishing",
        "priority",
        "total_requests",
        "failed_requests",
        "requests_by_status",
    ]
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize(
    "name",
    [
        "dns-srv-nslookup-vlmcs-windowsserverdocs.txt",
        "vamt2-cil-schema-excerpt.md",
        "README.md",
        EVENTS,
    ],
)
def test_samples_that_are_not_status_output_are_unreadable_status_text(sample_text, name):
    with pytest.raises(UnreadableStatusText):
        parse_status(sample_text(name))


def test_event_sample_skips_12288_and_reports_the_placeholder_client_name(sample_text):
    results = list(parse_12290_export(sample_text(EVENTS)))

    # Only the 12290 event is read (line 30); its client name is the docs' placeholder.
    assert len(results) == 1
    assert isinstance(results[0], EventError)
    assert results[0].line == 30
    assert "client name" in results[0].reason


def test_event_sample_with_a_real_client_name_gives_every_field(sample_text):
    text = sample_text(EVENTS).replace("<KMS Client name>", "pc042.contoso.com")

    (row,) = parse_12290_export(text)

    assert row.line == 30
    assert row.hresult_hex == "0xC004F06C"
    assert row.succeeded is False
    assert row.min_count == 5
    assert row.client_fqdn == "pc042.contoso.com"
    assert row.cmid == "36f27b39-2fd5-440b-be67-a09996d27a38"
    assert row.client_time.isoformat() == "2010-09-29T21:46:00+00:00"
    assert row.is_vm is False
    assert row.license_state == 2
    assert row.status == "oob_grace"
    assert row.minutes_to_expiry == 41520
    assert row.sku_id == "68531fb9-5511-4989-97be-d11a0f55633f"


def test_parsers_import_without_django():
    # STYLE.md: parsers are pure; importing them must not pull in Django, the ORM or settings.
    code = (
        "import sys, licensing.parsers, licensing.parsers.events;"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
