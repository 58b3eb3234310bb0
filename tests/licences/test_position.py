"""The licence position: the worked example, product lines, organisations, the summary."""

from __future__ import annotations

from licensing.models import Edition, Product
from licensing.services.licences.position import position_rows, shortfalls, summarise
from tests.licences.conftest import PRO_PLUS, STANDARD, entitle, install, make_agreement


def _by_name(org):
    return {r.edition.name: r for r in position_rows(org)}


def test_newer_licences_cover_older_versions_of_the_same_edition_only(org, position_data):
    rows = _by_name(org)
    p24, p21, p19 = (rows[PRO_PLUS[v]] for v in ("2024", "2021", "2019"))
    # 10 Pro Plus 2024 licences: 4 for 2024, carried down to 5 of 2021 and 1 of 2019.
    assert (p24.installed, p24.licences, p24.covered, p24.surplus, p24.shortfall) == (
        4,
        10,
        4,
        0,
        0,
    )
    assert (p21.installed, p21.licences, p21.covered, p21.covered_by_newer) == (5, 0, 5, 5)
    assert (p19.installed, p19.covered, p19.covered_by_newer, p19.shortfall) == (3, 1, 1, 2)
    # Standard licences never cover Professional Plus: 3 left over while Pro Plus is short.
    std = rows[STANDARD["2024"]]
    assert (std.installed, std.licences, std.covered, std.surplus, std.shortfall) == (2, 5, 2, 3, 0)
    assert set(rows) == {PRO_PLUS["2024"], PRO_PLUS["2021"], PRO_PLUS["2019"], STANDARD["2024"]}


def test_summary_and_shortfalls(org, other_org, position_data):
    s = summarise(org)
    assert (s.editions, s.installed, s.licences, s.covered, s.shortfall, s.surplus) == (
        4,
        14,
        15,
        12,
        2,
        3,
    )
    assert s.under_licensed == 1 and not s.compliant
    edition = Edition.objects.get(name=PRO_PLUS["2019"])
    assert shortfalls(org) == {str(edition.pk): 2}
    # The other organisation: 100 installs, 1,000 licences, nothing of org's.
    o = summarise(other_org)
    assert (o.installed, o.licences, o.covered, o.shortfall, o.surplus) == (100, 1000, 100, 0, 900)


def test_licences_never_go_up_to_a_newer_version(org):
    agreement = make_agreement(org)
    entitle(agreement, PRO_PLUS["2019"], 10)
    install(org, PRO_PLUS["2024"], 3)
    rows = _by_name(org)
    assert rows[PRO_PLUS["2024"]].covered == 0 and rows[PRO_PLUS["2024"]].shortfall == 3
    assert rows[PRO_PLUS["2019"]].surplus == 10


def test_without_downgrade_rights_a_licence_covers_its_own_edition_only(org):
    agreement = make_agreement(org)
    entitle(agreement, PRO_PLUS["2024"], 5, downgrade=False)
    install(org, PRO_PLUS["2024"], 2)
    install(org, PRO_PLUS["2021"], 4)
    rows = _by_name(org)
    assert rows[PRO_PLUS["2024"]].surplus == 3
    assert rows[PRO_PLUS["2021"]].shortfall == 4


def test_surplus_is_reported_on_the_newest_licences_left(org):
    """2019 installs take 2021 licences (nearest newer) before 2024 ones: 2024 licences are left."""
    agreement = make_agreement(org)
    entitle(agreement, PRO_PLUS["2024"], 3)
    entitle(agreement, PRO_PLUS["2021"], 3)
    install(org, PRO_PLUS["2019"], 4)
    rows = _by_name(org)
    assert rows[PRO_PLUS["2019"]].covered == 4
    assert rows[PRO_PLUS["2021"]].surplus == 0
    assert rows[PRO_PLUS["2024"]].surplus == 2


def _application(name: str, version: str, application: str, gvlk: str) -> Edition:
    return Edition.objects.create(
        name=name,
        version=version,
        product=Product.APPLICATION,
        application=application,
        gvlk=gvlk,
        kms_product_group=f"office_{version}",
    )


def test_single_applications_downgrade_within_the_same_application(org):
    access24 = _application("Access LTSC 2024", "2024", "Access", "82FTR-NCHR7-W3944-MGRHM-JMCWD")
    _application("Access 2019", "2019", "access", "9N9PT-27V4Y-VJ2PD-YXFMF-YTFQT")
    _application("Excel 2019", "2019", "Excel", "TMJWT-YYNMB-3BKTF-644FC-RVXBD")
    agreement = make_agreement(org)
    entitle(agreement, access24.name, 5)
    install(org, "Access 2019", 2)
    install(org, "Excel 2019", 2)
    rows = _by_name(org)
    assert rows["Access 2019"].covered == 2
    assert rows["Excel 2019"].shortfall == 2
    assert rows["Access LTSC 2024"].surplus == 3


def test_clients_without_an_edition_do_not_count(org):
    from licensing.models import ActivationMethod, Client

    Client.objects.create(
        organisation=org, hostname="unknown-1", activation_method=ActivationMethod.KMS
    )
    assert list(position_rows(org)) == []
    assert summarise(org).installed == 0


def test_the_view_in_the_database_follows_the_installs_rule(db):
    """Changing RETIRED_CONDITION needs a migration that runs view_sql() again."""
    from django.db import connection

    from licensing.services.licences.position_sql import RETIRED_CONDITION

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_viewdef('licensing_licence_position'::regclass)")
        definition = cursor.fetchone()[0]
    assert ("retired_at" in definition) == bool(RETIRED_CONDITION)
    assert "downgrade_rights" in definition


def test_a_large_organisations_card_is_cached_with_its_counters(org, admin_user, position_data):
    import datetime as dt

    from django.utils import timezone

    from licensing.services.licences.agreements import update_entitlement
    from licensing.services.licences.position import cached_summary

    as_of = timezone.now() - dt.timedelta(minutes=2)  # unique: keys of other tests differ
    assert cached_summary(org, as_of).shortfall == 2
    install(org, PRO_PLUS["2019"], 5)  # ingest meanwhile: shown with the next counters
    assert cached_summary(org, as_of).shortfall == 2
    assert cached_summary(org, as_of + dt.timedelta(minutes=5)).shortfall == 7
    assert cached_summary(org, None).shortfall == 7  # small organisations: live
    # A licence change shows at once.
    line = position_data.entitlements.get(edition__name=PRO_PLUS["2024"])
    update_entitlement(actor=admin_user, entitlement=line, quantity=30)
    assert cached_summary(org, as_of + dt.timedelta(minutes=5)).shortfall == 0


def test_retired_clients_are_not_installs(org):
    from django.utils import timezone

    from licensing.models import Client

    agreement = make_agreement(org)
    entitle(agreement, PRO_PLUS["2024"], 2)
    install(org, PRO_PLUS["2024"], 3)
    assert _by_name(org)[PRO_PLUS["2024"]].shortfall == 1
    retired = Client.objects.filter(organisation=org).order_by("pk").first()
    Client.objects.filter(pk=retired.pk).update(retired_at=timezone.now())
    row = _by_name(org)[PRO_PLUS["2024"]]
    assert (row.installed, row.covered, row.shortfall) == (2, 2, 0)
