"""Extra-activation requests: validation, four eyes, roles, decided exactly once, e-mails."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction

from licensing.models import (
    ActivationRequest,
    AuditEvent,
    MakKey,
    MakKeyStatus,
    Membership,
    RequestStatus,
    Role,
)
from licensing.services.errors import ConflictError, DomainError
from licensing.services.mak import requests as mak_requests
from tests import factories


@pytest.fixture
def key(pool):
    return factories.MakKeyFactory(
        pool=pool, activation_limit=10, activations_used=10, status="exhausted"
    )


def _ask(actor, pool, **kwargs):
    defaults = {"quantity": 25, "justification": "New branch office with 25 kiosks"}
    return mak_requests.request_activations(actor=actor, pool=pool, **(defaults | kwargs))


@pytest.mark.django_db
def test_a_request_carries_microsofts_fields(pool, key, admin_user, manager_user):
    req = _ask(admin_user, pool)
    assert req.status == RequestStatus.PENDING and req.requested_by == admin_user
    assert (req.agreement_number, req.product_name, req.key_last5, req.quantity) == (
        "12345678",
        "Office LTSC Professional Plus 2024",
        key.last5,
        25,
    )
    assert req.key == key
    assert AuditEvent.objects.filter(
        action="activation_request.create", object_id=str(req.pk)
    ).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "at least one"),
        (-5, "at least one"),
        (100_001, "at most 100,000"),
        (10**12, "at most"),
        ("many", "whole number"),
    ],
)
def test_bad_quantities_are_refused(pool, key, admin_user, quantity, message):
    with pytest.raises(DomainError, match=message):
        _ask(admin_user, pool, quantity=quantity)
    assert not ActivationRequest.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("justification", ["", "   \n "])
def test_a_justification_is_required(pool, key, admin_user, justification):
    with pytest.raises(DomainError, match="justification"):
        _ask(admin_user, pool, justification=justification)
    assert not ActivationRequest.objects.exists()


@pytest.mark.django_db
def test_the_database_refuses_what_the_service_refuses(pool, key, admin_user):
    for bad in ({"quantity": 0}, {"quantity": 100_001}, {"justification": ""}):
        with pytest.raises(IntegrityError), transaction.atomic():
            ActivationRequest.objects.create(
                pool=pool,
                key=key,
                requested_by=admin_user,
                **({"quantity": 5, "justification": "x"} | bad),
            )


@pytest.mark.django_db
def test_blocked_keys_and_keys_of_other_pools_cannot_be_extended(pool, other_pool, key, admin_user):
    blocked = factories.MakKeyFactory(pool=pool, status=MakKeyStatus.BLOCKED)
    foreign = factories.MakKeyFactory(pool=other_pool)
    with pytest.raises(DomainError, match="blocked"):
        _ask(admin_user, pool, key=blocked)
    with pytest.raises(DomainError, match="another pool"):
        _ask(admin_user, pool, key=foreign)


@pytest.mark.django_db
def test_roles_only_admins_ask_only_managers_decide(
    pool, key, admin_user, manager_user, auditor_user, outsider
):
    for user in (manager_user, auditor_user, outsider):
        with pytest.raises(PermissionDenied):
            _ask(user, pool)
    req = _ask(admin_user, pool)
    for user in (admin_user, auditor_user, outsider):
        with pytest.raises(PermissionDenied):
            mak_requests.approve_request(actor=user, request=req)
        with pytest.raises(PermissionDenied):
            mak_requests.reject_request(actor=user, request=req, note="no")
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING


@pytest.mark.django_db
def test_four_eyes_nobody_decides_their_own_request(pool, key, admin_user, manager_user, superuser):
    own = _ask(superuser, pool)
    with pytest.raises(DomainError, match="four eyes") as excinfo:
        mak_requests.approve_request(actor=superuser, request=own)
    assert excinfo.value.code == "four_eyes"
    # An admin who asked and was then made a manager still cannot approve it.
    req = _ask(admin_user, pool, quantity=30)
    Membership.objects.filter(user=admin_user).update(role=Role.MANAGER)
    admin_user.__dict__.pop("_portal_roles", None)
    with pytest.raises(DomainError, match="four eyes"):
        mak_requests.approve_request(actor=admin_user, request=req)
    with pytest.raises(DomainError, match="four eyes"):
        mak_requests.reject_request(actor=admin_user, request=req, note="mine")
    # The database says the same, whatever the code path.
    with pytest.raises(IntegrityError), transaction.atomic():
        ActivationRequest.objects.filter(pk=req.pk).update(
            status="approved", decided_by=admin_user, decided_at=req.requested_at
        )
    mak_requests.approve_request(actor=manager_user, request=own)


@pytest.mark.django_db
def test_approval_adds_the_activations_to_the_key_and_notifies_the_requester(
    pool,
    key,
    admin_user,
    manager_user,
    eager_celery,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        req = _ask(admin_user, pool)
    assert [m.to for m in mailoutbox] == [[manager_user.email]]
    assert "Approval needed" in mailoutbox[0].subject
    with django_capture_on_commit_callbacks(execute=True):
        mak_requests.approve_request(actor=manager_user, request=req, note="OK for the branch")
    key.refresh_from_db()
    req.refresh_from_db()
    assert key.activation_limit == 35 and key.status == MakKeyStatus.ACTIVE
    assert (req.status, req.decided_by, req.decision_note) == (
        "approved",
        manager_user,
        "OK for the branch",
    )
    decided = mailoutbox[-1]
    assert decided.to == [admin_user.email] and "approved" in decided.subject
    assert "OK for the branch" in decided.body and key.last5 in decided.body
    entry = AuditEvent.objects.get(action="activation_request.approve")
    assert entry.actor == manager_user and entry.changes["new_key_limit"] == 35
    with pytest.raises(ConflictError, match="already approved"):
        mak_requests.reject_request(actor=manager_user, request=req, note="changed my mind")


@pytest.mark.django_db
def test_rejection_needs_a_note_and_changes_nothing(pool, key, admin_user, manager_user):
    req = _ask(admin_user, pool)
    with pytest.raises(DomainError, match="why"):
        mak_requests.reject_request(actor=manager_user, request=req, note=" ")
    mak_requests.reject_request(actor=manager_user, request=req, note="Use KMS instead")
    key.refresh_from_db()
    req.refresh_from_db()
    assert key.activation_limit == 10 and req.status == RequestStatus.REJECTED


@pytest.mark.django_db
def test_approving_a_request_for_a_key_blocked_since_changes_nothing(
    pool, key, admin_user, manager_user
):
    req = _ask(admin_user, pool)
    MakKey.objects.filter(pk=key.pk).update(status=MakKeyStatus.BLOCKED)
    with pytest.raises(DomainError, match="blocked"):
        mak_requests.approve_request(actor=manager_user, request=req)
    req.refresh_from_db()
    key.refresh_from_db()
    assert req.status == RequestStatus.PENDING and key.activation_limit == 10


@pytest.mark.django_db
def test_only_the_requester_cancels_and_only_while_pending(
    pool, key, admin_user, manager_user, org
):
    other_admin = factories.UserFactory(username="admin2")
    factories.MembershipFactory(user=other_admin, organisation=org, role=Role.ADMIN)
    req = _ask(admin_user, pool)
    with pytest.raises(DomainError, match="Only the requester"):
        mak_requests.cancel_request(actor=other_admin, request=req)
    mak_requests.cancel_request(actor=admin_user, request=req)
    req.refresh_from_db()
    assert req.status == RequestStatus.CANCELLED and req.decided_by == admin_user
    with pytest.raises(ConflictError):
        mak_requests.cancel_request(actor=admin_user, request=req)
    with pytest.raises(ConflictError):
        mak_requests.approve_request(actor=manager_user, request=req)


@pytest.mark.django_db
def test_microsofts_confirmation_is_recorded_once_on_approved_requests(
    pool, key, admin_user, manager_user
):
    req = _ask(admin_user, pool)
    with pytest.raises(ConflictError):
        mak_requests.record_microsoft_grant(actor=admin_user, request=req, reference="SR-1")
    mak_requests.approve_request(actor=manager_user, request=req)
    mak_requests.record_microsoft_grant(actor=admin_user, request=req, reference="SR-1")
    req.refresh_from_db()
    assert req.granted_at is not None and req.microsoft_reference == "SR-1"
    with pytest.raises(ConflictError):
        mak_requests.record_microsoft_grant(actor=admin_user, request=req, reference="SR-2")


@pytest.mark.django_db(transaction=True)
def test_two_managers_approving_at_the_same_moment_apply_it_once(
    org, admin_user, manager_user, second_manager, eager_celery
):
    pool = factories.MakPoolFactory(
        organisation=org,
        edition=factories.edition("Office LTSC Professional Plus 2024"),
        agreement_number="1",
        low_water_mark=0,
    )
    key = factories.MakKeyFactory(pool=pool, activation_limit=10)
    req = _ask(admin_user, pool, quantity=40)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def approve(user):
        try:
            barrier.wait(timeout=10)
            mak_requests.approve_request(actor=user, request=req)
            outcomes[user.username] = "approved"
        except ConflictError as exc:
            outcomes[user.username] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in (manager_user, second_manager)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes.values()) == ["already_decided", "approved"]
    key.refresh_from_db()
    assert key.activation_limit == 50
    assert AuditEvent.objects.filter(action="activation_request.approve").count() == 1
    req.refresh_from_db()
    winner = next(u for u, o in outcomes.items() if o == "approved")
    assert req.decided_by.username == winner


@pytest.mark.django_db
def test_the_same_request_twice_is_refused_while_the_first_waits(
    pool, key, admin_user, manager_user, as_admin
):
    first = _ask(admin_user, pool)
    with pytest.raises(ConflictError, match=f"Request #{first.pk} for 25 activations"):
        _ask(admin_user, pool)
    assert ActivationRequest.objects.filter(pool=pool).count() == 1
    # The page says so next to the form (no second request, no 500).
    response = as_admin.post(
        f"/pools/{pool.pk}/request/",
        {
            "key": key.pk,
            "quantity": 25,
            "justification": "New branch office with 25 kiosks",
            "agreement_number": "12345678",
            "product_name": "Office",
        },
    )
    assert response.status_code == 200
    assert f"Request #{first.pk} for 25 activations" in response.content.decode()
    # Another quantity is another request; once the first is decided, asking again is fine.
    _ask(admin_user, pool, quantity=5)
    mak_requests.reject_request(actor=manager_user, request=first, note="not now")
    _ask(admin_user, pool)
