"""KMS host event 12290 exports (the upload, the command, CMID matching)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from licensing.models import Client
from licensing.services.inventory import events
from tests import factories
from tests.inventory.conftest import NOW, days_ago
from tests.samples import SAMPLES

pytestmark = pytest.mark.django_db

CMID_A = "36f27b39-2fd5-440b-be67-a09996d27a38"
CMID_B = "11111111-2fd5-440b-be67-a09996d27a38"
SKU = "68531fb9-5511-4989-97be-d11a0f55633f"


def export(*lines: str) -> str:
    rows = ['"TimeCreated","Id","Info"']
    rows += [f'"2026-06-15 10:00:00","12290","{line}"' for line in lines]
    return "\n".join(rows) + "\n"


def test_12290_export_sets_renewals_states_and_the_host(frozen, org):
    host = factories.KmsHostFactory(organisation=org, fqdn="kms01.contoso.test")
    renewed = factories.ClientFactory(
        organisation=org,
        hostname="pc-1",
        last_renewal_at=days_ago(170),
        last_seen_at=days_ago(170),
        license_status=1,
    )
    text = export(
        f"0x0,5,PC-1.contoso.test,{CMID_A},2026/6/10 9:00,0,1,100000,{SKU}",
        f"0x0,5,pc-1.contoso.test,{CMID_A},2026/6/14 9:00,0,1,100000,{SKU}",
        f"0xC004F038,5,pc-2.contoso.test,{CMID_B},2026/6/14 9:30,1,2,20000,{SKU}",
        "garbage line that is not an event",
    )
    run = events.import_kms_events(actor="cli", organisation=org, text=text, kms_host=host)
    assert run.status == "done" and run.received == 4 and run.rejected == 1
    renewed.refresh_from_db()
    assert renewed.last_renewal_at.isoformat() == "2026-06-14T09:00:00+00:00"
    assert renewed.kms_host == host and renewed.compliance_flag == "ok"
    # The events are older than what a later report said: dates move forward, state stays.
    factories.ClientFactory(organisation=org, hostname="pc-3", license_status=5, last_seen_at=NOW)
    events.import_kms_events(
        actor="cli",
        organisation=org,
        text=export(f"0x0,5,pc-3,{CMID_B},2026/6/14 9:00,0,1,0,{SKU}"),
    )
    later = Client.objects.get(hostname="pc-3")
    assert later.license_status == 5 and later.last_renewal_at.day == 14
    pending = Client.objects.get(organisation=org, hostname="pc-2")
    assert pending.license_status == 2 and pending.grace_minutes == 20000
    assert pending.fqdn == "pc-2.contoso.test" and str(pending.cmid) == CMID_B
    assert pending.last_renewal_at is None
    assert run.rejections.get().position == 5  # the line of the file


def test_12290_matches_a_renamed_client_by_its_unique_cmid(frozen, org):
    c = factories.ClientFactory(organisation=org, hostname="old-name", cmid=CMID_A)
    text = export(f"0x0,5,new-name.contoso.test,{CMID_A},2026/6/14 9:00,0,1,0,{SKU}")
    run = events.import_kms_events(actor="cli", organisation=org, text=text)
    c.refresh_from_db()
    assert run.updated == 1 and c.last_renewal_at.date().isoformat() == "2026-06-14"
    assert not Client.objects.filter(hostname="new-name").exists()
    assert "matched by CMID" in run.message


def test_12290_notes_cmids_shared_by_unsysprepped_images(frozen, org):
    text = export(
        f"0x0,5,pc-a,{CMID_A},2026/6/14 9:00,0,1,0,{SKU}",
        f"0x0,5,pc-b,{CMID_A},2026/6/14 9:05,0,1,0,{SKU}",
    )
    run = events.import_kms_events(actor="cli", organisation=org, text=text)
    assert run.created == 2 and "sysprep" in run.message


def test_the_supportarticle_sample_is_read_and_its_placeholder_event_refused(frozen, org):
    # The article's only 12290 event names "<KMS Client name>": no readable event, so the
    # file is refused with the reason (not recorded as a "done" run of rejections).
    text = (SAMPLES / "kms-events-12288-12290-0xC004F06C-supportarticles.txt").read_text()
    run = events.import_kms_events(actor="cli", organisation=org, text=text)
    assert run.status == "refused" and "field 3 (client name)" in run.message


def test_an_export_without_events_is_refused(org):
    run = events.import_kms_events(actor="cli", organisation=org, text="")
    assert run.status == "refused" and not Client.objects.exists()


def test_import_kms_events_command(tmp_path, frozen, org):
    factories.KmsHostFactory(organisation=org, fqdn="kms01.contoso.test")
    path = tmp_path / "events.csv"
    path.write_text(export(f"0x0,5,pc-9,{CMID_A},2026/6/14 9:00,0,1,0,{SKU}"))
    out = io.StringIO()
    call_command(
        "import_kms_events", org.slug, str(path), "--host", "KMS01.contoso.test", stdout=out
    )
    assert "1 created" in out.getvalue()
    assert Client.objects.get(hostname="pc-9").kms_host.fqdn == "kms01.contoso.test"
