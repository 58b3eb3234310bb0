"""The bulk ingest API: per-record results, idempotence, tenancy and token scopes."""

from __future__ import annotations

import json

import pytest

from licensing.api.throttling import IngestThrottle
from licensing.models import AuditEvent, Client, ImportRun, TokenScope
from licensing.services.tokens import create_api_token
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/api/v1/inventory/clients/"


def post(client, payload, **headers):
    return client.post(URL, data=json.dumps(payload), content_type="application/json", **headers)


def batch(n=3):
    return [
        {
            "hostname": f"PC-{i:03d}.Contoso.Example",
            "license_status": "licensed",
            "activation_method": "kms",
            "last_renewal_at": "2026-06-01T08:00:00Z",
            "edition": "Office LTSC Professional Plus 2024",
            "last_seen_at": "2026-06-02T08:00:00Z",
        }
        for i in range(n)
    ]


def test_agent_token_creates_clients_with_lower_case_hostnames_and_flags(
    client, org, agent_headers
):
    r = post(client, {"clients": batch()}, **agent_headers)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["summary"] == {
        "received": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
    }
    assert [x["result"] for x in body["results"]] == ["created"] * 3
    c = Client.objects.get(organisation=org, hostname="pc-000")
    assert c.fqdn == "pc-000.contoso.example" and c.edition.name.startswith("Office LTSC")
    assert c.compliance_flag in {"ok", "at_risk", "expired", "unlicensed"}
    assert c.renewal_deadline is not None and c.flag_reason is not None
    run = ImportRun.objects.get(pk=body["import"])
    assert run.actor_label.startswith("token:") and run.source == "api"
    assert AuditEvent.objects.filter(action="inventory.import", object_id=str(run.pk)).exists()


def test_a_re_sent_batch_changes_nothing(client, org, agent_headers):
    post(client, batch(), **agent_headers)
    before = list(Client.objects.order_by("id").values())
    r = post(client, batch(), **agent_headers)
    assert r.json()["summary"]["unchanged"] == 3
    assert [x["result"] for x in r.json()["results"]] == ["unchanged"] * 3
    assert list(Client.objects.order_by("id").values()) == before


def test_a_batch_with_bad_records_imports_the_good_ones_and_reports_the_bad_by_index(
    client, org, agent_headers
):
    records = [
        *batch(2),
        {"hostname": "bad host"},
        {"hostname": "pc-x", "license_status": 9},
        {"hostname": "pc-y", "last_renewal_at": "yesterday"},
        {"hostname": "pc-z", "kms_host": "rogue.example"},
        "not an object",
        {"license_status": 1},
        {"hostname": "pc-w", "colour": "blue"},
    ]
    r = post(client, records, **agent_headers)
    body = r.json()
    assert r.status_code == 200
    errors = {x["index"]: x["message"] for x in body["results"] if x["result"] == "error"}
    assert set(errors) == {2, 3, 4, 5, 6, 7, 8}
    assert "hostname" in errors[2] and "license_status" in errors[3]
    assert "ISO 8601" in errors[4] and "not a KMS host" in errors[5]
    assert "JSON object" in errors[6] and "missing" in errors[7] and "colour" in errors[8]
    assert Client.objects.filter(organisation=org).count() == 2
    assert ImportRun.objects.get(pk=body["import"]).rejections.count() == 7


def test_a_hostname_twice_in_one_batch_keeps_the_last(client, org, agent_headers):
    r = post(
        client,
        [{"hostname": "pc-1", "license_status": 5}, {"hostname": "PC-1", "license_status": 1}],
        **agent_headers,
    )
    results = r.json()["results"]
    assert results[0]["result"] == "error" and "index 1" in results[0]["message"]
    assert results[1]["result"] == "created"
    assert Client.objects.get(organisation=org, hostname="pc-1").license_status == 1


def test_an_older_report_does_not_override_a_newer_one(client, org, agent_headers):
    post(
        client,
        [{"hostname": "pc-1", "license_status": 1, "last_seen_at": "2026-06-02T00:00:00Z"}],
        **agent_headers,
    )
    post(
        client,
        [{"hostname": "pc-1", "license_status": 5, "last_seen_at": "2026-05-01T00:00:00Z"}],
        **agent_headers,
    )
    assert Client.objects.get(hostname="pc-1").license_status == 1


def test_an_outsiders_token_cannot_write_into_another_organisation(
    client, org, outsider, other_org, api_token_for
):
    headers = api_token_for(outsider, other_org)
    r = post(client, {"organisation": org.slug, "clients": batch()}, **headers)
    assert r.status_code == 404
    assert not Client.objects.exists() and not ImportRun.objects.exists()


def test_an_outsider_session_cannot_name_another_organisation(as_outsider, org):
    r = post(as_outsider, {"organisation": org.slug, "clients": batch()})
    assert r.status_code == 404 and not Client.objects.exists()


def test_a_managers_personal_token_may_not_ingest(client, org, manager_user, api_token_for):
    r = post(client, batch(), **api_token_for(manager_user, org))
    assert r.status_code == 403 and not Client.objects.exists()


def test_an_admins_personal_token_may_ingest(client, org, admin_user, api_token_for):
    r = post(client, batch(1), **api_token_for(admin_user, org))
    assert r.status_code == 200 and Client.objects.count() == 1


def test_a_reporter_token_may_not_ingest(client, org, admin_user):
    host = factories.KmsHostFactory(organisation=org)
    _, plaintext = create_api_token(
        actor=admin_user, organisation=org, name="r", scope=TokenScope.REPORTER, kms_host=host
    )
    r = post(client, batch(1), HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert r.status_code == 404 and not Client.objects.exists()


def test_an_agent_token_cannot_read(client, org, agent_headers):
    post(client, batch(1), **agent_headers)
    assert client.get("/api/v1/inventory/imports/", **agent_headers).status_code == 404
    assert client.get("/api/v1/clients/", **agent_headers).status_code == 404


def test_people_read_their_import_history(client, org, agent_headers, as_auditor):
    post(client, batch(1), **agent_headers)
    r = as_auditor.get("/api/v1/inventory/imports/")
    assert r.status_code == 200 and r.json()["results"][0]["created"] == 1


def test_a_batch_over_the_limit_is_refused_whole(client, org, agent_headers, settings):
    settings.INVENTORY_API_MAX_RECORDS = 2
    r = post(client, batch(3), **agent_headers)
    assert r.status_code == 400 and "at most 2" in r.json()["detail"]
    assert not Client.objects.exists()


def test_the_body_must_be_a_list_of_records(client, agent_headers):
    assert post(client, {"clients": "nope"}, **agent_headers).status_code == 400


def test_ingest_is_throttled_per_token(client, org, agent_headers, monkeypatch):
    monkeypatch.setattr(IngestThrottle, "THROTTLE_RATES", {"ingest": "2/minute"})
    codes = [post(client, batch(1), **agent_headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_the_sweep_is_queued_in_the_ingests_own_transaction(client, org, agent_headers):
    from tests.outbox import queued

    post(client, batch(1), **agent_headers)
    assert queued("licensing.inventory.sweep_after_ingest") == [[org.pk]]


def _other_transaction():
    """A second connection to the test database, for a transaction the ingest must wait for."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    return psycopg.connect(**params)


def _ingest_while(other, org, actor, record):
    """Run an ingest of `record` in a thread while `other` holds its uncommitted change; commit
    `other` once the ingest is seen waiting for its lock; return the ingest's result."""
    import threading
    import time

    from django.db import connections

    from licensing.services.inventory.ingest import ingest_records

    outcome = {}

    def ingest():
        try:
            outcome["result"] = ingest_records(actor=actor, organisation=org, records=[record])
        finally:
            connections["default"].close()

    worker = threading.Thread(target=ingest)
    worker.start()
    deadline = time.monotonic() + 20
    waiting = 0
    while not waiting and time.monotonic() < deadline:
        time.sleep(0.05)
        waiting = other.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    if not waiting:
        other.close()  # rolled back: the flush after the test must not wait for it
    assert waiting, "the ingest should wait for the other transaction"
    other.commit()
    other.close()
    worker.join(20)
    assert not worker.is_alive()
    return outcome["result"]


@pytest.mark.django_db(transaction=True)
def test_a_client_created_by_a_concurrent_ingest_is_updated_not_duplicated(org, admin_user):
    """The merge reads the stored clients first; a client another transaction inserts after
    that read is caught by ON CONFLICT: one row, the later report's values, no error."""
    other = _other_transaction()
    other.execute(
        "INSERT INTO licensing_client (organisation_id, hostname, fqdn, activation_method,"
        " license_status, reactivation_required, compliance_flag, flag_reason, created_at,"
        " updated_at) VALUES (%s, 'pc-race', '', 'kms', 2, false, 'ok', '', now(), now())",
        [org.pk],
    )  # not committed yet: the ingest does not see it and must wait for it
    record = {"hostname": "PC-RACE", "license_status": 1, "activation_method": "mak"}
    result = _ingest_while(other, org, admin_user, record)
    assert result.run.rejected == 0
    rows = list(Client.objects.filter(organisation=org, hostname="pc-race"))
    assert len(rows) == 1
    assert (rows[0].license_status, rows[0].activation_method) == (1, "mak")


@pytest.mark.django_db(transaction=True)
def test_a_client_deleted_while_its_report_is_merged_is_brought_back_by_the_report(org, admin_user):
    """Another transaction deletes the client while the ingest waits to lock it. The report must
    not vanish: the client is written again, and the answer says so ("created")."""
    from tests import factories

    client = factories.ClientFactory(
        organisation=org, hostname="pc-gone", license_status=2, edition=None
    )  # transactional tests run on a flushed database: no built-in editions
    other = _other_transaction()
    other.execute("DELETE FROM licensing_clientflagchange WHERE client_id = %s", [client.pk])
    other.execute("DELETE FROM licensing_client WHERE id = %s", [client.pk])
    record = {
        "hostname": "pc-gone",
        "license_status": 1,
        "activation_method": "kms",
        "last_renewal_at": "2026-11-01T08:00:00Z",
    }
    result = _ingest_while(other, org, admin_user, record)
    assert (result.run.created, result.run.updated, result.run.rejected) == (1, 0, 0)
    back = Client.objects.get(organisation=org, hostname="pc-gone")
    assert back.pk != client.pk
    assert back.license_status == 1 and back.last_renewal_at is not None


def _commit_settings(queries):
    return [q["sql"] for q in queries if "synchronous_commit" in q["sql"]]


@pytest.mark.parametrize(
    "synchronous, expected", [(False, ["SET LOCAL synchronous_commit = off"]), (True, [])]
)
def test_an_ingest_waits_for_its_commit_flush_only_when_configured(
    client, org, agent_headers, settings, synchronous, expected
):
    """INVENTORY_SYNCHRONOUS_COMMIT off (an operator's choice): the ingest transaction alone
    commits without waiting for the WAL flush (docs/guide/inventory.md); on (the default): the
    server's setting."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.INVENTORY_SYNCHRONOUS_COMMIT = synchronous
    with CaptureQueriesContext(connection) as queries:
        r = post(client, {"clients": batch()}, **agent_headers)
    assert r.status_code == 200 and r.json()["summary"]["created"] == 3
    assert _commit_settings(queries) == expected
