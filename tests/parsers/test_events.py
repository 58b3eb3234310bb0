"""KMS host event 12290 exports: good rows and bad rows by line number, in every export shape."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licensing.parsers import (
    EventError,
    EventRow,
    parse_12290_export,
    parse_12290_info,
    parse_client_time,
)

pytestmark = pytest.mark.db_free

CMID = "36f27b39-2fd5-440b-be67-a09996d27a38"
SKU = "68531fb9-5511-4989-97be-d11a0f55633f"
GOOD = f"0x0,25,pc042.contoso.com,{CMID},2024/3/1 9:05,1,1,259200,{SKU}"


def _info(**changes: str) -> str:
    fields = dict(
        hresult="0x0",
        count="25",
        fqdn="pc042.contoso.com",
        cmid=CMID,
        time="2024/3/1 9:05",
        vm="1",
        state="1",
        minutes="259200",
        sku=SKU,
    )
    fields.update(changes)
    return ",".join(fields.values())


def test_good_info_string_gives_every_field():
    row = parse_12290_info(GOOD, line=7)

    assert row == EventRow(
        line=7,
        hresult=0,
        min_count=25,
        client_fqdn="pc042.contoso.com",
        cmid=CMID,
        client_time=datetime(2024, 3, 1, 9, 5, tzinfo=UTC),
        is_vm=True,
        license_state=1,
        minutes_to_expiry=259200,
        sku_id=SKU,
    )
    assert row.succeeded is True
    assert row.status == "licensed"
    assert row.to_dict()["hresult"] == "0x00000000"
    assert row.to_dict()["client_time"] == "2024-03-01T09:05:00+00:00"


def test_fields_are_trimmed_and_guids_and_names_normalised():
    text = (
        f" 0xC004F038 , 5 , PC042.Contoso.COM , {{{CMID.upper()}}} , 2024/3/1 9:05 , 0 , 2 ,"
        f" 41520 , {SKU.upper()} "
    )

    row = parse_12290_info(text)

    assert row.hresult_hex == "0xC004F038"
    assert row.succeeded is False
    assert row.client_fqdn == "pc042.contoso.com"
    assert (row.cmid, row.sku_id) == (CMID, SKU)
    assert (row.is_vm, row.license_state, row.status) == (False, 2, "oob_grace")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"hresult": "C004F038"}, "field 1 (HRESULT) must be hexadecimal"),
        ({"hresult": "0xZZ"}, "field 1 (HRESULT) must be hexadecimal"),
        ({"count": "five"}, "field 2 (minimum count) must be a whole number"),
        ({"count": "-5"}, "field 2 (minimum count) must be a whole number"),
        ({"fqdn": ""}, "field 3 (client name) is not a host name"),
        ({"fqdn": "<KMS Client name>"}, "field 3 (client name) is not a host name"),
        ({"cmid": "36f27b39-2fd5-440b-be67"}, "field 4 (CMID) is not a GUID"),
        ({"time": "yesterday"}, "field 5 (client time) is not a date"),
        ({"time": "2024/13/45 9:05"}, "field 5 (client time) is not a date"),
        ({"vm": "2"}, "field 6 (is VM) must be 0 or 1"),
        ({"state": "7"}, "field 7 (licence state) must be 0..6, not 7"),
        ({"state": "x"}, "field 7 (licence state) must be a whole number"),
        ({"minutes": "-10"}, "field 8 (minutes to expiry) must be a whole number"),
        ({"minutes": "12.5"}, "field 8 (minutes to expiry) must be a whole number"),
        ({"sku": "not-a-guid"}, "field 9 (activation ID) is not a GUID"),
    ],
)
def test_each_bad_field_is_reported_with_its_position(changes, reason):
    with pytest.raises(ValueError, match=r"^" + reason.replace("(", r"\(").replace(")", r"\)")):
        parse_12290_info(_info(**changes))


@pytest.mark.parametrize(
    ("info", "found"),
    [(GOOD + ",5", 10), ("0x0,25,pc1", 3)],
)
def test_wrong_field_count_is_reported(info, found):
    with pytest.raises(ValueError, match=f"expected 9 comma-separated fields.*found {found}"):
        parse_12290_info(info)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2010/9/29 21:46", datetime(2010, 9, 29, 21, 46, tzinfo=UTC)),
        ("2010/09/29 17:52", datetime(2010, 9, 29, 17, 52, tzinfo=UTC)),
        ("2010/9/29 21:46:05", datetime(2010, 9, 29, 21, 46, 5, tzinfo=UTC)),
        ("2010-09-29 21:46", datetime(2010, 9, 29, 21, 46, tzinfo=UTC)),
        ("2010-09-29T21:46:00", datetime(2010, 9, 29, 21, 46, tzinfo=UTC)),
        ("2010-09-29T21:46:00Z", datetime(2010, 9, 29, 21, 46, tzinfo=UTC)),
        ("2010-09-29T21:46:00.250Z", datetime(2010, 9, 29, 21, 46, 0, 250000, tzinfo=UTC)),
        ("2010-09-29T23:46:00+02:00", datetime(2010, 9, 29, 21, 46, tzinfo=UTC)),
        ("2010-09-29T16:46:00-0500", datetime(2010, 9, 29, 21, 46, tzinfo=UTC)),
        ("29.09.2010 21:46", None),
        ("2010-09-29T21:46:00+25:00", None),
        ("", None),
    ],
)
def test_client_time_formats(text, expected):
    assert parse_client_time(text) == expected


def test_bare_file_yields_good_rows_and_bad_rows_by_line_number():
    text = "\n".join(
        [
            "# exported from kms01",  # 1: comment
            GOOD,  # 2
            "",  # 3: blank
            _info(state="9"),  # 4
            _info(fqdn="pc043.contoso.com", minutes="41520", state="2"),  # 5
            "garbage",  # 6
            f'"{_info(fqdn="pc044")}"',  # 7: quoted
            f"Info: {_info(fqdn='pc045')}",  # 8: inside other text
        ]
    )

    results = list(parse_12290_export(text.replace("\n", "\r\n")))

    assert [(type(r).__name__, r.line) for r in results] == [
        ("EventRow", 2),
        ("EventError", 4),
        ("EventRow", 5),
        ("EventError", 6),
        ("EventRow", 7),
        ("EventRow", 8),
    ]
    assert "licence state" in results[1].reason
    assert "expected 9" in results[3].reason
    assert [r.client_fqdn for r in results if isinstance(r, EventRow)] == [
        "pc042.contoso.com",
        "pc043.contoso.com",
        "pc044",
        "pc045",
    ]


def test_get_winevent_export_csv_reads_the_message_column_and_skips_other_events():
    message = f"An activation request has been processed.\r\n\r\nInfo:\r\n{GOOD}"
    bad = "An activation request has been processed.\r\n\r\nInfo:\r\n" + _info(cmid="nope")
    text = (
        "#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord\r\n"  # 1
        '"Message","Id","Version","LogName","TimeCreated"\r\n'  # 2
        f'"{message}","12290","0","Key Management Service","3/1/2024 9:05:12 AM"\r\n'  # 3-6
        "\"Publishing the Key Management Service (KMS) to DNS in the 'contoso.com' domain is "
        'successful.","12294","0","Key Management Service","3/1/2024 9:06:00 AM"\r\n'  # 7
        f'"{bad}","12290","0","Key Management Service","3/1/2024 9:07:00 AM"\r\n'  # 8-11
        '"An activation request has been processed.","12290","0","Key Management Service",""\r\n'
    )  # 12

    results = list(parse_12290_export(text))

    assert [(type(r).__name__, r.line) for r in results] == [
        ("EventRow", 3),
        ("EventError", 8),
        ("EventError", 12),
    ]
    assert results[0].cmid == CMID
    assert "field 4 (CMID)" in results[1].reason
    assert "no 12290 info string" in results[2].reason


def test_event_viewer_csv_with_unnamed_message_column():
    text = (
        "Level,Date and Time,Source,Event ID,Task Category\n"
        "Information,3/1/2024 9:05:12 AM,Microsoft-Windows-Security-Licensing-SLC,12290,None,"
        f'"An activation request has been processed.\nInfo:\n{GOOD}"\n'
        "Information,3/1/2024 9:06:12 AM,Microsoft-Windows-Security-Licensing-SLC,12290,None,"
        f'"An activation request has been processed.\nInfo:\n{_info(fqdn="pc050.contoso.com")}"\n'
    )

    results = list(parse_12290_export(text))

    assert [(type(r).__name__, r.line) for r in results] == [("EventRow", 2), ("EventRow", 5)]
    assert results[1].client_fqdn == "pc050.contoso.com"


def test_csv_with_an_info_column_quoted_or_not():
    text = (
        "TimeCreated,Info\n"
        f'2024-03-01T09:05:12Z,"{GOOD}"\n'
        f"2024-03-01T09:06:12Z,{_info(fqdn='pc051')}\n"
        f'2024-03-01T09:07:12Z,"{_info(vm="yes")}"\n'
    )

    results = list(parse_12290_export(text))

    assert [(type(r).__name__, r.line) for r in results] == [
        ("EventRow", 2),
        ("EventRow", 3),
        ("EventError", 4),
    ]
    assert results[1].client_fqdn == "pc051"
    assert "field 6 (is VM)" in results[2].reason


def test_empty_export_yields_nothing():
    assert list(parse_12290_export("")) == []
    assert list(parse_12290_export("\ufeff\r\n  \r\n")) == []


def test_event_error_to_dict_masks_nothing_it_does_not_need_to():
    (error,) = parse_12290_export(_info(state="9"))

    assert isinstance(error, EventError)
    assert error.to_dict()["line"] == 1
    assert error.to_dict()["excerpt"].startswith("0x0,25,pc042.contoso.com")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_arbitrary_export_text_never_raises(text):
    for item in parse_12290_export(text):
        assert isinstance(item, EventRow | EventError)
        assert item.line >= 1
