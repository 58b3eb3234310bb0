"""The database itself refuses impossible rows (constraints, not Python checks)."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from licensing.models import (
    ActivationRequest,
    ApiToken,
    Client,
    Edition,
    MakKey,
    Membership,
    Organisation,
    Role,
)
from tests import factories

pytestmark = pytest.mark.django_db


def refuses(fn, match: str) -> None:
    with pytest.raises(IntegrityError, match=match), transaction.atomic():
        fn()


def test_it_refuses_a_duplicate_hostname_in_one_organisation(org, other_org):
    factories.ClientFactory(organisation=org, hostname="pc-1")
    refuses(
        lambda: factories.ClientFactory(organisation=org, hostname="pc-1"),
        "client_hostname_per_org",
    )
    # The same hostname in another organisation is a different machine.
    assert factories.ClientFactory(organisation=other_org, hostname="pc-1").pk


def test_it_refuses_upper_case_or_empty_hostnames(org):
    refuses(
        lambda: factories.ClientFactory(organisation=org, hostname="PC-1"),
        "client_hostname_lowercase",
    )
    refuses(
        lambda: factories.ClientFactory(organisation=org, hostname=""), "client_hostname_not_empty"
    )


def test_it_refuses_a_kms_host_on_a_mak_client(org):
    host = factories.KmsHostFactory(organisation=org)
    refuses(
        lambda: factories.ClientFactory(organisation=org, activation_method="mak", kms_host=host),
        "client_kms_host_only_for_kms",
    )


def test_it_refuses_an_unknown_licence_state_or_flag(org):
    refuses(
        lambda: factories.ClientFactory(organisation=org, license_status=7),
        "client_license_status_valid",
    )
    refuses(
        lambda: factories.ClientFactory(organisation=org, compliance_flag="fine"),
        "client_flag_valid",
    )


def test_it_refuses_zero_limits_and_overuse_of_a_key(org):
    pool = factories.MakPoolFactory(organisation=org)
    refuses(
        lambda: factories.MakKeyFactory(pool=pool, activation_limit=0), "mak_key_limit_positive"
    )
    key = factories.MakKeyFactory(pool=pool, activation_limit=2)
    refuses(
        lambda: MakKey.objects.filter(pk=key.pk).update(activations_used=3),
        "mak_key_used_within_limit",
    )
    refuses(
        lambda: MakKey.objects.filter(pk=key.pk).update(activation_limit=-1), "check constraint"
    )


def test_it_refuses_a_duplicate_key_across_organisations(org, other_org):
    key = factories.product_key(99)
    factories.MakKeyFactory(pool=factories.MakPoolFactory(organisation=org), key=key)
    refuses(
        lambda: factories.MakKeyFactory(
            pool=factories.MakPoolFactory(organisation=other_org), key=key
        ),
        "fingerprint",
    )


def test_one_pool_per_edition_per_organisation(org):
    factories.MakPoolFactory(organisation=org)
    refuses(lambda: factories.MakPoolFactory(organisation=org), "mak_pool_one_per_edition")


def _request(pool, requester, **kwargs):
    return ActivationRequest.objects.create(
        pool=pool,
        quantity=kwargs.pop("quantity", 5),
        justification="New site",
        requested_by=requester,
        **kwargs,
    )


def test_requests_need_a_sane_quantity_and_a_justification(org, admin_user):
    pool = factories.MakPoolFactory(organisation=org)
    for quantity in (0, 100_001):
        refuses(
            lambda q=quantity: _request(pool, admin_user, quantity=q),
            "activation_request_quantity_range",
        )
    refuses(
        lambda: ActivationRequest.objects.create(
            pool=pool, quantity=1, justification="", requested_by=admin_user
        ),
        "activation_request_justified",
    )


def test_the_database_enforces_four_eyes_and_a_consistent_decision(org, admin_user, manager_user):
    pool = factories.MakPoolFactory(organisation=org)
    request = _request(pool, admin_user)
    now = timezone.now()
    refuses(
        lambda: ActivationRequest.objects.filter(pk=request.pk).update(
            status="approved", decided_by=admin_user, decided_at=now
        ),
        "activation_request_four_eyes",
    )
    refuses(
        lambda: ActivationRequest.objects.filter(pk=request.pk).update(status="approved"),
        "activation_request_decision_consistent",
    )
    ActivationRequest.objects.filter(pk=request.pk).update(
        status="approved", decided_by=manager_user, decided_at=now
    )
    # Cancelling one's own request is allowed.
    mine = _request(pool, admin_user)
    ActivationRequest.objects.filter(pk=mine.pk).update(
        status="cancelled", decided_by=admin_user, decided_at=now
    )


def test_one_membership_per_user_and_organisation(org, admin_user):
    refuses(
        lambda: Membership.objects.create(user=admin_user, organisation=org, role=Role.AUDITOR),
        "membership_one_role_per_org",
    )
    refuses(
        lambda: Membership.objects.create(
            user=factories.UserFactory(), organisation=org, role="owner"
        ),
        "membership_role_valid",
    )


def test_organisation_at_risk_days_must_leave_room_in_180_days():
    refuses(
        lambda: Organisation.objects.create(name="X", slug="x", at_risk_days=0),
        "organisation_at_risk_days_range",
    )
    refuses(
        lambda: Organisation.objects.create(name="Y", slug="y", at_risk_days=180),
        "organisation_at_risk_days_range",
    )


def test_editions_need_a_key_shaped_gvlk():
    refuses(
        lambda: Edition.objects.create(
            name="Bad",
            version="2024",
            product="proplus",
            gvlk="AAAAA-BBBBB-CCCCC-DDDDD-EEEEE",
            kms_product_group="office_2024",
        ),
        "edition_gvlk_shape",
    )


def test_reporter_tokens_belong_to_a_host(org):
    now = timezone.now()
    refuses(
        lambda: ApiToken.objects.create(
            organisation=org,
            name="r",
            scope="reporter",
            prefix="x",
            digest="d",
            created_at=now,
            expires_at=now + timezone.timedelta(days=1),
        ),
        "api_token_reporter_has_host",
    )


def test_kms_host_port_and_threshold_ranges(org):
    refuses(lambda: factories.KmsHostFactory(organisation=org, port=70000), "kms_host_port_range")
    refuses(
        lambda: factories.KmsHostFactory(organisation=org, activation_threshold=0),
        "kms_host_threshold_range",
    )


def test_client_count_is_unchanged_after_refusals(org):
    factories.ClientFactory(organisation=org, hostname="pc-a")
    refuses(
        lambda: factories.ClientFactory(organisation=org, hostname="pc-a"),
        "client_hostname_per_org",
    )
    assert Client.objects.filter(organisation=org).count() == 1
