"""The sweep: set-based, writes only real changes, history, snapshots, overlap safety."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from licensing.models import Client, ClientFlagChange, ComplianceSnapshot
from licensing.services.inventory import sweep
from tests import factories
from tests.inventory.conftest import NOW, days_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(frozen, make_client):
    return [
        make_client(license_status=1, last_renewal_at=days_ago(2)),
        make_client(license_status=1, last_renewal_at=days_ago(160)),
        make_client(license_status=1, last_renewal_at=days_ago(190)),
        make_client(license_status=5),
        make_client(
            license_status=2,
            installed_at=days_ago(26),
            last_activation_at=None,
            last_renewal_at=None,
        ),
        make_client(license_status=1, activation_method="mak", reactivation_required=True),
    ]


def test_a_second_sweep_right_after_writes_nothing(fleet):
    first = sweep.sweep(full=True)
    assert first.changed == 6 and first.flagged == 5
    assert sweep.sweep(full=True).changed == 0
    assert sweep.sweep().changed == 0
    assert ClientFlagChange.objects.count() == 5


def test_history_rows_say_who_when_from_and_to(fleet):
    sweep.sweep(full=True, changed_by="sweep:test")
    rows = {h.client_id: h for h in ClientFlagChange.objects.all()}
    expired = rows[fleet[2].pk]
    assert (expired.from_flag, expired.to_flag, expired.changed_by, expired.changed_at) == (
        "ok",
        "expired",
        "sweep:test",
        NOW,
    )
    assert "180 days" in expired.reason
    assert fleet[0].pk not in rows  # still ok: no history row


def test_every_client_ends_with_exactly_one_known_flag_and_snapshots_count_them(fleet, org):
    sweep.sweep(full=True)
    flags = list(Client.objects.values_list("compliance_flag", flat=True))
    assert len(flags) == 6 and set(flags) <= {
        "ok",
        "at_risk",
        "expired",
        "grace_expiring",
        "unlicensed",
        "reactivation_needed",
    }
    snap = dict(
        ComplianceSnapshot.objects.filter(organisation=org, day=NOW.date()).values_list(
            "flag", "count"
        )
    )
    assert snap == {
        "ok": 1,
        "at_risk": 1,
        "expired": 1,
        "unlicensed": 1,
        "grace_expiring": 1,
        "reactivation_needed": 1,
    }


def test_the_transitions_only_sweep_visits_only_due_rows(fleet):
    sweep.sweep(full=True)
    due = Client.objects.filter(flag_recheck_at__lte=NOW + timedelta(days=30)).count()
    assert due >= 1
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN " + sweep._sweep_sql("c.flag_recheck_at <= %(now)s"),
            {"now": NOW, "org": None, "by": "x"},
        )
        plan = "\n".join(r[0] for r in cursor.fetchall())
    assert "client_flag_recheck_due" in plan or "Seq Scan" in plan  # tiny table: either plan


def test_a_client_changed_behind_the_sweeps_back_is_fixed_by_the_full_sweep(fleet):
    sweep.sweep(full=True)
    Client.objects.filter(pk=fleet[0].pk).update(last_renewal_at=days_ago(200))
    assert sweep.sweep().changed == 0  # its recheck time is in the future
    assert sweep.sweep(full=True).flagged == 1


def test_an_organisation_sweep_touches_only_that_organisation(fleet, other_org):
    other = factories.ClientFactory(
        organisation=other_org, license_status=5, last_renewal_at=days_ago(1)
    )
    sweep.sweep(full=True, organisation_id=other_org.pk)
    assert Client.objects.get(pk=other.pk).compliance_flag == "unlicensed"
    assert Client.objects.get(pk=fleet[3].pk).compliance_flag == "ok"


@pytest.mark.django_db(transaction=True)
def test_an_overlapping_sweep_skips_instead_of_running_twice(frozen, make_client):
    # transactional tests run on a flushed database: no built-in editions
    make_client(license_status=5, edition=None)
    holding = threading.Event()
    release = threading.Event()

    def hold_lock():
        with connections["default"].cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [sweep.SWEEP_LOCK_KEY])
            holding.set()
            release.wait(10)
            cursor.execute("COMMIT")
        connections["default"].close()

    t = threading.Thread(target=hold_lock)
    t.start()
    assert holding.wait(10)
    try:
        result = sweep.sweep(full=True)
        assert result.skipped and result.changed == 0
    finally:
        release.set()
        t.join()
    assert sweep.sweep(full=True).flagged == 1


def test_a_sweep_with_nothing_due_asks_once_and_takes_no_lock(fleet):
    sweep.sweep(full=True)  # every recheck time is now in the future, today's snapshots exist
    with CaptureQueriesContext(connection) as queries:
        result = sweep.sweep()
    assert (result.changed, result.skipped) == (0, False)
    assert len(queries) == 1
    assert "advisory" not in queries[0]["sql"]


def test_a_sweep_with_nothing_due_still_writes_the_snapshots_of_a_new_day(fleet, org):
    sweep.sweep(full=True)
    next_day = NOW + timedelta(hours=13)  # the next day, before any recheck time
    assert not Client.objects.filter(flag_recheck_at__lte=next_day).exists()
    sweep.sweep(now=next_day)
    counts = dict(
        ComplianceSnapshot.objects.filter(organisation=org, day=next_day.date()).values_list(
            "flag", "count"
        )
    )
    assert sum(counts.values()) == 6 and counts["expired"] == 1


def test_a_due_row_found_by_the_probe_is_swept(fleet):
    sweep.sweep(full=True)
    at_risk_from = Client.objects.get(pk=fleet[0].pk).flag_recheck_at
    result = sweep.sweep(now=at_risk_from)
    assert result.changed >= 1 and result.by_flag.get("at_risk", 0) >= 1
    assert Client.objects.get(pk=fleet[0].pk).compliance_flag == "at_risk"


def test_history_names_the_flag_before_even_when_flag_changed_at_already_is_now(fleet):
    # A row whose flag changed earlier at this very instant: its next change still records
    # where it came from, and a rewrite that keeps the flag records nothing.
    Client.objects.filter(pk=fleet[0].pk).update(compliance_flag="expired", flag_changed_at=NOW)
    Client.objects.filter(pk=fleet[1].pk).update(
        compliance_flag="at_risk", flag_changed_at=NOW, renewal_deadline=None
    )
    sweep.sweep(full=True)
    rows = {h.client_id: (h.from_flag, h.to_flag) for h in ClientFlagChange.objects.all()}
    assert rows[fleet[0].pk] == ("expired", "ok")
    assert fleet[1].pk not in rows
    assert Client.objects.get(pk=fleet[1].pk).renewal_deadline is not None
