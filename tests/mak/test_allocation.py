"""The activation ledger: allocation picks a usable key, links the client, is safe under concurrency."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from licensing.models import (
    ActivationMethod,
    AuditEvent,
    Client,
    ClientFlagChange,
    LicenseStatus,
    MakActivation,
    MakKey,
    MakKeyStatus,
)
from licensing.services.errors import DomainError
from licensing.services.mak import allocation
from tests import factories


@pytest.mark.django_db
def test_an_activation_uses_one_activation_and_links_the_client(
    org, pool, admin_user, make_clients
):
    key = factories.MakKeyFactory(pool=pool, activation_limit=3)
    host = factories.KmsHostFactory(organisation=org)
    (client,) = make_clients(org, 1)
    Client.objects.filter(pk=client.pk).update(
        kms_host=host,
        reactivation_required=True,
        license_status=LicenseStatus.OOT_GRACE,
        compliance_flag="expired",
    )
    activation = allocation.record_activation(
        actor=admin_user, client=client, reason="hardware_change", note="new mainboard"
    )
    key.refresh_from_db()
    client.refresh_from_db()
    assert key.activations_used == 1 and key.status == MakKeyStatus.ACTIVE
    assert activation.key == key and activation.reason == "hardware_change"
    assert client.activation_method == ActivationMethod.MAK and client.mak_key == key
    assert client.kms_host is None and not client.reactivation_required
    assert client.last_activation_at == activation.activated_at
    assert client.license_status == LicenseStatus.LICENSED and client.compliance_flag == "ok"
    assert ClientFlagChange.objects.filter(client=client, to_flag="ok").exists()
    entry = AuditEvent.objects.get(action="mak_activation.record")
    assert entry.changes["client"] == client.hostname and key.last5 in entry.changes["key"]


@pytest.mark.django_db
def test_blocked_and_exhausted_keys_are_never_picked_and_the_last_use_exhausts(
    org, pool, admin_user, make_clients
):
    blocked = factories.MakKeyFactory(pool=pool, activation_limit=100, status=MakKeyStatus.BLOCKED)
    full = factories.MakKeyFactory(
        pool=pool, activation_limit=5, activations_used=5, status=MakKeyStatus.EXHAUSTED
    )
    usable = factories.MakKeyFactory(pool=pool, activation_limit=2)
    clients = make_clients(org, 3)
    picked = [allocation.record_activation(actor=admin_user, client=c).key_id for c in clients[:2]]
    assert picked == [usable.pk, usable.pk]
    usable.refresh_from_db()
    assert usable.status == MakKeyStatus.EXHAUSTED and usable.activations_used == 2
    with pytest.raises(DomainError, match="exhausted") as excinfo:
        allocation.record_activation(actor=admin_user, client=clients[2])
    assert excinfo.value.code == "pool_exhausted"
    blocked.refresh_from_db()
    full.refresh_from_db()
    assert blocked.activations_used == 0 and full.activations_used == 5
    assert MakActivation.objects.count() == 2
    clients[2].refresh_from_db()
    assert clients[2].mak_key is None and clients[2].activation_method == "kms"


@pytest.mark.django_db
def test_a_client_without_a_pool_for_its_edition_gets_a_clear_error(
    org, pool, admin_user, make_clients
):
    (client,) = make_clients(org, 1, edition="Office LTSC Standard 2024")
    with pytest.raises(DomainError, match="no MAK pool") as excinfo:
        allocation.record_activation(actor=admin_user, client=client)
    assert excinfo.value.code == "no_pool"


@pytest.mark.django_db
def test_only_admins_record_activations(org, pool, manager_user, auditor_user, make_clients):
    factories.MakKeyFactory(pool=pool)
    (client,) = make_clients(org, 1)
    for user in (manager_user, auditor_user):
        with pytest.raises(PermissionDenied):
            allocation.record_activation(actor=user, client=client)
    assert not MakActivation.objects.exists()


@pytest.mark.django_db
def test_the_page_form_records_an_activation_and_reports_exhaustion(
    org, pool, as_admin, make_clients
):
    factories.MakKeyFactory(pool=pool, activation_limit=1)
    a, b = make_clients(org, 2)
    url = f"/pools/{pool.pk}/activations/record/"
    assert (
        as_admin.post(url, {"hostname": a.hostname.upper(), "reason": "first"}).status_code == 302
    )
    body = as_admin.post(url, {"hostname": b.hostname, "reason": "first"}).content.decode()
    assert "exhausted" in body and "Request extra activations" in body
    assert (
        "No client called"
        in as_admin.post(url, {"hostname": "nope", "reason": "first"}).content.decode()
    )
    ledger = as_admin.get(f"/pools/{pool.pk}/activations/").content.decode()
    assert a.hostname in ledger


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_allocations_against_ten_activations_exactly_ten_succeed(
    org, admin_user, make_clients
):
    pool = factories.MakPoolFactory(
        organisation=org,
        edition=factories.edition("Office LTSC Professional Plus 2024"),
        low_water_mark=0,
    )
    keys = [
        factories.MakKeyFactory(pool=pool, activation_limit=6, activations_used=3),  # 3 left
        factories.MakKeyFactory(pool=pool, activation_limit=4),  # 4 left
        factories.MakKeyFactory(pool=pool, activation_limit=10, activations_used=7),  # 3 left
        factories.MakKeyFactory(pool=pool, activation_limit=50, status=MakKeyStatus.BLOCKED),
    ]
    clients = make_clients(org, 50)
    barrier = threading.Barrier(50)
    outcomes: list[str] = []
    lock = threading.Lock()

    def allocate(client):
        try:
            barrier.wait(timeout=30)
            allocation.record_activation(actor=admin_user, client=client)
            outcome = "ok"
        except DomainError as exc:
            outcome = exc.code
        except Exception as exc:  # anything else is a failure of the test
            outcome = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=allocate, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(set(outcomes)) == ["ok", "pool_exhausted"], outcomes
    assert outcomes.count("ok") == 10 and outcomes.count("pool_exhausted") == 40

    used = {k.pk: (k.activations_used, k.activation_limit, k.status) for k in MakKey.objects.all()}
    assert used[keys[0].pk] == (6, 6, "exhausted")
    assert used[keys[1].pk] == (4, 4, "exhausted")
    assert used[keys[2].pk] == (10, 10, "exhausted")
    assert used[keys[3].pk] == (0, 50, "blocked")
    assert MakActivation.objects.count() == 10
    per_key = {k.pk: k.activations.count() for k in MakKey.objects.all()}
    assert per_key == {keys[0].pk: 3, keys[1].pk: 4, keys[2].pk: 3, keys[3].pk: 0}
    linked = Client.objects.filter(mak_key__isnull=False)
    assert linked.count() == 10 and set(linked.values_list("activation_method", flat=True)) == {
        "mak"
    }
    assert AuditEvent.objects.filter(action="mak_activation.record").count() == 10
