"""CSV exports of the client list and the audit log: rows, format, secrets, tokens, tenancy."""

from __future__ import annotations

import csv
import io
import re

from licensing.models import AuditEvent, Role
from tests import factories


def read(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content if not response.streaming else ""
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_export_of_a_filtered_list_has_exactly_the_filtered_rows(as_admin, fleet):
    rows = read(as_admin.get("/clients/export.csv?past_deadline=true&sort=-hostname"))
    assert [r["hostname"] for r in rows] == ["delta-04", "alpha-01"]
    everything = read(as_admin.get("/clients/export.csv"))
    assert sorted(r["hostname"] for r in everything) == [
        "alpha-01",
        "beta-02",
        "delta-04",
        "gamma-03",
    ]


def test_formula_cells_are_neutralised_and_dates_are_iso_utc(as_admin, fleet):
    rows = {r["hostname"]: r for r in read(as_admin.get("/clients/export.csv"))}
    assert rows["delta-04"]["fqdn"] == "'=cmd|' /C calc'!A0"
    assert rows["alpha-01"]["fqdn"] == "alpha-01.example.test"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows["alpha-01"]["last_renewal_at"])
    assert rows["gamma-03"]["last_renewal_at"] == ""
    assert rows["delta-04"]["license_state"] == "Initial (OOB) grace"


def test_no_secret_in_the_csv_only_last5(as_admin, fleet):
    response = as_admin.get("/clients/export.csv")
    body = b"".join(response.streaming_content).decode()
    key = fleet["key"]
    assert key.ciphertext not in body and key.fingerprint not in body
    assert re.search(r"[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}", body) is None
    row = next(r for r in csv.DictReader(io.StringIO(body)) if r["hostname"] == "gamma-03")
    assert row["mak_key_last5"] == key.last5


def test_export_filename_names_organisation_and_date_and_is_audited(as_admin, fleet, org):
    response = as_admin.get("/clients/export.csv?compliance_flag=expired")
    b"".join(response.streaming_content)
    assert re.fullmatch(
        r'attachment; filename="contoso-test-clients-\d{4}-\d\d-\d\d\.csv"',
        response["Content-Disposition"],
    )
    event = AuditEvent.objects.get(action="export.clients")
    assert event.organisation_id == org.pk
    assert event.changes["filters"] == {"compliance_flag": "expired"}


def test_token_authenticated_export_works_and_is_scoped_to_the_tokens_organisation(
    client, fleet, admin_user, org, other_org, api_token_for
):
    headers = api_token_for(admin_user, org)
    rows = read(client.get("/clients/export.csv?compliance_flag=expired", **headers))
    assert [r["hostname"] for r in rows] == ["alpha-01"]
    assert AuditEvent.objects.filter(
        action="export.clients", actor_label__contains="token"
    ).exists()
    # The same user in a second organisation: the token still reaches only its own organisation.
    factories.MembershipFactory(user=admin_user, organisation=other_org, role=Role.ADMIN)
    assert (
        client.get(f"/clients/export.csv?organisation={other_org.slug}", **headers).status_code
        == 404
    )
    rows = read(client.get("/clients/export.csv", **headers))
    assert "alpha-99" not in [r["hostname"] for r in rows]


def test_a_bad_token_is_401_and_an_agent_token_exports_nothing(client, fleet, admin_user, org):
    response = client.get("/clients/export.csv", HTTP_AUTHORIZATION="Bearer vlp_nope")
    assert response.status_code == 401
    from licensing.services.tokens import create_api_token

    _, agent = create_api_token(actor=admin_user, organisation=org, name="agent", scope="agent")
    assert (
        client.get("/clients/export.csv", HTTP_AUTHORIZATION=f"Bearer {agent}").status_code == 404
    )


def test_superuser_can_export_every_organisation(superuser, fleet):
    from tests.conftest import logged_in

    rows = read(logged_in(superuser).get("/clients/export.csv?organisation=all"))
    assert {r["organisation"] for r in rows} == {"contoso-test", "other-corp"}


def test_all_organisations_is_not_available_to_members(as_admin, fleet):
    assert as_admin.get("/clients/export.csv?organisation=all").status_code == 404


def test_audit_log_export_and_list(as_admin, as_auditor, fleet, org):
    read(as_admin.get("/clients/export.csv"))
    rows = read(as_auditor.get("/audit/export.csv?action=export."))
    assert rows[0]["action"] in ("export.clients", "export.audit-log")
    assert all(r["action"].startswith("export.") for r in rows)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[0]["at"])
    page = as_auditor.get("/audit/?action=export.").content.decode()
    assert "export.clients" in page


def test_an_invalid_filter_on_export_is_a_400_with_the_reason(as_admin, fleet):
    response = as_admin.get("/clients/export.csv?license_status=99")
    assert response.status_code == 400
    assert b"license_status" in response.content


def test_exports_work_with_the_debug_cursor_of_make_run(as_admin, fleet, settings):
    # DEBUG=1 (make run) wraps cursors in CursorDebugWrapper, whose copy() takes no params.
    settings.DEBUG = True
    rows = read(as_admin.get("/clients/export.csv?past_deadline=true"))
    assert sorted(r["hostname"] for r in rows) == ["alpha-01", "delta-04"]


def test_an_invalid_filter_names_its_label_and_parameters(as_admin, fleet):
    response = as_admin.get("/clients/export.csv?last_renewal_after=notadate")
    assert response.status_code == 400
    assert response.content.decode() == (
        "Invalid filter: Last renewal (last_renewal_after, last_renewal_before): "
        "Enter a valid date.\n"
    )
