"""The Django admin cannot create activation requests: a request that is born approved (or
decided by anyone) would skip the approval service and its four-eyes rule."""

import pytest
from django.test import Client

from licensing.models import ActivationRequest, RequestStatus
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_superuser_cannot_add_an_activation_request_in_the_admin(superuser, org, manager_user):
    pool = f.MakPoolFactory(organisation=org)
    key = f.MakKeyFactory(pool=pool)
    client = Client()
    client.force_login(superuser)
    assert client.get("/admin/licensing/activationrequest/add/").status_code == 403
    response = client.post(
        "/admin/licensing/activationrequest/add/",
        {
            "pool": pool.pk,
            "key": key.pk,
            "quantity": 500,
            "justification": "needed",
            "status": RequestStatus.APPROVED,
            "requested_by": superuser.pk,
            "decided_by": manager_user.pk,
            "decided_at_0": "2026-01-01",
            "decided_at_1": "10:00:00",
        },
    )
    assert response.status_code == 403
    assert not ActivationRequest.objects.exists()


def test_superuser_still_sees_activation_requests_in_the_admin(superuser):
    client = Client()
    client.force_login(superuser)
    assert client.get("/admin/licensing/activationrequest/").status_code == 200
