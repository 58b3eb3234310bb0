"""The extra-activation request form picks the agreement number from the organisation's
agreements, and keeps accepting a pool's number recorded before agreements existed."""

from __future__ import annotations

from licensing.models import ActivationRequest
from tests import factories
from tests.licences.conftest import make_agreement


def _form_data(key, number, quantity=50):
    # A different quantity per request: the same request while one is pending is refused.
    return {
        "key": key.pk,
        "agreement_number": number,
        "product_name": "Office LTSC Professional Plus 2024",
        "quantity": quantity,
        "justification": "New office",
    }


def test_the_number_is_picked_from_the_organisations_agreements(
    as_admin, admin_user, org, other_org
):
    key = factories.MakKeyFactory(pool__organisation=org, pool__agreement_number="OLD-123")
    ActivationRequest.objects.create(
        pool=key.pool,
        key=key,
        key_last5=key.last5,
        agreement_number="EARLIER-7",
        product_name="Office",
        quantity=5,
        justification="before agreements were recorded",
        requested_by=admin_user,
    )
    make_agreement(org, "EA-1000")
    make_agreement(org, "MPSA-2", programme="mpsa")
    make_agreement(other_org, "THEIRS-9")
    url = f"/pools/{key.pool_id}/request/"
    field = as_admin.get(url).context["form"].fields["agreement_number"]
    values = [v for v, _ in field.choices]
    assert values == ["", "EA-1000", "MPSA-2", "OLD-123", "EARLIER-7"]
    response = as_admin.post(url, _form_data(key, "THEIRS-9"))
    assert response.status_code == 200 and "agreement_number" in response.context["form"].errors
    assert as_admin.post(url, _form_data(key, "EA-1000")).status_code == 302
    assert as_admin.post(url, _form_data(key, "OLD-123", 51)).status_code == 302
    assert as_admin.post(url, _form_data(key, "EARLIER-7", 52)).status_code == 302
    assert sorted(ActivationRequest.objects.values_list("agreement_number", flat=True)) == [
        "EA-1000",
        "EARLIER-7",
        "EARLIER-7",
        "OLD-123",
    ]


def test_without_agreements_the_number_is_typed_as_before(as_admin, org):
    key = factories.MakKeyFactory(pool__organisation=org, pool__agreement_number="")
    url = f"/pools/{key.pool_id}/request/"
    assert (
        as_admin.get(url).context["form"].fields["agreement_number"].__class__.__name__
        == "CharField"
    )
    assert as_admin.post(url, _form_data(key, "TYPED-1")).status_code == 302
    assert ActivationRequest.objects.get().agreement_number == "TYPED-1"
