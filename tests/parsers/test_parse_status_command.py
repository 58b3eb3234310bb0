"""`manage.py parse_status FILE`: one JSON object on stdout, or exit status 2 with the reason on
stderr. Run as a real process (exit status and streams as a script sees them) and through
call_command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.samples import SAMPLES

pytestmark = pytest.mark.db_free

ROOT = Path(__file__).resolve().parents[2]
OSPP = SAMPLES / "ospp-dstatus-office365-oobgrace-full-mas-issue269.txt"
SLMGR = SAMPLES / "slmgr-dlv-office2016-kms-host-msdocs.txt"


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "manage.py", "parse_status", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
    )


def test_command_prints_one_json_object_for_the_kms_host_sample():
    done = _run(str(SLMGR))

    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["format"] == "slmgr_dlv"
    (lic,) = data["licenses"]
    assert lic["status"] == "licensed"
    assert lic["last5"] == "KDQ2G"
    assert lic["sku_id"] == "98ebfe73-2084-4c97-932c-c0cd1643bea7"
    assert lic["kms_host"]["port"] == 1688
    assert lic["kms_host"]["dns_publishing"] is True
    assert lic["kms_host"]["requests_by_status"]["oot_grace"] == 0
    assert lic["kms_client"] is None
    assert done.stderr == b""


def test_command_exits_2_with_the_reason_on_stderr_for_garbage(tmp_path):
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n not a status report at all")

    done = _run(str(garbage))

    assert done.returncode == 2
    assert done.stdout == b""
    assert b"not slmgr.vbs /dlv or ospp.vbs /dstatus output" in done.stderr


def test_command_reads_utf16_output_from_stdin():
    text = OSPP.read_text(encoding="utf-8").replace("\n", "\r\n")

    done = _run("-", stdin=text.encode("utf-16"))

    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["format"] == "ospp_dstatus"
    assert data["licenses"][0]["grace_minutes"] == 14316


def test_call_command_output_is_stable_indented_json():
    out = StringIO()

    call_command("parse_status", str(OSPP), stdout=out)

    text = out.getvalue()
    data = json.loads(text)
    assert text.startswith('{\n  "format": "ospp_dstatus",\n  "licenses": [')
    assert data["licenses"][0]["status"] == "oob_grace"
    assert data["licenses"][0]["error_code"] == "0x4004F00C"


def test_call_command_raises_command_error_with_returncode_2_for_empty_file(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")

    with pytest.raises(CommandError) as caught:
        call_command("parse_status", str(empty), stdout=StringIO())

    assert caught.value.returncode == 2
    assert "text is empty" in str(caught.value)


def test_missing_file_is_a_command_error_not_a_traceback(tmp_path):
    with pytest.raises(CommandError, match="cannot open"):
        call_command("parse_status", str(tmp_path / "nope.txt"), stdout=StringIO())
