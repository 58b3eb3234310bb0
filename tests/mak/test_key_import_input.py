"""A malformed key-import CSV is a clear 400 (API) or a form error (page), never a 500."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from licensing.models import MakKey
from tests import factories as f

pytestmark = pytest.mark.django_db

HUGE_FIELD_CSV = "key,activation_limit,label\n" + f.product_key(1) + ",5," + "x" * 200_000 + "\n"


def test_api_import_with_an_oversized_csv_field_is_a_400_and_stores_nothing(
    admin_user, org, api_token_for
):
    pool = f.MakPoolFactory(organisation=org)
    client = Client(raise_request_exception=False)
    response = client.post(
        "/api/v1/mak-keys/import/",
        data=json.dumps({"pool": pool.pk, "csv": HUGE_FIELD_CSV}),
        content_type="application/json",
        **api_token_for(admin_user, org),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "import_rejected"
    assert "CSV" in json.dumps(response.json()["errors"])
    assert not MakKey.objects.filter(pool=pool).exists()


def test_page_import_with_an_oversized_csv_field_shows_the_problem(admin_user, org):
    pool = f.MakPoolFactory(organisation=org)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    response = client.post(
        f"/pools/{pool.pk}/keys/import/",
        {"file": SimpleUploadedFile("keys.csv", HUGE_FIELD_CSV.encode())},
    )
    assert response.status_code == 200
    assert b"Nothing was imported" in response.content or b"not a readable CSV" in response.content
    assert not MakKey.objects.filter(pool=pool).exists()
