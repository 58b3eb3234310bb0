"""CSV import: every row checked, bad rows reported, bad files refused with nothing written,
set-based at 100,000 rows."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import CommandError, call_command

from licensing.models import Client, ClientFlagChange, ImportRun
from licensing.services.inventory import csv_import, runs

pytestmark = pytest.mark.django_db

GOOD = (
    "hostname,activation_method,license_status,last_renewal_at,installed_at\n"
    "PC-1,kms,licensed,2026-06-01T00:00:00Z,2025-01-01\n"
    "pc-2,kms,1,2025-12-01T00:00:00Z,2025-01-01\n"
    "pc-3,mak,licensed,,2025-01-01\n"
)


def run_csv(org, text, **kw):
    data = text.encode() if isinstance(text, str) else text
    return csv_import.import_csv(
        actor="cli", organisation=org, stream=io.BytesIO(data), filename="t.csv", **kw
    )


def test_good_rows_are_imported_and_bad_rows_reported_with_the_line_and_reason(frozen, org):
    text = GOOD + "bad host,kms,1,,\npc-4,kms,9,,\npc-5,kms,1\npc-6,kms,1,2026-13-01,\n\n"
    run = run_csv(org, text)
    assert (run.status, run.received, run.created, run.rejected) == ("done", 7, 3, 4)
    reasons = dict(run.rejections.values_list("position", "reason"))
    assert set(reasons) == {5, 6, 7, 8}
    assert "host name" in reasons[5] and "between 0 and 6" in reasons[6]
    assert "expected 5 fields" in reasons[7] and "ISO 8601" in reasons[8]
    report = b"".join(runs.rejected_rows_csv(run)).decode()
    assert report.splitlines()[0] == "line_or_index,hostname,reason,raw"
    assert "bad host,kms,1,," in report
    assert Client.objects.get(hostname="pc-2").compliance_flag == "expired"


def test_re_importing_the_same_file_changes_nothing(frozen, org):
    run_csv(org, GOOD)
    before = list(Client.objects.order_by("id").values())
    history = ClientFlagChange.objects.count()
    run = run_csv(org, GOOD)
    assert (run.created, run.updated, run.unchanged) == (0, 0, 3)
    assert list(Client.objects.order_by("id").values()) == before
    assert ClientFlagChange.objects.count() == history


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"hostname,license_status\n", "no rows"),
        (b"host,colour\npc-1,red\n", "Unknown column"),
        (b"fqdn,license_status\npc-1.x,1\n", "no 'hostname' column"),
        (b"hostname,hostname\npc-1,pc-1\n", "twice"),
        (b"hostname,license_status\npc-1,1\npc-\xe9t\xe9,1\n", "not UTF-8"),
        ("hostname,license_status\npc-1,1\n".encode("utf-16"), "not UTF-8"),
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_written(org, data, reason):
    run = run_csv(org, data)
    assert run.status == "refused" and reason in run.message
    assert not Client.objects.exists() and not ClientFlagChange.objects.exists()
    assert ImportRun.objects.get().status == "refused"


def test_a_row_with_a_nul_byte_is_rejected_with_a_readable_report(org):
    run = run_csv(org, b"hostname,license_status\npc-1,1\npc-\x002,1\n")
    assert (run.created, run.rejected) == (1, 1)
    assert "\\0" in run.rejections.get().raw


def test_a_file_with_too_many_rows_is_refused_whole(org):
    text = "hostname\n" + "".join(f"pc-{i}\n" for i in range(11))
    run = run_csv(org, text, max_rows=10)
    assert run.status == "refused" and "more than 10 rows" in run.message
    assert not Client.objects.exists()


def test_a_huge_file_is_refused_before_reading(org, settings):
    settings.INVENTORY_CSV_MAX_BYTES = 100
    run = run_csv(org, GOOD + "x" * 200)
    assert run.status == "refused" and "limit" in run.message and not Client.objects.exists()


def test_a_csv_of_100000_rows_is_imported_set_based(org, django_assert_max_num_queries):
    lines = ["hostname,activation_method,license_status,last_renewal_at,cmid"]
    lines += [
        f"ws-{i:06d},kms,1,2026-0{1 + i % 6}-15T00:00:00Z,{i:08x}-0000-4000-8000-{i:012x}"
        for i in range(100_000)
    ]
    data = ("\n".join(lines) + "\n").encode()
    started = time.monotonic()
    with django_assert_max_num_queries(40):  # a fixed number of statements, not one per row
        run = run_csv(org, data)
    seconds = time.monotonic() - started
    assert (run.status, run.created, run.rejected) == ("done", 100_000, 0)
    assert Client.objects.filter(organisation=org).count() == 100_000
    assert Client.objects.filter(compliance_flag="").count() == 0
    assert seconds < 120
    again = run_csv(org, data)
    assert again.unchanged == 100_000 and again.created == again.updated == 0


def test_the_management_command_imports_a_file_and_writes_the_report(tmp_path, org):
    path = tmp_path / "inv.csv"
    path.write_text(GOOD + "bad host,kms,1,,\n")
    out = io.StringIO()
    report = tmp_path / "rejected.csv"
    call_command("import_inventory", org.slug, str(path), "--report", str(report), stdout=out)
    assert "3 created" in out.getvalue() and "1 rejected" in out.getvalue()
    assert "bad host" in report.read_text()


def test_the_management_command_fails_loudly_on_a_refused_file(tmp_path, org):
    path = tmp_path / "inv.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError, match="empty"):
        call_command("import_inventory", org.slug, str(path), stdout=io.StringIO())
