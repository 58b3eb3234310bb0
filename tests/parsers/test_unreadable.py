"""Text the parser cannot read gives UnreadableStatusText with a clear reason, and nothing else:
not a crash, not a half-filled document."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licensing.parsers import (
    UnreadableStatusText,
    parse_ospp_dstatus,
    parse_slmgr_dlv,
    parse_status,
)
from licensing.parsers.text import MAX_STATUS_CHARS

pytestmark = pytest.mark.db_free


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "text is empty"),
        ("   \r\n\t \n", "text is empty"),
        ("\ufeff", "text is empty"),
        ("hello world, this is not a status report", "not slmgr.vbs /dlv or ospp.vbs /dstatus"),
        (
            "hostname,cmid,status,last_contact\npc1,2c7e1a8e-5c4f-4b7e-9a3b-0f0b2d3c4e5f,1,2024-01-01\n",
            "not slmgr.vbs /dlv or ospp.vbs /dstatus",
        ),
        (
            "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
            "<body>License Status: Licensed</body></html>",
            "HTML",
        ),
        ('{"format": "slmgr_dlv", "licenses": []}', "not slmgr.vbs /dlv or ospp.vbs /dstatus"),
        (
            "Name: Windows(R), Enterprise edition\nDescription: Windows\nPartial Product Key: 2YT43\n",
            "no 'License Status' line found",
        ),
        (
            "---Processing--------------------------\n"
            "ERROR CODE: 0x80070005\n"
            "ERROR DESCRIPTION: Access denied\n"
            "---Exiting-----------------------------\n",
            "no 'License Status' line found",
        ),
        ("Lizenzstatus: Lizenziert\nTeilweiser Product Key: 2YT43\n", "not slmgr.vbs"),
    ],
    ids=[
        "empty",
        "whitespace",
        "bom-only",
        "prose",
        "csv",
        "html",
        "json",
        "slmgr-no-status",
        "ospp-error-only",
        "localised-labels",
    ],
)
def test_unreadable_text_gives_the_reason(text, reason):
    with pytest.raises(UnreadableStatusText) as caught:
        parse_status(text)

    assert reason in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_reason_never_contains_a_full_product_key():
    key = "NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP"
    text = f"Name: Office\nDescription: x\nLicense Status: {key}\n"

    with pytest.raises(UnreadableStatusText) as caught:
        parse_status(text)

    assert key not in caught.value.reason
    assert "NMMKJ" not in caught.value.reason
    assert "6MWKP" in caught.value.reason  # the last five are not secret


def test_text_larger_than_any_status_output_is_refused_before_parsing():
    with pytest.raises(UnreadableStatusText, match="too large"):
        parse_status("License Status: Licensed\n" * (MAX_STATUS_CHARS // 10))


@pytest.mark.parametrize("value", [None, b"License Status: Licensed", 42])
def test_non_string_input_is_unreadable(value):
    with pytest.raises(UnreadableStatusText, match="must be a string"):
        parse_status(value)


# --- property: arbitrary text never raises anything but UnreadableStatusText --------------------

_FRAGMENTS = [
    "Name: ",
    "Description: ",
    "License Status: ",
    "LICENSE STATUS:  ---",
    "---",
    "LICENSED",
    "OOB_ GRACE",
    "EXTENDED GRACE",
    "Licensed",
    "Initial grace period",
    "Notification",
    "Current count: ",
    "4294967295",
    "-1",
    "Listening on Port: ",
    "99999999999",
    "Requests with License Status ",
    "Total requests received: ",
    "KMS machine name from DNS: ",
    "KMS machine registry override defined: ",
    "[::1]:1688",
    "host:port:1688",
    "REMAINING GRACE: ",
    " days  (",
    " minute(s) before expiring)",
    "ERROR CODE: 0x",
    "Notification Reason: 0x",
    "Last 5 characters of installed product key: ",
    "SKU ID: ",
    "Activation ID: ",
    "Client Machine ID (CMID): ",
    "2c7e1a8e-5c4f-4b7e-9a3b-0f0b2d3c4e5f",
    "Volume activation expiration: ",
    "<No installed product keys detected>",
    "---Processing-----",
    "-----------------",
    "Activation interval: ",
    " minutes",
    "\t",
    "\r\n",
    "\n",
    "\r",
    " ",
    "_ ",
    "\ufeff",
    "\x00",
    "ǅ",
    "\u212a",
]

_status_like = st.lists(
    st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=12), st.integers().map(str)),
    max_size=60,
).map("".join)


def _parse_everything(text: str) -> None:
    for parser in (parse_status, parse_slmgr_dlv, parse_ospp_dstatus):
        try:
            doc = parser(text)
        except UnreadableStatusText as exc:
            assert exc.reason
        else:
            data = doc.to_dict()
            assert data["format"] in ("slmgr_dlv", "ospp_dstatus")
            for lic in doc.licenses:
                assert lic.status is None or 0 <= lic.state_code <= 6


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=3000))
def test_arbitrary_text_raises_only_unreadable_status_text(text):
    _parse_everything(text)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_status_like)
def test_text_made_of_status_fragments_raises_only_unreadable_status_text(text):
    _parse_everything(text)
