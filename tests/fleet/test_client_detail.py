"""Client detail: licence state, deadline, why flagged, masked key, histories."""

from __future__ import annotations

from django.utils import timezone

from licensing.models import ActivationReason, ClientFlagChange, MakActivation
from tests.factories import product_key


def test_detail_shows_deadline_reason_and_kms_host(as_auditor, fleet):
    body = as_auditor.get(f"/clients/{fleet['alpha'].pk}/").content.decode()
    assert "No KMS renewal for 180 days" in body
    assert "kms1.contoso.test" in body
    assert "days ago" in body


def test_detail_masks_the_mak_and_lists_activation_and_flag_history(as_admin, fleet, admin_user):
    gamma, key = fleet["gamma"], fleet["key"]
    MakActivation.objects.create(
        key=key,
        pool_id=key.pool_id,
        client=gamma,
        reason=ActivationReason.FIRST_ACTIVATION,
        activated_at=timezone.now(),
        recorded_by=admin_user,
    )
    ClientFlagChange.objects.create(
        client=gamma,
        organisation=gamma.organisation,
        from_flag="ok",
        to_flag="expired",
        reason="lapsed",
        changed_at=timezone.now(),
        changed_by="sweep",
    )
    body = as_admin.get(f"/clients/{gamma.pk}/").content.decode()
    assert key.masked in body and key.last5 in body
    assert "First activation" in body and "lapsed" in body
    for n in range(1, 200):  # the clear key of any factory key never reaches the page
        if product_key(n)[-5:] == key.last5:
            assert product_key(n) not in body


def test_detail_of_another_organisations_client_is_404(as_admin, fleet):
    assert as_admin.get(f"/clients/{fleet['outsider'].pk}/").status_code == 404


def test_a_renewing_client_without_an_activation_date_is_not_shown_as_never_activated(
    as_auditor, org
):
    from tests import factories

    renewing = factories.ClientFactory(
        organisation=org,
        hostname="renews-01",
        license_status=1,
        last_activation_at=None,
        last_renewal_at=timezone.now(),
    )
    fresh = factories.ClientFactory(
        organisation=org,
        hostname="fresh-01",
        license_status=2,
        last_activation_at=None,
        last_renewal_at=None,
    )
    last_activation = '<dt class="col-sm-5">Last activation</dt><dd class="col-sm-7">{}</dd>'
    body = as_auditor.get(f"/clients/{renewing.pk}/").content.decode()
    assert last_activation.format("not reported") in body
    body = as_auditor.get(f"/clients/{fresh.pk}/").content.decode()
    assert last_activation.format("never") in body
