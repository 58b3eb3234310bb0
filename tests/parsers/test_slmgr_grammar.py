"""`slmgr.vbs /dlv` and `/dli` grammar (shared DOMAIN.md section 3 and slmgr.vbs's string
table), written by hand in the layouts real copies come in."""

from __future__ import annotations

import re
import textwrap

import pytest

from licensing.parsers import UnreadableStatusText, parse_slmgr_dlv, parse_status

pytestmark = pytest.mark.db_free

WINDOWS_KMS_CLIENT = textwrap.dedent(
    """\
    Microsoft (R) Windows Script Host Version 5.812
    Copyright (C) Microsoft Corporation. All rights reserved.

    Software licensing service version: 10.0.19041.3636

    Name: Windows(R), Enterprise edition
    Description: Windows(R) Operating System, VOLUME_KMSCLIENT channel
    Activation ID: 73111121-5638-40F6-BC11-F1D7B0D64300
    Application ID: 55c92734-d682-4d71-983e-d6ec3f16059f
    Extended PID: 03612-03424-000-000000-03-1033-19041.0000-2152020
    Product Key Channel: Volume:GVLK
    Installation ID: 428219043276375285271826834040218436540931374237429381
    Use License URL: https://activation-v2.sls.microsoft.com/SLActivateProduct/SLActivateProduct.asmx?configextension=Retail
    Validation URL: https://validation-v2.sls.microsoft.com/SLWGA/slwga.asmx
    Partial Product Key: 2YT43
    License Status: Licensed
    Volume activation expiration: 259199 minute(s) (179 day(s))
    Remaining Windows rearm count: 1001
    Remaining SKU rearm count: 1001
    Trusted time: 3/1/2024 10:00:00 AM

    Key Management Service client information
        Client Machine ID (CMID): 2C7E1A8E-5C4F-4B7E-9A3B-0F0B2D3C4E5F
        KMS machine name from DNS: kms01.contoso.com:1688
        KMS machine IP address: 10.0.0.5
        KMS machine extended PID: 06401-00206-271-392087-03-1033-17763.0000-1272020
        Activation interval: 120 minutes
        Renewal interval: 10080 minutes
        KMS host caching is enabled
    """
)

HOST_WITH_COUNTERS = textwrap.dedent(
    """\
    Name: Windows(R), ServerStandard edition
    Description: Windows(R) Operating System, VOLUME_KMS_2016 channel
    Activation ID: 5fe40dd6-cf1f-4cf2-8729-92121ac2e997
    Partial Product Key: WQ7BT
    License Status: Licensed
    Key Management Service is enabled on this machine
        Current count: 37
        Listening on Port: 1700
        DNS publishing disabled
        KMS priority: Low
    Key Management Service cumulative requests received from clients
        Total requests received: 1200
        Failed requests received: 21
        Requests with License Status Unlicensed: 3
        Requests with License Status Licensed: 1100
        Requests with License Status Initial grace period: 50
        Requests with License Status License expired or Hardware out of tolerance: 17
        Requests with License Status Non-genuine grace period: 2
        Requests with License Status Notification: 7
    """
)

DLI_HOST_SUBSET = textwrap.dedent(
    """\
    Name: Windows(R), ServerStandard edition
    Description: Windows(R) Operating System, VOLUME_KMS_R2_B channel
    Partial Product Key: H4D8F
    License Status: Licensed

    Key Management Service is enabled on this machine
        Current count: 4294967295
        Listening on Port: 1688
        DNS publishing enabled
        KMS priority: Normal
    """
)


def _one(text: str):
    doc = parse_status(text)
    assert doc.format == "slmgr_dlv"
    assert len(doc.licenses) == 1
    return doc.licenses[0]


def test_windows_kms_client_block_gives_cmid_host_port_and_intervals():
    lic = _one(WINDOWS_KMS_CLIENT)

    assert lic.name == "Windows(R), Enterprise edition"
    assert lic.sku_id == "73111121-5638-40f6-bc11-f1d7b0d64300"
    assert lic.last5 == "2YT43"
    assert lic.status == "licensed"
    assert lic.grace_minutes == 259199
    assert lic.kms_host is None
    client = lic.kms_client
    assert client is not None
    assert client.cmid == "2c7e1a8e-5c4f-4b7e-9a3b-0f0b2d3c4e5f"
    assert (client.kms_host, client.kms_port) == ("kms01.contoso.com", 1688)
    assert client.activation_interval_minutes == 120
    assert client.renewal_interval_minutes == 10080


def test_registered_kms_name_wins_over_the_one_from_dns():
    text = WINDOWS_KMS_CLIENT.replace(
        "    KMS machine name from DNS: kms01.contoso.com:1688\n",
        "    Registered KMS machine name: kms02.contoso.com:1700\n"
        "    KMS machine name from DNS: kms01.contoso.com:1688\n",
    )

    client = _one(text).kms_client

    assert (client.kms_host, client.kms_port) == ("kms02.contoso.com", 1700)


def test_dns_auto_discovery_unavailable_leaves_the_host_null_but_keeps_the_block():
    text = WINDOWS_KMS_CLIENT.replace(
        "KMS machine name from DNS: kms01.contoso.com:1688",
        "DNS auto-discovery: KMS name not available",
    ).replace("KMS machine IP address: 10.0.0.5\n", "")

    client = _one(text).kms_client

    assert client is not None
    assert (client.kms_host, client.kms_port) == (None, None)
    assert client.renewal_interval_minutes == 10080


def test_kms_host_block_gives_every_request_counter():
    host = _one(HOST_WITH_COUNTERS).kms_host

    assert host.current_count == 37
    assert host.port == 1700
    assert host.dns_publishing is False
    assert host.priority == "low"
    assert host.total_requests == 1200
    assert host.failed_requests == 21
    assert host.requests_by_status.to_dict() == {
        "unlicensed": 3,
        "licensed": 1100,
        "oob_grace": 50,
        "oot_grace": 17,
        "non_genuine_grace": 2,
        "notification": 7,
        "extended_grace": None,
    }
    assert host.requests_by_status["oot_grace"] == 17


@pytest.mark.parametrize("count", ["4294967295", "-1"])
def test_current_count_of_uint32_minus_one_means_not_a_host_and_is_minus_one(count):
    lic = _one(DLI_HOST_SUBSET.replace("4294967295", count))

    assert lic.kms_host.current_count == -1


def test_dli_subset_has_no_activation_id_and_still_parses():
    lic = _one(DLI_HOST_SUBSET)

    assert lic.name == "Windows(R), ServerStandard edition"
    assert lic.sku_id is None
    assert lic.last5 == "H4D8F"
    assert lic.status == "licensed"
    assert lic.kms_host.port == 1688
    assert lic.kms_host.dns_publishing is True
    assert lic.kms_host.priority == "normal"
    assert lic.kms_host.total_requests is None
    assert lic.kms_host.requests_by_status.to_dict()["licensed"] is None


@pytest.mark.parametrize(
    ("wording", "word"),
    [
        ("Licensed", "licensed"),
        ("Unlicensed", "unlicensed"),
        ("Initial grace period", "oob_grace"),
        (
            "Additional grace period (KMS license expired or hardware out of tolerance)",
            "oot_grace",
        ),
        ("Out-of-Tolerance grace period", "oot_grace"),
        ("Non-genuine grace period.", "non_genuine_grace"),
        ("Notification", "notification"),
        ("Extended grace period", "extended_grace"),
        ("licensed (activated)", "licensed"),
        ("Notification   (see reason below)", "notification"),
    ],
)
def test_each_slmgr_status_wording_maps_to_its_word(wording, word):
    text = HOST_WITH_COUNTERS.replace("License Status: Licensed", f"License Status: {wording}")

    assert _one(text).status == word


def test_unknown_status_is_null_not_an_error():
    text = DLI_HOST_SUBSET.replace("License Status: Licensed", "License Status: Unknown")

    assert _one(text).status is None


def test_grace_period_time_remaining_and_notification_reason():
    text = textwrap.dedent(
        """\
        Name: Windows(R), Professional edition
        Description: Windows(R) Operating System, VOLUME_KMSCLIENT channel
        Partial Product Key: 3V66T
        License Status: Initial grace period
        Time remaining: 43200 minute(s) (30 day(s))

        Name: Office 16, Office16ProPlusVL_KMS_Client edition
        Description: Office 16, VOLUME_KMSCLIENT channel
        Partial Product Key: WFG99
        License Status: Notification
        Notification Reason: 0xc004f009 (grace time expired).
        """
    )

    first, second = parse_status(text).licenses

    assert (first.status, first.grace_minutes, first.error_code) == ("oob_grace", 43200, None)
    assert (second.status, second.error_code) == ("notification", "0xC004F009")
    assert second.state_code == 5


def test_several_licences_split_on_name_and_licences_not_in_use_are_left_out():
    text = (
        WINDOWS_KMS_CLIENT
        + "\nName: Windows(R), EnterpriseN edition\n"
        + "Description: Windows(R) Operating System, VOLUME_KMSCLIENT channel\n"
        + "Activation ID: e272e3e2-732f-4c65-a8f0-484747d0d947\n"
        + "This license is not in use.\n\n"
        + HOST_WITH_COUNTERS
    )

    doc = parse_status(text)

    assert [lic.name for lic in doc.licenses] == [
        "Windows(R), Enterprise edition",
        "Windows(R), ServerStandard edition",
    ]
    assert doc.licenses[0].kms_client is not None
    assert doc.licenses[0].kms_host is None
    assert doc.licenses[1].kms_host.current_count == 37
    assert doc.licenses[1].kms_client is None


# --- layout variants: the same facts whatever the whitespace ------------------------------------


def _flat(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines())


def _tabs(text: str) -> str:
    return re.sub(r"^ +", "\t", text, flags=re.MULTILINE).replace(": ", ":\t")


def _doubled(text: str) -> str:
    return text.replace(" ", "  ")


def _collapsed(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text)


def _indented(text: str) -> str:
    return textwrap.indent(text, "   ")


@pytest.mark.parametrize(
    "transform",
    [
        _flat,
        _tabs,
        _doubled,
        _collapsed,
        _indented,
        lambda t: t.replace("\n", "\r\n"),
        lambda t: t.replace("\n", "\r"),
        lambda t: "\ufeff" + t,
        lambda t: t + "\n\n\n",
        lambda t: "\n".join(line + "   " for line in t.splitlines()),
    ],
    ids=["flat", "tabs", "doubled", "collapsed", "indented", "crlf", "cr", "bom", "trailing", "ws"],
)
@pytest.mark.parametrize("base", [WINDOWS_KMS_CLIENT, HOST_WITH_COUNTERS, DLI_HOST_SUBSET])
def test_layout_variants_give_the_same_document(base, transform):
    assert parse_status(transform(base)) == parse_status(base)


@pytest.mark.parametrize(
    "banner",
    [
        "Сервер сценариев Windows (Microsoft R) версия 5.812\n"
        "Copyright (C) Корпорация Майкрософт 1996-2006, все права защищены.\n",
        "Microsoft (R) Windows Script Host Version 5.812\n"
        "版权所有(C) Microsoft Corporation。保留所有权利。\n",
        "Microsoft (R) Windows Script Host, Version 5.812\n"
        "Copyright (C) Microsoft Corporation. Alle Rechte vorbehalten.\n",
    ],
)
def test_localised_script_host_banner_is_ignored(banner):
    assert parse_status(banner + "\n" + HOST_WITH_COUNTERS) == parse_status(HOST_WITH_COUNTERS)


# --- wrapped lines ------------------------------------------------------------------------------


def test_counter_line_wrapped_inside_its_label_is_joined_back():
    text = HOST_WITH_COUNTERS.replace(
        "License expired or Hardware out of tolerance: 17",
        "License expired or Hardware out of tol\nerance: 17",
    )

    host = _one(text).kms_host

    assert host.requests_by_status["oot_grace"] == 17
    assert host.requests_by_status["non_genuine_grace"] == 2


def test_counter_value_wrapped_onto_the_next_line_is_joined_back():
    text = HOST_WITH_COUNTERS.replace(
        "Failed requests received: 21", "Failed requests received:\n21"
    )

    assert _one(text).kms_host.failed_requests == 21


def test_volume_expiration_wrapped_inside_the_number_is_joined_back():
    text = WINDOWS_KMS_CLIENT.replace(
        "Volume activation expiration: 259199 minute(s) (179 day(s))",
        "Volume activation expiration: 2591\n99 minute(s) (179 day(s))",
    )

    assert _one(text).grace_minutes == 259199


def test_name_hard_wrapped_at_80_columns_is_joined_without_a_space():
    name = "Office 16, Office16ProjectProVL_KMS_Client edition for a very long volumelicence"
    line = f"Name: {name}"
    assert len(line) > 80
    assert line[79] != " " and line[80] != " "  # the console cut a word in two
    text = DLI_HOST_SUBSET.replace(
        "Name: Windows(R), ServerStandard edition", line[:80] + "\n" + line[80:]
    )

    assert _one(text).name == name


def test_description_wrapped_at_a_space_is_joined_with_a_space():
    text = DLI_HOST_SUBSET.replace(
        "Description: Windows(R) Operating System, VOLUME_KMS_R2_B channel",
        "Description: Windows(R) Operating System,\n   VOLUME_KMS_R2_B channel",
    )

    assert _one(text).description == "Windows(R) Operating System, VOLUME_KMS_R2_B channel"


def test_long_status_wording_wrapped_by_the_console_still_maps():
    text = HOST_WITH_COUNTERS.replace(
        "License Status: Licensed",
        "License Status: Additional grace period (KMS license expired or hardware out of \n"
        "tolerance)",
    )

    lic = _one(text)

    assert lic.status == "oot_grace"
    assert lic.kms_host.current_count == 37


# --- explicit parser and failures -----------------------------------------------------------------


def test_explicit_slmgr_parser_refuses_text_without_status_line():
    with pytest.raises(UnreadableStatusText, match="no 'License Status' line found"):
        parse_slmgr_dlv("Name: Windows(R), Enterprise edition\nDescription: Windows\n")


def test_unrecognised_slmgr_status_wording_is_unreadable():
    text = DLI_HOST_SUBSET.replace("License Status: Licensed", "License Status: Lizenziert")

    with pytest.raises(UnreadableStatusText, match="unrecognised licence status 'Lizenziert'"):
        parse_status(text)


def test_out_of_range_port_is_null_rather_than_an_error():
    lic = _one(DLI_HOST_SUBSET.replace("Listening on Port: 1688", "Listening on Port: 99999"))

    assert lic.kms_host.port is None


@pytest.mark.parametrize(
    ("value", "host", "port"),
    [
        ("kms01.contoso.com:1688", "kms01.contoso.com", 1688),
        ("KMS01.Contoso.com", "kms01.contoso.com", None),
        ("10.0.0.5:16886", "10.0.0.5", 16886),
        ("[fd00::5]:1688", "fd00::5", 1688),
        ("fd00::5", "fd00::5", None),
        ("KMS name not available", None, None),
        ("kms01.contoso.com:port", None, None),
    ],
)
def test_kms_machine_name_forms(value, host, port):
    text = WINDOWS_KMS_CLIENT.replace("kms01.contoso.com:1688", value)

    client = _one(text).kms_client

    assert (client.kms_host, client.kms_port) == (host, port)
