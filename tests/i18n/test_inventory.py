"""The client list, the client page, the import page and the daily digest in Norwegian (issue 15):
Norwegian headings, flag labels and flag reasons, numbers grouped `1 000`, dates `dd.mm.yyyy`;
the client CSV stays English and ISO 8601 whatever the browser asks for; the digest goes out in
each recipient's language.

These tests read the compiled `nb` catalogue (locale/nb/LC_MESSAGES/django.mo)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import translation

from licensing.models import Client, ComplianceFlag, Profile, Role
from licensing.services.inventory import rules, sweep
from licensing.services.inventory.digest import send_daily_digests
from licensing.services.inventory.reasons import REASONS, translated
from tests import factories

pytestmark = pytest.mark.django_db

NB = {"HTTP_ACCEPT_LANGUAGE": "nb"}
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def fleet(org, frozen_now):
    """One expired KMS client (renewed 190 days ago, 7 Dec 2025), one at risk, one fine."""
    made = {}
    for name, renewed in (("pc-expired", 190), ("pc-at-risk", 160), ("pc-fine", 2)):
        made[name] = factories.ClientFactory(
            organisation=org,
            hostname=name,
            activation_method="kms",
            license_status=1,
            installed_at=NOW - timedelta(days=400),
            last_activation_at=NOW - timedelta(days=300),
            last_renewal_at=NOW - timedelta(days=renewed),
            last_seen_at=NOW - timedelta(days=1),
        )
    sweep.sweep(full=True)
    return {name: Client.objects.get(pk=c.pk) for name, c in made.items()}


@pytest.fixture
def frozen_now():
    import time_machine

    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def visible(response) -> str:
    return response.content.decode()


def test_the_client_list_in_norwegian(as_admin, org, fleet):
    page = visible(as_admin.get(f"/clients/?organisation={org.slug}", **NB))
    # Headings, column titles and flag labels in Norwegian.
    for norwegian in ("Klienter", "Vertsnavn", "Merknad", "Lisensstatus", "Siste fornyelse"):
        assert norwegian in page
    assert ">Utløpt<" in page and ">I faresonen<" in page and "Lisensiert" in page
    assert "Ta ut av bruk" in page and "Kontroller på nytt nå" in page
    for english in ("Licence state", "Renewal deadline", ">Expired<", ">At risk<", "Re-check now"):
        assert english not in page
    # The flag reason in the badge's title, in Norwegian.
    assert "Ingen KMS-fornyelse på 180 dager eller mer" in page
    assert "No KMS renewal" not in page
    # Dates: dd.mm.yyyy shown, ISO only in the machine-readable attribute.
    assert ">07.12.2025<" in page and ">2025-12-07<" not in page
    assert 'datetime="2025-12-07T12:00:00+00:00"' in page


def test_the_client_list_stays_english_by_default(as_admin, org, fleet):
    page = visible(as_admin.get(f"/clients/?organisation={org.slug}"))
    assert "Licence state" in page and ">Expired<" in page and ">2025-12-07<" in page
    assert "Lisensstatus" not in page and ">Utløpt<" not in page


def test_the_row_badges_follow_the_page_language(as_admin, org, frozen_now):
    """The list's rows are drawn by the Jinja2 engine (licensing/templating.py): their words come
    from the same catalogue, in the language of each request."""
    factories.ClientFactory(
        organisation=org,
        hostname="pc-gone",
        last_renewal_at=None,
        last_seen_at=NOW - timedelta(days=org.stale_after_days + 5),
        retired_at=NOW - timedelta(days=1),
    )
    url = f"/clients/?organisation={org.slug}&retired=true"
    norwegian = visible(as_admin.get(url, **NB))
    assert 'data-testid="retired">tatt ut av bruk<' in norwegian
    assert ">foreldet<" in norwegian and ">aldri<" in norwegian
    english = visible(as_admin.get(url))
    assert 'data-testid="retired">retired<' in english
    assert ">stale<" in english and ">never<" in english
    assert "foreldet" not in english


def test_counts_use_the_norwegian_grouping(as_admin, org, frozen_now):
    Client.objects.bulk_create(
        Client(
            organisation=org,
            hostname=f"pc-{i:05d}",
            activation_method="kms",
            license_status=1,
            last_renewal_at=NOW - timedelta(days=2),
        )
        for i in range(1234)
    )
    page = visible(as_admin.get(f"/clients/?organisation={org.slug}", **NB))
    assert "alle 1\xa0234 samsvarende rader (alle sider)" in page
    assert "1,234" not in page
    english = visible(as_admin.get(f"/clients/?organisation={org.slug}"))
    assert "all 1,234 matching rows (every page)" in english


def test_the_client_page_in_norwegian(as_admin, fleet):
    client = fleet["pc-expired"]
    page = visible(as_admin.get(f"/clients/{client.pk}/", **NB))
    assert "Årsak til merknaden:" in page and "Hva du gjør" in page
    assert "Ingen KMS-fornyelse på 180 dager eller mer" in page
    assert "Merknadshistorikk" in page and "Frist for fornyelse" in page
    assert ">Utløpt<" in page and "Lisensiert" in page
    # Renewal deadline 180 days after the renewal of 7 Dec 2025: 5 Jun 2026, ten days ago.
    assert "05.06.2026 12:00" in page and "(for 10 dager siden)" in page
    for english in ("Why flagged", "What to do", "Flag history", "No KMS renewal", "days ago"):
        assert english not in page
    # The commands stay as they are.
    assert "/act" in page and "OSPP.VBS" in page


def test_the_import_page_in_norwegian(as_admin, org):
    page = visible(as_admin.get(f"/imports/?organisation={org.slug}", **NB))
    assert "Inventarimport" in page and "Importhistorikk" in page and "Importer CSV" in page
    assert "Inventory import" not in page and "Import history" not in page


def test_the_client_csv_stays_english_and_iso(as_admin, org, fleet):
    response = as_admin.get(f"/clients/export.csv?organisation={org.slug}", **NB)
    body = b"".join(response.streaming_content).decode()
    rows = {row["hostname"]: row for row in csv.DictReader(io.StringIO(body))}
    expired = rows["pc-expired"]
    assert expired["license_state"] == "Licensed"
    assert expired["compliance_flag"] == "expired"
    assert expired["flag_reason"].startswith("No KMS renewal for 180 days or more")
    assert expired["last_renewal_at"].startswith("2025-12-07")
    assert "Lisensiert" not in body and "07.12.2025" not in body and "Ingen KMS" not in body


def test_the_digest_goes_out_in_each_recipients_language(org, admin_user, frozen_now):
    norwegian = factories.UserFactory(username="kari", email="kari@example.test")
    factories.MembershipFactory(user=norwegian, organisation=org, role=Role.ADMIN)
    Profile.objects.create(user=norwegian, language="nb")
    for i, renewed in enumerate((190, 195, 160)):
        factories.ClientFactory(
            organisation=org,
            hostname=f"pc-{i}",
            activation_method="kms",
            license_status=1,
            last_activation_at=NOW - timedelta(days=300),
            last_renewal_at=NOW - timedelta(days=renewed),
        )
    sweep.sweep(full=True)
    assert send_daily_digests()["sent"] == 1
    by_recipient = {tuple(m.to): m for m in mail.outbox}
    assert set(by_recipient) == {(admin_user.email,), (norwegian.email,)}
    nb = by_recipient[(norwegian.email,)]
    assert nb.subject == "[Volume Licensing] Contoso Test: 3 klient(er) med ny merknad"
    assert "Klienter som har fått ny merknad siden forrige sammendrag (14.06.2026 12:00 UTC)" in (
        nb.body
    )
    assert "Utløpt: 2" in nb.body and "I faresonen: 1" in nb.body and "Se dem i portalen" in nb.body
    en = by_recipient[(admin_user.email,)]
    assert en.subject == "[Volume Licensing] Contoso Test: 3 client(s) newly flagged"
    assert "(2026-06-14 12:00 UTC)" in en.body
    assert "Expired: 2" in en.body and "At risk: 1" in en.body and "Utløpt" not in en.body


def test_every_flag_reason_the_rules_write_has_a_norwegian_sentence(org):
    """Each branch of the rules (rules.py) gives a sentence `reasons.REASONS` knows, so no page
    shows an English reason in Norwegian."""
    kms, mak = "kms", "mak"
    cases = [
        {"activation_method": kms, "license_status": 0},
        {"activation_method": kms, "license_status": 5},
        {"activation_method": kms, "license_status": 4},
        {"activation_method": mak, "license_status": 3},
        {"activation_method": kms, "license_status": 3},
        {"activation_method": mak, "license_status": 1, "reactivation_required": True},
        {"activation_method": kms, "license_status": 6},
        {"activation_method": kms, "license_status": 2},
        {"activation_method": kms, "license_status": 2, "installed_at": NOW - timedelta(days=40)},
        {"activation_method": kms, "license_status": 2, "installed_at": NOW - timedelta(days=27)},
        {"activation_method": kms, "license_status": 2, "installed_at": NOW - timedelta(days=3)},
        {
            "activation_method": kms,
            "license_status": 6,
            "grace_minutes": 60,
            "last_seen_at": NOW - timedelta(days=1),
        },
        {
            "activation_method": kms,
            "license_status": 6,
            "grace_minutes": 60 * 24 * 2,
            "last_seen_at": NOW,
        },
        {"activation_method": kms, "license_status": 1, "last_renewal_at": NOW - timedelta(220)},
        {"activation_method": kms, "license_status": 1, "last_renewal_at": NOW - timedelta(185)},
        {"activation_method": kms, "license_status": 1, "last_renewal_at": NOW - timedelta(160)},
        {"activation_method": kms, "license_status": 1},
    ]
    reasons = {rules.evaluate(now=NOW, **case).reason for case in cases}
    assert "" not in reasons and len(reasons) == len(cases)
    with translation.override("nb"):
        untranslated = [r for r in reasons if translated(r) == r]
        assert untranslated == []
        assert translated(
            "Fewer than 30 days of KMS activation left: no renewal for 150 days or more"
        ) == (
            "Færre enn 30 dager igjen av KMS-aktiveringen: ingen fornyelse på 150 dager eller mer"
        )
    assert len(REASONS) == len(cases)
    # A text the rules do not write is shown as stored.
    with translation.override("nb"):
        assert translated("Retired by hand") == "Retired by hand"
    assert ComplianceFlag.EXPIRED.label == "Expired"
