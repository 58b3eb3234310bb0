"""Importing licence lines from CSV: all or nothing, every failing row listed."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from licensing.models import AuditEvent, Entitlement
from licensing.services.licences.entitlements import import_entitlements
from tests.licences.conftest import make_agreement


def upload(text: str, name: str = "licences.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


GOOD = """edition,quantity,acquired_on,downgrade_rights,note
Office LTSC Professional Plus 2024,500,2025-03-01,yes,Year 1
office ltsc  standard 2024,"1,200",,no,
Project Professional 2024,40,,,
"""


def test_admin_imports_a_file_by_hand_format(as_admin, org):
    agreement = make_agreement(org, "EA-CSV", starts_on=dt.date(2025, 1, 1))
    response = as_admin.post(
        f"/licences/agreements/{agreement.pk}/import/", {"file": upload("\ufeff" + GOOD)}
    )
    assert response.status_code == 302
    lines = {e.edition.name: e for e in Entitlement.objects.select_related("edition")}
    assert lines["Office LTSC Professional Plus 2024"].quantity == 500
    assert lines["Office LTSC Professional Plus 2024"].acquired_on == dt.date(2025, 3, 1)
    assert lines["Office LTSC Standard 2024"].quantity == 1200
    assert lines["Office LTSC Standard 2024"].downgrade_rights is False
    assert lines["Project Professional 2024"].acquired_on == dt.date(2025, 1, 1)
    assert lines["Project Professional 2024"].downgrade_rights is True
    event = AuditEvent.objects.get(action="entitlement.import")
    assert event.changes["count"] == 3 and event.changes["licences"] == 1740


def test_any_bad_row_stores_nothing_and_every_problem_is_listed(as_admin, org):
    agreement = make_agreement(org, "EA-CSV")
    text = """edition,quantity,acquired_on,downgrade_rights
Office LTSC Professional Plus 2024,500,,
Office Premium 2030,5,,
Office LTSC Standard 2024,-3,,
Office LTSC Standard 2024,10,2025-13-45,maybe
"""
    response = as_admin.post(f"/licences/agreements/{agreement.pk}/import/", {"file": upload(text)})
    assert response.status_code == 200
    report = response.context["report"]
    assert [line for line, _ in report.errors] == [3, 4, 5]
    page = response.content.decode()
    assert "Nothing was imported: 3 problems in 4 rows." in page
    assert "Unknown edition &#x27;Office Premium 2030&#x27;" in page
    assert "quantity must be between 1 and 1,000,000." in page
    assert "acquired_on must be a date" in page and "downgrade_rights must be yes or no." in page
    assert not Entitlement.objects.exists()
    assert not AuditEvent.objects.filter(action="entitlement.import").exists()


def test_header_empty_file_and_unreadable_input(admin_user, org):
    agreement = make_agreement(org, "EA-CSV")
    report = import_entitlements(actor=admin_user, agreement=agreement, csv_text="a,b\n1,2\n")
    assert report.errors == [
        (
            1,
            "The first row must name the columns: edition, quantity[, acquired_on, "
            "downgrade_rights, note].",
        )
    ]
    report = import_entitlements(
        actor=admin_user, agreement=agreement, csv_text="edition,quantity\n"
    )
    assert report.errors == [(0, "The file holds no licence lines.")]
    report = import_entitlements(
        actor=admin_user, agreement=agreement, csv_text='edition,quantity\n"unclosed,5\n'
    )
    assert not report.ok
    assert not Entitlement.objects.exists()


def test_a_file_that_is_not_utf8_is_a_form_error(as_admin, org):
    agreement = make_agreement(org, "EA-CSV")
    bad = SimpleUploadedFile("x.csv", "edition,quantity\nÉ,1\n".encode("utf-16"), "text/csv")
    response = as_admin.post(f"/licences/agreements/{agreement.pk}/import/", {"file": bad})
    assert response.status_code == 200
    assert "Save the file as UTF-8 CSV." in response.content.decode()


def test_import_roles(as_manager, as_outsider, org):
    agreement = make_agreement(org, "EA-CSV")
    url = f"/licences/agreements/{agreement.pk}/import/"
    assert as_manager.post(url, {"file": upload(GOOD)}).status_code == 403
    assert as_outsider.post(url, {"file": upload(GOOD)}).status_code == 404
    assert not Entitlement.objects.exists()
