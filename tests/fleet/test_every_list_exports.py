"""Every list has a CSV export through licensing/exports.py: the MAK activation ledger, the KMS
DNS findings, the import history and the edition catalogue (besides clients, audit, pools,
keys, requests and hosts), each scoped to the caller's organisation, audited and on Reports."""

from __future__ import annotations

import pytest
from django.utils import timezone

from licensing.models import AuditEvent, DnsFinding, Edition, ImportRun, MakActivation
from tests import factories as f

pytestmark = pytest.mark.django_db


def csv_of(response) -> list[str]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content).decode().splitlines()


@pytest.fixture
def rows(org, other_org, admin_user):
    now = timezone.now()
    data = {}
    for o, tag in ((org, "mine"), (other_org, "theirs")):
        pool = f.MakPoolFactory(organisation=o)
        key = f.MakKeyFactory(pool=pool)
        client = f.ClientFactory(organisation=o, hostname=f"pc-{tag}")
        MakActivation.objects.create(
            key=key, pool_id=key.pool_id, client=client, reason="first", activated_at=now
        )
        DnsFinding.objects.create(
            organisation=o,
            domain=f"{tag}.test",
            target=f"rogue.{tag}.test",
            port=1688,
            first_seen_at=now,
            last_seen_at=now,
        )
        ImportRun.objects.create(
            organisation=o,
            source="csv",
            status="done",
            started_at=now,
            filename=f"{tag}.csv",
        )
        data[tag] = pool
    return data


@pytest.mark.parametrize(
    ("url", "name", "header", "mine"),
    [
        ("/pools/activations-export.csv", "mak-activations", "activation_id,pool_id", "pc-mine"),
        ("/kms/findings/export.csv", "kms-findings", "domain,target,port", "rogue.mine.test"),
        ("/imports/export.csv", "imports", "import_id,source,status", "mine.csv"),
    ],
)
def test_each_list_exports_its_organisations_rows_only(
    as_auditor, org, rows, url, name, header, mine
):
    lines = csv_of(as_auditor.get(url))
    assert lines[0].startswith(header)
    body = "\n".join(lines[1:])
    assert mine in body and "theirs" not in body
    event = AuditEvent.objects.get(action=f"export.{name}")
    assert event.organisation_id == org.pk


def test_the_ledger_export_filters_by_pool_and_refuses_a_bad_filter(as_admin, org, rows):
    pool = rows["mine"]
    assert len(csv_of(as_admin.get(f"/pools/activations-export.csv?pool={pool.pk}"))) == 2
    other = rows["theirs"]
    assert as_admin.get(f"/pools/activations-export.csv?pool={other.pk}").status_code == 400
    assert as_admin.get("/pools/activations-export.csv?pool=x").status_code == 400


def test_the_ledger_export_never_carries_a_whole_key(as_admin, rows):
    key = rows["mine"].keys.get()
    text = "\n".join(csv_of(as_admin.get("/pools/activations-export.csv")))
    assert key.last5 in text
    from licensing import crypto

    assert crypto.decrypt_product_key(key.ciphertext) not in text


def test_the_edition_catalogue_exports(as_auditor):
    lines = csv_of(as_auditor.get("/editions/export.csv"))
    assert lines[0] == "name,version,product,gvlk,sku_id,kms_product_group,builtin"
    assert len(lines) == 1 + Edition.objects.count()


def test_outsiders_get_404_and_tokens_work(client, as_outsider, org, admin_user, api_token_for):
    for url in ("/pools/activations-export.csv", "/kms/findings/export.csv", "/imports/export.csv"):
        assert as_outsider.get(f"{url}?organisation={org.slug}").status_code == 404
        response = client.get(url, **api_token_for(admin_user, org))
        assert response.status_code == 200


def test_the_reports_page_lists_the_new_exports(as_auditor):
    html = as_auditor.get("/reports/").content.decode()
    for url in (
        "/pools/activations-export.csv",
        "/kms/findings/export.csv",
        "/imports/export.csv",
        "/editions/export.csv",
    ):
        assert url in html
