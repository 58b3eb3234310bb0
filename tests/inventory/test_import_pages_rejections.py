"""The rejected-rows CSV of an import is an export like the others: audited, not cached,
and 404 for outsiders."""

import pytest
from django.test import Client
from django.utils import timezone

from licensing.models import AuditEvent, ImportRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(org):
    return ImportRun.objects.create(
        organisation=org, source="csv", status="done", started_at=timezone.now()
    )


def test_rejected_rows_download_is_audited_and_not_cached(admin_user, org, run):
    client = Client()
    client.force_login(admin_user)
    response = client.get(f"/imports/{run.pk}/rejected.csv")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="export.import-rejections")
    assert event.organisation_id == org.pk
    assert event.object_id == str(run.pk)


def test_rejected_rows_download_is_not_found_for_outsiders(outsider, run):
    client = Client()
    client.force_login(outsider)
    assert client.get(f"/imports/{run.pk}/rejected.csv").status_code == 404
    assert not AuditEvent.objects.filter(action="export.import-rejections").exists()
