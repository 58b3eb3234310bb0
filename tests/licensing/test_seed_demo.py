import io

import pytest
from django.core.management import call_command

from licensing.models import (
    Client,
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
