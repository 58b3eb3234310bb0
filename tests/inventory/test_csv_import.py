"""CSV import: every row checked, bad rows reported, bad files refused with nothing written,
set-based at 100,000 rows."""

from __future__ import annotations

import io
import threading
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from licensing.models import Client, ClientFlagChange, ImportRun
from licensing.services.inventory import csv_import, runs, upsert
from tests import factories

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
    with django_assert_max_num_queries(40):  # a fixed number of statements, not one per row
        run = run_csv(org, data)
    assert (run.status, run.created, run.rejected) == ("done", 100_000, 0)
    assert Client.objects.filter(organisation=org).count() == 100_000
    assert Client.objects.filter(compliance_flag="").count() == 0
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


# --- chunks: the file is merged in chunks while the next one is read (csv_import's docstring) ---

MIXED = (
    "hostname,activation_method,license_status,last_renewal_at,installed_at\n"
    "pc-01,kms,1,2026-06-10T00:00:00Z,2025-01-01\n"  # line 2
    "pc-02,kms,1,2025-11-01T00:00:00Z,2025-01-01\n"
    "pc-02,kms,1,2026-06-01T00:00:00Z,2025-01-01\n"  # the same chunk: line 4 wins
    "pc-03,mak,licensed,,2025-01-01\n"
    "bad host,kms,1,,\n"
    "pc-04,kms,1,2026-01-20T00:00:00Z,2025-01-01\n"
    "pc-05,kms,0,,2025-01-01\n"
    "pc-06,kms,1,2025-12-01T00:00:00Z,2025-01-01\n"
    "pc-07,kms,1,2026-06-14T00:00:00Z,2025-01-01\n"
    "pc-08,kms,9,,\n"
    "pc-09,kms,1,2026-02-01T00:00:00Z,2025-01-01\n"
)


def _stored(org):
    return sorted(
        Client.objects.filter(organisation=org).values_list(
            "hostname",
            "activation_method",
            "license_status",
            "last_renewal_at",
            "compliance_flag",
            "renewal_deadline",
        )
    )


def _history(org):
    return Counter(
        ClientFlagChange.objects.filter(organisation=org).values_list(
            "client__hostname", "from_flag", "to_flag"
        )
    )


def _summary(run):
    rejections = list(run.rejections.order_by("position").values_list("position", "reason"))
    return (run.status, run.received, run.created, run.updated, run.unchanged, run.rejected), (
        rejections
    )


def _import_both_ways(org, other_org, monkeypatch, text, chunk_rows):
    """The file imported in chunks of `chunk_rows` into `org` and as one chunk into `other_org`."""
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", chunk_rows)
    chunked = run_csv(org, text)
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 10**6)
    whole = run_csv(other_org, text)
    return chunked, whole


def _no_reader_left():
    return not any(t.name == "csv-import-reader" for t in threading.enumerate())


def test_a_file_merged_in_chunks_stores_what_one_merge_stores(frozen, org, other_org, monkeypatch):
    chunked, whole = _import_both_ways(org, other_org, monkeypatch, MIXED, chunk_rows=3)
    assert _summary(chunked) == _summary(whole)
    assert _summary(chunked)[0] == ("done", 11, 8, 0, 0, 3)
    assert (4, "hostname repeated on line 3, which was used") not in _summary(chunked)[1]
    assert (3, "hostname repeated on line 4, which was used") in _summary(chunked)[1]
    assert _stored(org) == _stored(other_org) and len(_stored(org)) == 8
    assert _history(org) == _history(other_org)
    assert set(_history(org)) == {("pc-05", "", "unlicensed"), ("pc-06", "", "expired")}
    # Re-sent in chunks, it changes nothing.
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 3)
    again = run_csv(org, MIXED)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 8)
    assert _no_reader_left()


def test_a_hostname_repeated_in_a_later_chunk_is_merged_as_if_in_one(
    frozen, org, other_org, monkeypatch, caplog
):
    # pc-01 comes back on line 13 (a later chunk of 3 rows), unlicensed: that line wins, once.
    text = MIXED + "pc-01,kms,0,,2025-01-01\n"
    with caplog.at_level("INFO", logger=csv_import.__name__):
        chunked, whole = _import_both_ways(org, other_org, monkeypatch, text, chunk_rows=3)
    assert "pc-01 repeats a line of a chunk already merged" in caplog.text
    assert _summary(chunked) == _summary(whole)
    assert (2, "hostname repeated on line 13, which was used") in _summary(chunked)[1]
    assert _stored(org) == _stored(other_org)
    assert Client.objects.get(organisation=org, hostname="pc-01").license_status == 0
    assert _history(org) == _history(other_org)
    assert ImportRun.objects.filter(organisation=org).count() == 1
    assert _no_reader_left()


class _Pipe(io.BytesIO):
    """A stream that cannot be read twice (stdin, a socket)."""

    def seekable(self) -> bool:
        return False


def test_a_stream_that_cannot_be_read_again_is_merged_as_one_chunk(frozen, org, monkeypatch):
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 3)
    text = MIXED + "pc-01,kms,0,,2025-01-01\n"
    run = csv_import.import_csv(
        actor="cli", organisation=org, stream=_Pipe(text.encode()), filename="pipe.csv"
    )
    assert (run.status, run.created, run.rejected) == ("done", 8, 4)
    assert Client.objects.get(organisation=org, hostname="pc-01").license_status == 0


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        ("pc-10,kms,1,,\npc-11,kms,1,,\n", "more than 12 rows"),
        ("pc-10,kms,1,,\npc-\xe9t\xe9,kms,1,,\n", "not UTF-8"),
    ],
)
def test_a_file_refused_after_some_chunks_were_merged_writes_nothing(
    frozen, org, monkeypatch, tail, reason
):
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 2)
    data = MIXED.encode() + tail.encode("latin-1")
    run = run_csv(org, data, max_rows=12)
    assert run.status == "refused" and reason in run.message
    assert not Client.objects.exists() and not ClientFlagChange.objects.exists()
    assert ImportRun.objects.get().status == "refused"
    assert _no_reader_left()


def _client_tuples_read(cursor) -> int:
    """Rows of licensing_client this transaction has read so far, by any scan."""
    cursor.execute(
        "SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0)"
        " FROM pg_stat_xact_user_tables WHERE relname = 'licensing_client'"
    )
    return cursor.fetchone()[0]


def _organisation_of(org, clients: int) -> None:
    """`clients` more clients of `org`, pc-000001 and on, copied from one made by the factory."""
    template = factories.ClientFactory(organisation=org, hostname="template")
    columns = [f.column for f in Client._meta.concrete_fields if f.column not in ("id", "hostname")]
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO licensing_client (hostname, {names}) SELECT 'pc-' || lpad(i::text, 6, "
            f"'0'), {names} FROM licensing_client, generate_series(1, %s) i WHERE id = %s",
            [clients, template.pk],
        )


def test_a_large_chunk_looks_up_its_stored_clients_by_key_not_by_reading_the_organisation(org):
    """The lock before a merge finds the staged hostnames' clients one key at a time: what it
    reads follows the chunk, not the organisation, even where PostgreSQL's own choice after the
    chunk's ANALYZE would read every client of the organisation."""
    _organisation_of(org, 20_000)
    with connection.cursor() as cursor:
        upsert.create_stage(cursor)
        cursor.execute(
            "INSERT INTO inventory_stage (idx, hostname)"
            # New hostnames spread over the organisation's (pc-000004-new, ...).
            " SELECT i, 'pc-' || lpad((4 * i)::text, 6, '0') || '-new'"
            " FROM generate_series(1, 5000) i"
        )
        cursor.execute("ANALYZE licensing_client")
        cursor.execute("ANALYZE inventory_stage")
        params = {"org": org.pk}

        before = _client_tuples_read(cursor)
        cursor.execute(upsert.LOCK_SQL, params)  # PostgreSQL's own plan
        assert _client_tuples_read(cursor) - before >= 20_000

        before = _client_tuples_read(cursor)
        upsert.lock_batch(cursor, params)
        assert _client_tuples_read(cursor) - before < 5_000
        cursor.execute("SELECT count(*) FROM inventory_locked")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SHOW enable_hashjoin")
        assert cursor.fetchone()[0] == "on"  # the settings ended with the lock


def test_a_chunk_of_updates_writes_its_clients_by_key_not_by_reading_the_table(org):
    """The merge updates a chunk's known clients by primary key: the rows it reads follow the
    chunk, where PostgreSQL's own choice after the chunk's ANALYZE reads the whole table."""
    _organisation_of(org, 20_000)
    rows = "".join(f"pc-{4 * i:06d},kms,licensed,2026-06-01T00:00:00Z\n" for i in range(1, 5001))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE licensing_client")
        before = _client_tuples_read(cursor)
        run = run_csv(org, "hostname,activation_method,license_status,last_renewal_at\n" + rows)
        read = _client_tuples_read(cursor) - before
    assert (run.status, run.updated) == ("done", 5000)
    # The lock and the update probe 5,000 keys each; the whole table is 20,001 rows.
    assert read <= 10_000
