"""The licence position CSV and the true-up CSV: through exports.py, GET only, audited,
scoped, roles."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.test import Client as DjangoClient
from django.utils import timezone

from licensing.models import AuditEvent, Client, Programme
from tests.licences.conftest import PRO_PLUS, STANDARD, install, make_agreement


def _csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_manager_and_auditor_export_the_position(as_manager, as_auditor, org, position_data):
    for client in (as_manager, as_auditor):
        response = client.get("/licences/export.csv")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert 'filename="contoso-test-licence-position-' in response["Content-Disposition"]
        rows = _csv(response)
        assert [r["edition"] for r in rows] == [
            PRO_PLUS["2024"],
            PRO_PLUS["2021"],
            PRO_PLUS["2019"],
            STANDARD["2024"],
        ]
        assert rows[2] == {
            "edition": PRO_PLUS["2019"],
            "product": "proplus",
            "version": "2019",
            "installed": "3",
            "licences": "0",
            "covered": "1",
            "covered_by_newer_version": "1",
            "surplus": "0",
            "shortfall": "2",
        }
    assert (
        AuditEvent.objects.filter(organisation=org, action="export.licence-position").count() == 2
    )


def test_position_export_filters_and_rejects_a_bad_filter(as_auditor, position_data):
    rows = _csv(as_auditor.get("/licences/export.csv?short=true"))
    assert [r["edition"] for r in rows] == [PRO_PLUS["2019"]]
    response = as_auditor.get("/licences/export.csv?version=1999")
    assert response.status_code == 400 and b"Version (version)" in response.content


def test_position_export_is_get_only_and_scoped(as_auditor, as_outsider, position_data):
    assert as_auditor.post("/licences/export.csv").status_code == 405
    assert as_outsider.get("/licences/export.csv?organisation=contoso-test").status_code == 404
    # The outsider's own export holds its own organisation only.
    rows = _csv(as_outsider.get("/licences/export.csv"))
    assert [(r["edition"], r["installed"]) for r in rows] == [(PRO_PLUS["2019"], "100")]


def test_position_export_with_a_personal_token(auditor_user, org, api_token_for, position_data):
    api = DjangoClient(**api_token_for(auditor_user, org))
    response = api.get("/licences/export.csv")
    assert response.status_code == 200 and len(_csv(response)) == 4


def test_true_up_counts_installs_added_since_the_last_true_up(as_auditor, as_admin, org):
    agreement = make_agreement(org, "EA-TU", starts_on=dt.date(2025, 1, 1))
    install(org, PRO_PLUS["2024"], 5)
    old = timezone.now() - dt.timedelta(days=400)
    Client.objects.filter(organisation=org).update(created_at=old)
    install(org, PRO_PLUS["2024"], 3)  # new since the start
    install(org, STANDARD["2024"], 2)
    agreement.last_true_up_on = (old + dt.timedelta(days=1)).date()
    agreement.save()
    response = as_auditor.get(f"/licences/agreements/{agreement.pk}/true-up.csv")
    assert response.status_code == 200
    assert f"true-up-{agreement.pk}" in response["Content-Disposition"]
    rows = {r["edition"]: r for r in _csv(response)}
    assert rows[PRO_PLUS["2024"]]["installs_added_since"] == "3"
    assert rows[PRO_PLUS["2024"]]["installed_now"] == "8"
    assert rows[PRO_PLUS["2024"]]["shortfall"] == "8"
    assert rows[STANDARD["2024"]]["installs_added_since"] == "2"
    event = AuditEvent.objects.get(action="export.true-up")
    assert event.changes["filters"] == {"since": agreement.last_true_up_on.isoformat()}
    # Recording the true-up moves the date: nothing was added since today.
    today = timezone.localdate()
    assert (
        as_admin.post(
            f"/licences/agreements/{agreement.pk}/true-up/", {"on": today.isoformat()}
        ).status_code
        == 302
    )
    agreement.refresh_from_db()
    assert agreement.last_true_up_on == today
    rows = {
        r["edition"]: r
        for r in _csv(as_auditor.get(f"/licences/agreements/{agreement.pk}/true-up.csv"))
    }
    assert rows[PRO_PLUS["2024"]]["installs_added_since"] == "0"
    assert AuditEvent.objects.filter(action="agreement.true_up").count() == 1


def test_true_up_is_for_enterprise_agreements_only(as_auditor, as_admin, org):
    agreement = make_agreement(org, "OV-1", programme=Programme.OPEN_VALUE)
    response = as_auditor.get(f"/licences/agreements/{agreement.pk}/true-up.csv")
    assert response.status_code == 409 and b"Enterprise Agreements only" in response.content
    response = as_admin.post(f"/licences/agreements/{agreement.pk}/true-up/", {"on": "2025-06-01"})
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.last_true_up_on is None


def test_true_up_export_scoped(as_outsider, as_auditor, org):
    agreement = make_agreement(org, "EA-TU")
    assert as_outsider.get(f"/licences/agreements/{agreement.pk}/true-up.csv").status_code == 404
    assert as_auditor.post(f"/licences/agreements/{agreement.pk}/true-up.csv").status_code == 405
