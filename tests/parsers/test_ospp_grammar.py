"""`ospp.vbs /dstatus` grammar (shared DOMAIN.md section 4.1, from ospp.vbs's own strings),
written by hand in the layouts real copies come in."""

from __future__ import annotations

import re
import textwrap

import pytest

from licensing.parsers import (
    STATUS_CODES,
    UnreadableStatusText,
    parse_ospp_dstatus,
    parse_status,
)

pytestmark = pytest.mark.db_free

KMS_CLIENT = (
    "Microsoft (R) Windows Script Host Version 5.812\n"
    "Copyright (C) Microsoft Corporation. All rights reserved.\n"
    "\n"
    "---Processing--------------------------\n"
    "---------------------------------------\n"
    "PRODUCT ID: 00339-10000-00000-AA718\n"
    "SKU ID: d450596f-894d-49e0-966a-fd39ed4c4c64\n"
    "LICENSE NAME: Office 16, Office16ProPlusVL_KMS_Client edition\n"
    "LICENSE DESCRIPTION: Office 16, VOLUME_KMSCLIENT channel\n"
    "BETA EXPIRATION: 1601/1/1\n"
    "LICENSE STATUS:  ---LICENSED--- \n"
    "ERROR CODE: 0x4004F040 (for information purposes only as the status is licensed)\n"
    "ERROR DESCRIPTION: The Software Licensing Service reported that the product was activated "
    "but the owner should verify the Product Use Rights.\n"
    "REMAINING GRACE: 179 days  (258642 minute(s) before expiring)\n"
    "Last 5 characters of installed product key: WFG99\n"
    "Activation Type Configuration: ALL\n"
    "\tKMS machine name from DNS: kms01.contoso.com:1688\n"
    "\tActivation Interval: 120 minutes\n"
    "\tRenewal Interval: 10080 minutes\n"
    "\tKMS host caching: Enabled\n"
    "---------------------------------------\n"
    "---------------------------------------\n"
    "---Exiting-----------------------------\n"
)

THREE_PRODUCTS = textwrap.dedent(
    """\
    ---Processing--------------------------
    ---------------------------------------
    SKU ID: 85dd8b5f-eaa4-4af3-a628-cce9e77c9a03
    LICENSE NAME: Office 19, Office19ProPlus2019VL_KMS_Client_AE edition
    LICENSE DESCRIPTION: Office 19, VOLUME_KMSCLIENT channel
    BETA EXPIRATION: 01.01.1601
    LICENSE STATUS:  ---OOB_GRACE---
    ERROR CODE: 0x4004F00C
    ERROR DESCRIPTION: The Software Licensing Service reported that the application is running within the valid grace period.
    REMAINING GRACE: 29 days  (43118 minute(s) before expiring)
    Last 5 characters of installed product key: 6MWKP
    Activation Type Configuration: ALL
    \tDNS auto-discovery: KMS name not available
    \tActivation Interval: 120 minutes
    \tRenewal Interval: 10080 minutes
    \tKMS host caching: Enabled
    ---------------------------------------
    SKU ID: 923fa470-aa71-4b8b-b35c-36b79bf9f44b
    LICENSE NAME: Office 24, Office24VisioStd2024VL_KMS_Client_AE edition
    LICENSE DESCRIPTION: Office 24, VOLUME_KMSCLIENT channel
    BETA EXPIRATION: 1601-01-01
    LICENSE STATUS:  ---NOTIFICATIONS---
    ERROR CODE: 0xC004F009
    ERROR DESCRIPTION: The Software Licensing Service reported that the grace period expired.
    Last 5 characters of installed product key: 7TD3X
    Activation Type Configuration: ALL
    \tDNS auto-discovery: KMS name not available
    \tKMS machine registry override defined: 10.20.30.40:16886
    \tActivation Interval: 120 minutes
    \tRenewal Interval: 10080 minutes
    \tKMS host caching: Disabled
    ---------------------------------------
    SKU ID: b322da9c-a2e2-4058-9e4e-f59a6970bd69
    LICENSE NAME: Office 15, OfficeProPlusR_Retail edition
    LICENSE DESCRIPTION: Office 15, RETAIL channel
    LICENSE STATUS:  ---LICENSED---
    Last 5 characters of installed product key: GVGXT
    ---------------------------------------
    ---------------------------------------
    ---Exiting-----------------------------
    """
)


def _one(text: str):
    doc = parse_status(text)
    assert doc.format == "ospp_dstatus"
    assert len(doc.licenses) == 1
    return doc.licenses[0]


def test_licensed_kms_client_gives_every_field():
    lic = _one(KMS_CLIENT)

    assert lic.name == "Office 16, Office16ProPlusVL_KMS_Client edition"
    assert lic.description == "Office 16, VOLUME_KMSCLIENT channel"
    assert lic.sku_id == "d450596f-894d-49e0-966a-fd39ed4c4c64"
    assert lic.status == "licensed"
    assert lic.error_code == "0x4004F040"
    assert lic.grace_minutes == 258642
    assert lic.last5 == "WFG99"
    assert lic.kms_host is None
    client = lic.kms_client
    assert (client.kms_host, client.kms_port) == ("kms01.contoso.com", 1688)
    assert (client.activation_interval_minutes, client.renewal_interval_minutes) == (120, 10080)
    assert client.cmid is None


def test_several_products_are_separate_licences_with_their_own_kms_block():
    doc = parse_status(THREE_PRODUCTS)

    first, second, third = doc.licenses
    assert (first.status, first.grace_minutes, first.last5) == ("oob_grace", 43118, "6MWKP")
    assert (first.kms_client.kms_host, first.kms_client.kms_port) == (None, None)
    assert first.kms_client.renewal_interval_minutes == 10080
    assert (second.status, second.error_code, second.grace_minutes) == (
        "notification",
        "0xC004F009",
        None,
    )
    # The registry override is the host the client uses.
    assert (second.kms_client.kms_host, second.kms_client.kms_port) == ("10.20.30.40", 16886)
    assert (third.status, third.last5, third.kms_client) == ("licensed", "GVGXT", None)
    assert third.name == "Office 15, OfficeProPlusR_Retail edition"


@pytest.mark.parametrize(
    ("line", "word"),
    [
        ("LICENSE STATUS:  ---UNLICENSED---", "unlicensed"),
        ("LICENSE STATUS:  ---LICENSED---", "licensed"),
        ("LICENSE STATUS:  ---OOB_GRACE---", "oob_grace"),
        ("LICENSE STATUS:  ---OOT_GRACE---", "oot_grace"),
        ("LICENSE STATUS:  ---NON_GENUINE_GRACE---", "non_genuine_grace"),
        ("LICENSE STATUS:  ---NOTIFICATIONS---", "notification"),
        ("LICENSE STATUS:  ---EXTENDED GRACE---", "extended_grace"),
        ("LICENSE STATUS: ---OOB_ GRACE---", "oob_grace"),
        ("LICENSE STATUS:---NON_ GENUINE_ GRACE---", "non_genuine_grace"),
        ("LICENSE STATUS:   ---EXTENDED  GRACE---   ", "extended_grace"),
        ("LICENSE STATUS: ---licensed---", "licensed"),
        ("LICENSE STATUS: \u2014OOT_GRACE\u2014", "oot_grace"),
        ("LICENSE STATUS: \u2013-NOTIFICATIONS\u2013-", "notification"),
    ],
)
def test_each_status_token_maps_to_its_word_and_code(line, word):
    lic = _one(KMS_CLIENT.replace("LICENSE STATUS:  ---LICENSED--- ", line))

    assert lic.status == word
    assert lic.state_code == STATUS_CODES[word]


def test_unknown_token_is_a_null_status():
    assert _one(KMS_CLIENT.replace("---LICENSED---", "---UNKNOWN---")).status is None


def test_unrecognised_token_is_unreadable_with_the_token_in_the_reason():
    with pytest.raises(UnreadableStatusText, match="---BOGUS---"):
        parse_status(KMS_CLIENT.replace("---LICENSED---", "---BOGUS---"))


@pytest.mark.parametrize(
    ("line", "minutes"),
    [
        ("REMAINING GRACE: 179 days  (258642 minute(s) before expiring)", 258642),
        ("REMAINING GRACE: 179 days (258642 minute(s) before expiring)", 258642),
        ("REMAINING GRACE:179 days(258642 minute(s) before expiring)", 258642),
        ("REMAINING GRACE: 0 days  (14 minute(s) before expiring)", 14),
        ("REMAINING GRACE: 1 day  (1440 minute(s) before expiring)", 1440),
        ("REMAINING GRACE: 9 days", None),
    ],
)
def test_remaining_grace_forms(line, minutes):
    text = KMS_CLIENT.replace("REMAINING GRACE: 179 days  (258642 minute(s) before expiring)", line)

    assert _one(text).grace_minutes == minutes


@pytest.mark.parametrize("beta", ["1601/1/1", "1601-01-01", "01.01.1601", "2027/6/30"])
def test_beta_expiration_in_any_locale_is_ignored(beta):
    assert _one(KMS_CLIENT.replace("1601/1/1", beta)) == _one(KMS_CLIENT)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("ERROR CODE: 0xC004F074", "0xC004F074"),
        ("ERROR CODE: 0xc004f014", "0xC004F014"),
        ("ERROR CODE: 0x0", "0x00000000"),
    ],
)
def test_error_code_is_normalised(line, code):
    text = KMS_CLIENT.replace(
        "ERROR CODE: 0x4004F040 (for information purposes only as the status is licensed)", line
    )

    assert _one(text).error_code == code


def test_no_installed_product_keys_is_a_readable_empty_document():
    text = (
        "Microsoft (R) Windows Script Host Version 5.812\n"
        "Copyright (C) Microsoft Corporation. All rights reserved.\n\n"
        "---Processing--------------------------\n"
        "---------------------------------------\n"
        "<No installed product keys detected>\n"
        "---------------------------------------\n"
        "---Exiting-----------------------------\n"
    )

    doc = parse_status(text)

    assert doc.format == "ospp_dstatus"
    assert doc.licenses == ()
    assert doc.to_dict() == {"format": "ospp_dstatus", "licenses": []}


def test_flat_copy_without_separators_still_splits_the_licences():
    flat = "\n".join(
        line.strip() for line in THREE_PRODUCTS.splitlines() if not line.startswith("---")
    )

    assert parse_status(flat) == parse_status(THREE_PRODUCTS)


def test_copy_that_lost_every_line_break_is_still_read():
    # As posted on a blog: the whole run on one line, with a localised banner and notes.
    text = (
        "Microsoft (R) Windows Script Host Version 5.812版权所有(C) Microsoft Corporation。"
        "保留所有权利。---Processing-----------------------------------------------------------------"
        "SKU ID: b322da9c-a2e2-4058-9e4e-f59a6970bd69LICENSE NAME: Office 15, "
        "OfficeProPlusVL_KMS_Client edition\uff08具体版本\uff09LICENSE DESCRIPTION: Office 15, "
        "VOLUME_KMSCLIENT channelBETA EXPIRATION: 1601/1/1LICENSE STATUS:  ---LICENSED---"
        "REMAINING GRACE: 179 days  (258131 minute(s) before expiring)"
        "Last 5 characters of installed product key: GVGXT\uff08这个是激活码的后五位\uff09"
        "Activation Type Configuration: ALL        DNS auto-discovery: KMS name not available"
        "        KMS machine registry override defined: 10.3.0.2:1688        Activation "
        "Interval: 120 minutes        Renewal Interval: 10080 minutes        KMS host caching: "
        "Enabled---------------------------------------------------------------------------"
        "---Exiting-----------------------------"
    )

    lic = _one(text)

    assert lic.sku_id == "b322da9c-a2e2-4058-9e4e-f59a6970bd69"
    assert lic.status == "licensed"
    assert lic.grace_minutes == 258131
    assert lic.last5 == "GVGXT"
    assert (lic.kms_client.kms_host, lic.kms_client.kms_port) == ("10.3.0.2", 1688)
    assert lic.kms_client.renewal_interval_minutes == 10080


def test_blocks_of_other_ospp_commands_pasted_along_are_left_out():
    act = textwrap.dedent(
        """\
        ---Processing--------------------------
        ---------------------------------------
        Installed product key detected - attempting to activate the following product:
        SKU ID: d450596f-894d-49e0-966a-fd39ed4c4c64
        LICENSE NAME: Office 16, Office16ProPlusVL_KMS_Client edition
        LICENSE DESCRIPTION: Office 16, VOLUME_KMSCLIENT channel
        Last 5 characters of installed product key: WFG99
        <Product activation successful>
        ---------------------------------------
        ---Exiting-----------------------------
        """
    )

    doc = parse_status(act + KMS_CLIENT)

    assert len(doc.licenses) == 1
    assert doc.licenses[0].grace_minutes == 258642
    with pytest.raises(UnreadableStatusText, match=r"ospp\.vbs /act"):
        parse_status(act)


def test_wrapped_license_name_is_joined():
    text = KMS_CLIENT.replace(
        "LICENSE NAME: Office 16, Office16ProPlusVL_KMS_Client edition",
        "LICENSE NAME: Office 16,\nOffice16ProPlusVL_KMS_Client edition",
    )

    assert _one(text).name == "Office 16, Office16ProPlusVL_KMS_Client edition"


def test_error_description_wrapped_onto_more_lines_does_not_touch_other_fields():
    text = KMS_CLIENT.replace(
        "but the owner should verify", "but the owner\nshould verify the\nProduct"
    )

    assert _one(text) == _one(KMS_CLIENT)


@pytest.mark.parametrize(
    "transform",
    [
        lambda t: "\n".join(line.strip() for line in t.splitlines()),
        lambda t: t.replace("\t", "        "),
        lambda t: t.replace(" ", "  "),
        lambda t: re.sub(r"[ \t]+", " ", t),
        lambda t: textwrap.indent(t, "    "),
        lambda t: t.replace("\n", "\r\n"),
        lambda t: t.replace("\n", "\r"),
        lambda t: "\ufeff" + t,
    ],
    ids=["flat", "spaces-for-tabs", "doubled", "collapsed", "indented", "crlf", "cr", "bom"],
)
@pytest.mark.parametrize("base", [KMS_CLIENT, THREE_PRODUCTS])
def test_layout_variants_give_the_same_document(base, transform):
    assert parse_status(transform(base)) == parse_status(base)


@pytest.mark.parametrize(
    "banner",
    [
        "Сервер сценариев Windows (Microsoft R) версия 5.812\n"
        "Copyright (C) Корпорация Майкрософт 1996-2006, все права защищены.\n",
        "Microsoft (R) Windows Script Host Version 5.812\n版权所有(C) Microsoft Corporation。保留所有权利。\n",
        "PS C:\\Program Files\\Microsoft Office\\Office16> cscript ospp.vbs /dstatus\n",
    ],
)
def test_localised_banner_and_prompt_are_ignored(banner):
    body = KMS_CLIENT.split("\n", 2)[2]

    assert parse_status(banner + body) == parse_status(KMS_CLIENT)


def test_explicit_ospp_parser_refuses_slmgr_text():
    with pytest.raises(UnreadableStatusText, match="no 'License Status' line found"):
        parse_ospp_dstatus("Name: Windows\nDescription: x\nPartial Product Key: ABCDE\n")


def test_invalid_sku_id_and_last5_are_null():
    text = KMS_CLIENT.replace(
        "SKU ID: d450596f-894d-49e0-966a-fd39ed4c4c64",
        "SKU ID: \uff1f\uff1f\uff1f\uff1f\uff1f-\uff1f\uff1f\uff1f\uff1f\uff1f",
    ).replace("installed product key: WFG99", "installed product key: W9")

    lic = _one(text)

    assert lic.sku_id is None
    assert lic.last5 is None
    assert lic.status == "licensed"
