"""Uploads are bounded and a file that is not what it claims is refused (issue 11)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from licensing.models import Client, ImportRejection, ImportRun
from licensing.services.inventory import events

GOOD = (
    "0x0,5,pc-{n},3f2504e0-4f89-11d3-9a0c-{n:012d},2026/6/14 9:00,0,1,0,"
    "68531fb9-5511-4989-97be-d11a0f55633f"
)


def test_a_file_of_non_events_is_refused_after_the_first_records(org, settings):
    settings.INVENTORY_EVENTS_SNIFF_RECORDS = 50
    text = "\n".join(f"line {n} of something else" for n in range(100_000))
    run = events.import_kms_events(actor="cli", organisation=org, text=text)
    assert run.status == "refused" and "No readable 12290 event in the first 50" in run.message
    assert ImportRejection.objects.count() == 0 and not Client.objects.exists()


def test_an_inventory_csv_uploaded_as_an_event_export_is_refused(as_admin, org):
    csv = b"hostname,edition,license_status\npc-1,Office,1\npc-2,Office,1\npc-3,x,1\npc-4,y,1\n"
    response = as_admin.post(
        reverse("licensing:import_events_upload"),
        {"file": SimpleUploadedFile("inventory.csv", csv, content_type="text/csv")},
        follow=True,
    )
    run = ImportRun.objects.get()
    assert run.status == "refused" and "inventory CSV" in run.message
    assert "Imported" not in response.content.decode()
    assert "Nothing was imported" in response.content.decode()


def test_rejections_kept_are_capped_and_the_count_stays_true(org, settings):
    settings.INVENTORY_REJECTIONS_KEPT = 10
    text = "\n".join([GOOD.format(n=1)] + [f"0x0,5,bad line {n}" for n in range(500)])
    run = events.import_kms_events(actor="cli", organisation=org, text=text)
    assert run.status == "done" and run.created == 1
    assert run.rejected == 500 and ImportRejection.objects.filter(run=run).count() == 10


def test_too_many_event_records_are_refused(org):
    text = "\n".join(GOOD.format(n=n) for n in range(30))
    run = events.import_kms_events(actor="cli", organisation=org, text=text, max_rows=20)
    assert run.status == "refused" and "more than 20 records" in run.message
    assert not Client.objects.exists()


@pytest.mark.parametrize("view", ["import_events_upload", "import_csv_upload"])
def test_an_upload_over_the_byte_limit_is_refused(as_admin, org, settings, view):
    settings.INVENTORY_UPLOAD_MAX_BYTES = 1000
    data = ("hostname\n" + "\n".join(f"pc-{n}" for n in range(500))).encode()
    as_admin.post(
        reverse(f"licensing:{view}"),
        {"file": SimpleUploadedFile("big.txt", data, content_type="text/plain")},
    )
    run = ImportRun.objects.get()
    assert run.status == "refused" and "limit" in run.message and not Client.objects.exists()


def test_a_csv_of_which_no_row_is_readable_is_refused(as_admin, org):
    csv = b"hostname,license_status\n,1\n,2\n"
    as_admin.post(
        reverse("licensing:import_csv_upload"),
        {"file": SimpleUploadedFile("inv.csv", csv, content_type="text/csv")},
    )
    run = ImportRun.objects.get()
    assert run.status == "refused" and "None of the 2 rows" in run.message
