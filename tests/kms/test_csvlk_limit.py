"""One KMS host key (CSVLK) serves at most six live hosts of an organisation (Microsoft's limit,
0xC004C008): the seventh is refused with the reason, on the form, the service and the API."""

import pytest

from licensing.models import KmsHost
from licensing.services.errors import InvalidInput
from licensing.services.kms import hosts
from tests.factories import product_key

pytestmark = pytest.mark.django_db
KEY = product_key(606)


def register(actor, org, n, key=KEY):
    return hosts.register_host(
        actor=actor,
        organisation=org,
        fqdn=f"kms{n}.contoso.com",
        product_group="office_2024",
        host_key=key,
    )


def test_a_seventh_host_with_the_same_key_is_refused(admin_user, org):
    for n in range(6):
        register(admin_user, org, n)
    with pytest.raises(InvalidInput) as exc:
        register(admin_user, org, 6)
    assert "at most 6 hosts" in exc.value.field_errors["host_key"][0]
    assert KmsHost.objects.filter(organisation=org).count() == 6


def test_a_retired_host_frees_its_place_and_other_keys_are_counted_apart(admin_user, org):
    made = [register(admin_user, org, n) for n in range(6)]
    register(admin_user, org, 10, key=product_key(607))
    hosts.retire_host(actor=admin_user, host=made[0])
    register(admin_user, org, 6)
    assert KmsHost.objects.filter(host_key_last5=KEY[-5:], retired_at__isnull=True).count() == 6


def test_changing_a_hosts_key_to_a_full_key_is_refused(admin_user, org):
    for n in range(6):
        register(admin_user, org, n)
    other = register(admin_user, org, 7, key=product_key(608))
    with pytest.raises(InvalidInput):
        hosts.update_host(actor=admin_user, host=other, host_key=KEY)
    other.refresh_from_db()
    assert other.host_key_last5 == product_key(608)[-5:]


def test_the_form_and_the_api_show_the_reason(as_admin, admin_user, org, client, api_token_for):
    for n in range(6):
        register(admin_user, org, n)
    response = as_admin.post(
        "/kms/hosts/new/",
        {
            "fqdn": "kms8.contoso.com",
            "port": 1688,
            "product_group": "office_2024",
            "host_key": KEY,
            "activation_threshold": 5,
            "poll_interval_minutes": 15,
        },
    )
    assert response.status_code == 200 and "at most 6 hosts" in response.content.decode()
    r = client.post(
        "/api/v1/kms-hosts/",
        {"fqdn": "kms9.contoso.com", "product_group": "office_2024", "host_key": KEY},
        content_type="application/json",
        **api_token_for(admin_user, org),
    )
    assert r.status_code == 400 and "at most 6 hosts" in str(r.json())
