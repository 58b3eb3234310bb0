import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from licensing.management.commands import seed_demo
from licensing.models import (
    Client,
    ClientFlagChange,
    ComplianceFlag,
    KmsHost,
    LicenseStatus,
    MakKey,
    Membership,
    Organisation,
)

pytestmark = pytest.mark.django_db


def _snapshot():
    return list(
        Client.objects.order_by("hostname").values_list(
            "hostname", "compliance_flag", "license_status", "activation_method"
        )
    )


def test_seed_demo_creates_every_role_state_and_flag():
    call_command("seed_demo", clients=3000, stdout=io.StringIO())
    assert Organisation.objects.filter(slug__in=["contoso", "fabrikam", "northwind"]).count() == 3
    assert set(Membership.objects.values_list("role", flat=True)) == {"admin", "manager", "auditor"}
    assert Client.objects.count() == 3000
    assert set(Client.objects.values_list("license_status", flat=True)) == set(LicenseStatus.values)
    assert set(Client.objects.values_list("compliance_flag", flat=True)) == set(
        ComplianceFlag.values
    )
    assert KmsHost.objects.exists() and MakKey.objects.filter(status="blocked").exists()
    for key in MakKey.objects.all():
        assert key.activations_used == key.activations.count() <= key.activation_limit


def test_seed_demo_is_the_same_every_run():
    call_command("seed_demo", clients=500, stdout=io.StringIO())
    first = _snapshot()
    call_command("seed_demo", clients=500, stdout=io.StringIO())
    assert _snapshot() == first


def _schema(tables):
    """Every index and constraint (with its definition) of `tables`."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)
            UNION ALL
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint WHERE conrelid = ANY(%s::regclass[])
            ORDER BY 1, 2, 3
            """,
            [list(tables), list(tables)],
        )
        return cursor.fetchall()


def test_scale_seed_loads_in_bulk_and_restores_every_index_and_constraint(monkeypatch):
    """The bulk path (indexes, unique constraints and foreign keys dropped for the load and
    rebuilt after it) writes the same clients as the row-by-row path and leaves the schema as
    it was, its constraints enforced again."""
    call_command("seed_demo", clients=800, stdout=io.StringIO())
    plain = _snapshot()
    history = ClientFlagChange.objects.count()
    schema = _schema(seed_demo.BULK_TABLES)
    assert any(name == "client_hostname_per_org" for _t, name, _d in schema)

    monkeypatch.setattr(seed_demo, "BULK_LOAD_MIN_CLIENTS", 1)
    call_command("seed_demo", clients=800, stdout=io.StringIO())
    assert _snapshot() == plain
    assert ClientFlagChange.objects.count() == history
    assert _schema(seed_demo.BULK_TABLES) == schema
    # The unique constraint and the foreign keys are back in force.
    client = Client.objects.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Client.objects.create(organisation=client.organisation, hostname=client.hostname)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "INSERT INTO licensing_clientflagchange (client_id, organisation_id, from_flag,"
            " to_flag, reason, changed_at, changed_by) VALUES (-1, %s, '', 'ok', '', now(), 't')",
            [client.organisation_id],
        )


def test_the_demo_has_an_audited_history_of_requests_and_a_revealed_key():
    from licensing.crypto import decrypt_product_key
    from licensing.models import ActivationRequest, AuditEvent

    call_command("seed_demo", clients=200, stdout=io.StringIO())
    contoso = Organisation.objects.get(slug="contoso")
    requests = ActivationRequest.objects.filter(pool__organisation=contoso).order_by("id")
    assert [(r.quantity, r.status) for r in requests] == [(400, "rejected"), (150, "pending")]
    assert requests[0].decision_note and requests[0].decided_by.username == "contoso-manager"
    actions = list(
        AuditEvent.objects.filter(organisation=contoso)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "activation_request.create",
        "activation_request.reject",
        "activation_request.create",
        "mak_key.reveal",
    ]
    # The reveal's entry names the key by its last five characters, never in clear.
    key = requests[0].key
    reveal = AuditEvent.objects.get(organisation=contoso, action="mak_key.reveal")
    clear = decrypt_product_key(key.ciphertext)
    assert key.last5 in str(reveal.changes) and clear not in str(reveal.changes)
