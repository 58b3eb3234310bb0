"""CSV files with their own column names: preview, suggested mapping, remembered per
organisation, licence-state words, and the import through the one csv_import service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from licensing.models import AuditEvent, Client, CsvColumnMapping, CsvUpload, ImportRun
from licensing.services.inventory import csv_mapping
from licensing.services.inventory.records import STATUS_WORDS

pytestmark = pytest.mark.django_db

# SCCM/MECM query export (v_R_System joined with SoftwareLicensingProduct).
SCCM = (
    b"Name0,Full_Domain_Name0,LicenseStatus0,GracePeriodRemaining0,ResourceID\r\n"
    b"PC-0001,contoso.local,1,0,16777220\r\n"
    b"PC-0002,contoso.local,5,0,16777221\r\n"
)
# Lansweeper report export.
LANSWEEPER = (
    b"AssetName,FQDN,Lastseen,License Status,Domain\r\n"
    b"LT-0100,lt-0100.contoso.local,2026-11-20 08:30:00,Licensed,CONTOSO\r\n"
)
# A Norwegian spreadsheet (Excel "CSV UTF-8", with BOM).
NORWEGIAN = (
    "\ufeffMaskinnavn;Lisensstatus;Sist sett;Merknad\r\n".replace(";", ",").encode()
    + b"pc-oslo-1,Lisensiert,2026-11-01T10:00:00Z,ok\r\n"
    + b"pc-oslo-2,Ikke lisensiert,,\r\n"
    + b"pc-oslo-3,Varsling,,\r\n"
)


def upload(client, data, name="export.csv", **extra):
    return client.post(
        reverse("licensing:import_csv_upload"),
        {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **extra},
    )


def header_of(data: bytes) -> list[str]:
    return csv_mapping.read_preview(data, rows=0)[0]


# --- suggestions from names -------------------------------------------------------------------


def test_sccm_headers_are_suggested(org):
    assert csv_mapping.suggestions(org, header_of(SCCM)) == [
        "hostname",
        "fqdn",
        "license_status",
        "grace_minutes",
        "",
    ]


def test_lansweeper_headers_are_suggested(org):
    assert csv_mapping.suggestions(org, header_of(LANSWEEPER)) == [
        "hostname",
        "fqdn",
        "last_seen_at",
        "license_status",
        "",
    ]


def test_norwegian_headers_are_suggested(org):
    assert csv_mapping.suggestions(org, header_of(NORWEGIAN)) == [
        "hostname",
        "license_status",
        "last_seen_at",
        "",
    ]


@pytest.mark.parametrize("name", ["Computer Name", "Name0", "ComputerName", "Hostname"])
def test_hostname_spellings(name):
    assert csv_mapping.suggest_field(name) == "hostname"


@pytest.mark.parametrize("name", ["License Status", "Lisensstatus", "LicenseStatus"])
def test_licence_state_spellings(name):
    assert csv_mapping.suggest_field(name) == "license_status"


def test_a_field_is_suggested_for_its_first_column_only(org):
    assert csv_mapping.suggestions(org, ["Name0", "Computer Name", "Status"]) == [
        "hostname",
        "",
        "license_status",
    ]


# --- licence-state values (records.STATUS_WORDS, the one mapping) ------------------------------


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("licensed", 1),
        ("lisensiert", 1),
        ("lizenziert", 1),
        ("ikke_lisensiert", 0),
        ("not_licensed", 0),
        ("nicht_lizenziert", 0),
        ("varsling", 5),
        ("oob_grace_period", 2),
        ("non_genuine", 4),
    ],
)
def test_state_words(word, code):
    assert STATUS_WORDS[word] == code


def test_state_values_reach_the_clients(as_admin, org):
    token = upload(as_admin, NORWEGIAN)["Location"].rstrip("/").split("/")[-1]
    r = as_admin.post(
        reverse("licensing:import_csv_map", args=[token]),
        {"col_0": "hostname", "col_1": "license_status", "col_2": "last_seen_at", "col_3": ""},
    )
    assert r.status_code == 302
    states = dict(Client.objects.filter(organisation=org).values_list("hostname", "license_status"))
    assert states == {"pc-oslo-1": 1, "pc-oslo-2": 0, "pc-oslo-3": 5}


# --- the pages: preview, mapping, import ------------------------------------------------------


def test_a_file_with_its_own_names_gets_a_preview_with_suggestions(as_admin, org):
    r = upload(as_admin, SCCM, name="sccm.csv")
    assert r.status_code == 302 and "/imports/csv/map/" in r["Location"]
    assert not ImportRun.objects.exists() and not Client.objects.exists()
    page = as_admin.get(r["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "PC-0002" in html and "16777221" in html
    assert page.context["form"]["col_0"].value() == "hostname"
    assert page.context["form"]["col_4"].value() == ""


def test_the_preview_shows_the_first_ten_rows(as_admin):
    rows = b"".join(f"pc-{i:03d},1\r\n".encode() for i in range(25))
    r = upload(as_admin, b"Name0,LicenseStatus0\r\n" + rows)
    page = as_admin.get(r["Location"])
    assert len(page.context["rows"]) == 10
    assert b"pc-009" in page.content and b"pc-010" not in page.content


def test_end_to_end_import_through_the_mapping(as_admin, org):
    r = upload(as_admin, SCCM, name="sccm.csv")
    done = as_admin.post(
        r["Location"],
        {"col_0": "hostname", "col_1": "", "col_2": "license_status", "col_3": "grace_minutes"},
    )
    run = ImportRun.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse(
        "licensing:import_detail", args=[run.pk]
    )
    assert (run.status, run.created, run.rejected, run.filename) == ("done", 2, 0, "sccm.csv")
    clients = dict(
        Client.objects.filter(organisation=org).values_list("hostname", "license_status")
    )
    assert clients == {"pc-0001": 1, "pc-0002": 5}
    assert not CsvUpload.objects.exists()  # the kept file is gone once imported


def test_bad_rows_are_rejected_with_the_files_line_numbers(as_admin, org):
    data = b"Hostname,Status,Extra\r\npc-1,Licensed,x\r\nbad host,Licensed,x\r\npc-3,Wrong,x\r\n"
    r = upload(as_admin, data)
    as_admin.post(r["Location"], {"col_0": "hostname", "col_1": "license_status", "col_2": ""})
    run = ImportRun.objects.get()
    assert (run.created, run.rejected) == (1, 2)
    assert list(run.rejections.order_by("position").values_list("position", flat=True)) == [3, 4]


def test_no_hostname_mapped_is_a_clear_400(as_admin):
    r = upload(as_admin, LANSWEEPER)
    page = as_admin.post(
        r["Location"], {"col_0": "", "col_1": "fqdn", "col_2": "", "col_3": "", "col_4": ""}
    )
    assert page.status_code == 400
    assert "Map one column to Hostname" in page.content.decode()
    assert not ImportRun.objects.exists() and CsvUpload.objects.count() == 1


def test_a_field_mapped_twice_is_a_400_on_that_column(as_admin):
    r = upload(as_admin, LANSWEEPER)
    page = as_admin.post(
        r["Location"],
        {"col_0": "hostname", "col_1": "hostname", "col_2": "", "col_3": "", "col_4": ""},
    )
    assert page.status_code == 400
    assert "already mapped" in " ".join(page.context["form"].errors["col_1"])
    assert not ImportRun.objects.exists()


def test_an_unknown_field_value_is_a_400(as_admin):
    r = upload(as_admin, LANSWEEPER)
    page = as_admin.post(r["Location"], {"col_0": "password", "col_1": "hostname"})
    assert page.status_code == 400 and not ImportRun.objects.exists()


# --- remembered per organisation ---------------------------------------------------------------


def test_the_mapping_is_remembered_audited_and_preselected(as_admin, org):
    data = b"Device,Zustand,Note\r\npc-1,Licensed,x\r\n"
    first = upload(as_admin, data)
    assert as_admin.get(first["Location"]).context["form"]["col_1"].value() == ""
    as_admin.post(first["Location"], {"col_0": "hostname", "col_1": "license_status", "col_2": ""})
    remembered = dict(
        CsvColumnMapping.objects.filter(organisation=org).values_list("column", "field")
    )
    assert remembered == {"device": "hostname", "zustand": "license_status", "note": ""}
    event = AuditEvent.objects.get(action="inventory.csv_mapping.update")
    assert event.organisation_id == org.pk and event.changes["zustand"] == ["", "license_status"]
    second = upload(as_admin, data)
    form = as_admin.get(second["Location"]).context["form"]
    assert [form[f"col_{i}"].value() for i in range(3)] == ["hostname", "license_status", ""]


def test_a_remembered_ignore_overrides_the_name(as_admin, org):
    CsvColumnMapping.objects.create(organisation=org, column="status", field="")
    assert csv_mapping.suggestions(org, ["Name", "Status"]) == ["hostname", ""]


def test_another_organisations_mapping_is_not_used(org, other_org):
    CsvColumnMapping.objects.create(
        organisation=other_org, column="zustand", field="license_status"
    )
    assert csv_mapping.suggestions(org, ["Device", "Zustand"]) == ["hostname", ""]
    assert csv_mapping.suggestions(other_org, ["Device", "Zustand"]) == [
        "hostname",
        "license_status",
    ]


def test_another_user_or_organisation_cannot_open_the_upload(as_admin, as_outsider, admin_user):
    r = upload(as_admin, SCCM)
    assert as_outsider.get(r["Location"]).status_code == 404
    assert as_outsider.post(r["Location"], {"col_0": "hostname"}).status_code == 404
    assert not ImportRun.objects.exists()


def test_a_forged_or_garbled_token_is_a_404(as_admin):
    upload(as_admin, SCCM)
    staged = CsvUpload.objects.get()
    bad = reverse("licensing:import_csv_map", args=[f"{staged.pk}"])
    assert as_admin.get(bad).status_code == 404


def test_an_auditor_cannot_upload_for_mapping(as_auditor):
    assert upload(as_auditor, SCCM).status_code == 403
    assert not CsvUpload.objects.exists()


# --- the one-step import stays --------------------------------------------------------------


def test_portal_headers_import_in_one_step(as_admin, org):
    r = upload(as_admin, b"hostname,license_status\npc-1,licensed\n")
    run = ImportRun.objects.get()
    assert r["Location"] == reverse("licensing:import_detail", args=[run.pk])
    assert run.created == 1 and not CsvUpload.objects.exists()


def test_preview_can_be_asked_for_portal_headers(as_admin, org):
    r = upload(as_admin, b"hostname,license_status\npc-1,licensed\n", preview="on")
    assert "/imports/csv/map/" in r["Location"]
    form = as_admin.get(r["Location"]).context["form"]
    assert [form["col_0"].value(), form["col_1"].value()] == ["hostname", "license_status"]


def test_an_unreadable_file_is_still_refused_in_one_step(as_admin):
    upload(as_admin, b"\xff\xfeh\x00o\x00")
    run = ImportRun.objects.get()
    assert run.status == "refused" and not CsvUpload.objects.exists()


def test_a_file_larger_than_the_upload_limit_is_refused_not_kept(as_admin, settings):
    settings.INVENTORY_UPLOAD_MAX_BYTES = 100
    upload(as_admin, SCCM + b"PC-0003,contoso.local,1,0,1\r\n" * 10)
    run = ImportRun.objects.get()
    assert run.status == "refused" and "limit" in run.message
    assert not CsvUpload.objects.exists()


def test_state_and_flag_words_through_the_one_step_import(as_admin, org):
    data = (
        b"hostname,license_status,reactivation_required\n"
        b"pc-a,Activated,nei\npc-b,Non-genuine,ja\npc-c,Not licensed,\npc-d,Nicht lizenziert,\n"
    )
    upload(as_admin, data)
    assert ImportRun.objects.get().rejected == 0
    rows = {
        c.hostname: (c.license_status, c.reactivation_required)
        for c in Client.objects.filter(organisation=org)
    }
    assert rows["pc-a"] == (1, False) and rows["pc-b"] == (4, True)
    assert rows["pc-c"][0] == 0 and rows["pc-d"][0] == 0


def test_the_upload_link_expires_after_a_day(as_admin, admin_user):
    import time_machine
    from django.utils import timezone

    upload(as_admin, SCCM)
    staged = CsvUpload.objects.get()
    token = csv_mapping.token_for(staged)
    assert csv_mapping.upload_id(token, admin_user) == staged.pk
    later = timezone.now() + csv_mapping.UPLOAD_TTL + timedelta(minutes=1)
    with time_machine.travel(later):
        assert csv_mapping.upload_id(token, admin_user) is None
    # The next upload clears what was left over from more than a day ago.
    CsvUpload.objects.update(created_at=timezone.now() - csv_mapping.UPLOAD_TTL * 2)
    upload(as_admin, LANSWEEPER)
    assert CsvUpload.objects.get().pk != staged.pk
