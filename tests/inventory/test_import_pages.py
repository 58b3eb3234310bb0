"""Import pages: permissions, upload, history, rejection report."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from licensing.models import AuditEvent, Client, ImportRun

pytestmark = pytest.mark.django_db

CSV = b"hostname,license_status,last_renewal_at\npc-1,1,2026-06-01\nbad host,1,\n"


def upload(client, data=CSV, name="inv.csv"):
    return client.post(
        reverse("licensing:import_csv_upload"),
        {"file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )


def test_admin_uploads_a_csv_and_sees_the_result(as_admin, org):
    r = upload(as_admin)
    run = ImportRun.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse(
        "licensing:import_detail", args=[run.pk]
    )
    page = as_admin.get(r["Location"])
    assert (
        page.status_code == 200
        and b"bad host" in page.content
        and b"Download the report" in page.content
    )
    assert Client.objects.filter(organisation=org).count() == 1
    report = as_admin.get(reverse("licensing:import_rejections_csv", args=[run.pk]))
    assert b"bad host" in b"".join(report.streaming_content)
    listing = as_admin.get(reverse("licensing:import_list"))
    assert (
        listing.status_code == 200
        and b"Import CSV" in listing.content
        and b"inv.csv" in listing.content
    )


def test_a_refused_file_shows_why(as_admin):
    r = upload(as_admin, b"hostname,license_status\npc-1,1\n\xff\n")
    page = as_admin.get(r["Location"], follow=True)
    assert b"not UTF-8" in page.content and not Client.objects.exists()


def test_a_file_with_other_column_names_goes_to_the_column_mapping(as_admin):
    # Unknown names are no longer refused: the file is previewed and its columns mapped
    # (tests/inventory/test_csv_mapping.py).
    r = upload(as_admin, b"colour\nred\n")
    assert "/imports/csv/map/" in r["Location"] and not ImportRun.objects.exists()


def test_an_auditor_cannot_import(as_auditor):
    assert upload(as_auditor).status_code == 403
    assert not Client.objects.exists() and not ImportRun.objects.exists()
    page = as_auditor.get(reverse("licensing:import_list"))
    assert page.status_code == 200 and b"Import CSV" not in page.content


def test_an_outsider_never_sees_anothers_import(as_admin, as_outsider):
    upload(as_admin)
    run = ImportRun.objects.get()
    assert as_outsider.get(reverse("licensing:import_detail", args=[run.pk])).status_code == 404
    assert (
        as_outsider.get(reverse("licensing:import_rejections_csv", args=[run.pk])).status_code
        == 404
    )


def test_older_history_comes_as_an_htmx_fragment(as_admin, settings):
    for _ in range(3):
        upload(as_admin)
    from licensing.views import inventory as views

    views.PAGE_SIZE = 2
    try:
        page = as_admin.get(reverse("licensing:import_list"))
        assert b"Older imports" in page.content
        oldest = ImportRun.objects.order_by("id").first()
        frag = as_admin.get(
            reverse("licensing:import_list") + f"?before={oldest.pk + 1}", HTTP_HX_REQUEST="true"
        )
        assert b"<html" not in frag.content and b"import-history" in frag.content
    finally:
        views.PAGE_SIZE = 50


def test_the_12290_upload_imports_events(as_admin, org):
    data = b'"Info"\n"0x0,5,pc-5.contoso.test,36f27b39-2fd5-440b-be67-a09996d27a38,2026/6/14 9:00,0,1,0,68531fb9-5511-4989-97be-d11a0f55633f"\n'
    r = as_admin.post(
        reverse("licensing:import_events_upload"),
        {"file": SimpleUploadedFile("events.csv", data)},
    )
    assert r.status_code == 302
    assert Client.objects.get(hostname="pc-5").last_renewal_at is not None


def test_the_rejection_report_downloads_under_debug_too(as_admin, org, settings):
    # DEBUG=1 (make run) wraps cursors in CursorDebugWrapper, whose copy() takes no params.
    upload(as_admin)
    run = ImportRun.objects.get()
    settings.DEBUG = True
    report = as_admin.get(reverse("licensing:import_rejections_csv", args=[run.pk]))
    assert b"bad host" in b"".join(report.streaming_content)


def test_the_rejection_report_goes_through_the_one_export_path(as_admin, org):
    formula = b"hostname,license_status\n=HYPERLINK(1),1\n-2+3,1\ngood-host,1\n"
    run = ImportRun.objects.get(pk=upload(as_admin, data=formula)["Location"].split("/")[-2])
    response = as_admin.get(reverse("licensing:import_rejections_csv", args=[run.pk]))
    assert response.status_code == 200 and response.streaming
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert f"{org.slug}-import-rejections-{run.pk}-" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert list(rows[0]) == ["line_or_index", "hostname", "reason", "raw"]
    assert [r["line_or_index"] for r in rows] == ["2", "3"]
    # A spreadsheet would run these as formulas: every text cell starting so gets a quote.
    assert rows[0]["raw"].startswith("'=HYPERLINK(1)") and rows[1]["raw"].startswith("'-2+3")
    event = AuditEvent.objects.get(action="export.import-rejections")
    assert event.organisation_id == org.pk and event.object_id == str(run.pk)
    assert event.changes["columns"] == ["line_or_index", "hostname", "reason", "raw"]
