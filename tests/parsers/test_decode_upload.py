"""decode_upload: the encodings Windows tools and browsers hand us, and never an exception."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licensing.parsers import decode_upload, parse_status
from tests.samples import SAMPLES

pytestmark = pytest.mark.db_free

TEXT = "Name: Office 16 \u2013 café\r\nLicense Status: Licensed\r\n"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
        TEXT.encode("utf-16"),  # native order with BOM, as PowerShell's `>` writes
        TEXT.encode("utf-16-le"),  # BOM stripped by some tool
        TEXT.encode("utf-16-be"),
        codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"),
        TEXT.encode("cp1252"),
    ],
    ids=[
        "utf8",
        "utf8-bom",
        "utf16le-bom",
        "utf16be-bom",
        "utf16",
        "utf16le",
        "utf16be",
        "utf32le-bom",
        "cp1252",
    ],
)
def test_each_encoding_decodes_to_the_same_text(data):
    assert decode_upload(data) == TEXT


def test_undefined_cp1252_bytes_become_replacement_characters():
    assert decode_upload(b"License\x81 Status") == "License\ufffd Status"


def test_utf16_sample_file_parses_like_the_utf8_one():
    text = (SAMPLES / "slmgr-dlv-office2016-kms-host-msdocs.txt").read_text(encoding="utf-8")

    assert parse_status(decode_upload(text.encode("utf-16"))) == parse_status(text)


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_always_decode(data):
    assert isinstance(decode_upload(data), str)
