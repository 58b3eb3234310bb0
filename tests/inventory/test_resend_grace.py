"""A re-sent record that reports its remaining grace but no `last_seen_at` changes nothing when
it comes again within the hour (API and CSV): its grace end is not moved by the resend."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from licensing.models import Client, ClientFlagChange
from licensing.services.inventory import csv_import

pytestmark = pytest.mark.django_db

RECORD = {
    "hostname": "pc-grace",
    "activation_method": "kms",
    "license_status": "oob_grace",
    "grace_minutes": 20000,
    "installed_at": "2026-06-10T00:00:00Z",
}


def post(client, headers):
    return client.post(
        "/api/v1/inventory/clients/",
        data=json.dumps({"clients": [RECORD]}),
        content_type="application/json",
        **headers,
    )


def test_api_resend_with_grace_minutes_and_no_last_seen_is_unchanged(
    frozen, client, org, agent_headers
):
    assert post(client, agent_headers).json()["results"][0]["result"] == "created"
    before = list(Client.objects.values())
    history = ClientFlagChange.objects.count()
    frozen.shift(timedelta(minutes=20))
    r = post(client, agent_headers)
    assert r.json()["results"][0]["result"] == "unchanged", r.json()
    assert list(Client.objects.values()) == before
    assert ClientFlagChange.objects.count() == history


def test_csv_resend_with_grace_minutes_and_no_last_seen_is_unchanged(frozen, org):
    text = "hostname,activation_method,license_status,grace_minutes,installed_at\n"
    text += "pc-grace,kms,oob_grace,20000,2026-06-10T00:00:00Z\n"

    def run():
        return csv_import.import_csv(
            actor="cli", organisation=org, stream=io.BytesIO(text.encode()), filename="g.csv"
        )

    assert run().created == 1
    before = list(Client.objects.values())
    frozen.shift(timedelta(minutes=30))
    again = run()
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert list(Client.objects.values()) == before


def test_a_report_an_hour_later_moves_last_seen_and_the_grace_end(
    frozen, client, org, agent_headers
):
    post(client, agent_headers)
    first = Client.objects.get(hostname="pc-grace")
    frozen.shift(timedelta(hours=2))
    assert post(client, agent_headers).json()["results"][0]["result"] == "updated"
    later = Client.objects.get(hostname="pc-grace")
    assert later.last_seen_at - first.last_seen_at == timedelta(hours=2)
    assert later.renewal_deadline - first.renewal_deadline == timedelta(hours=2)
