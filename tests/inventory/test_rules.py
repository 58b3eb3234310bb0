"""The compliance rules at every boundary, with a frozen clock, through real rows and the sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest

from licensing.models import Client, ClientFlagChange
from licensing.services.inventory import rules, sweep
from tests.inventory.conftest import NOW, days_ago

pytestmark = pytest.mark.django_db


def flag_after_sweep(client: Client) -> Client:
    sweep.sweep(full=True)
    client.refresh_from_db()
    return client


@pytest.mark.parametrize(
    ("days", "flag"),
    [
        (24, "ok"),
        (24.99, "ok"),
        (25, "grace_expiring"),
        (29.99, "grace_expiring"),
        (30, "unlicensed"),
    ],
)
def test_never_activated_client_warns_from_day_25_and_is_unlicensed_from_day_30(
    frozen, make_client, days, flag
):
    c = make_client(
        license_status=2, installed_at=days_ago(days), last_activation_at=None, last_renewal_at=None
    )
    c = flag_after_sweep(c)
    assert c.compliance_flag == flag
    assert c.renewal_deadline == days_ago(days) + timedelta(days=30)
    if flag == "grace_expiring":
        assert "day 25" in c.flag_reason
    if flag == "unlicensed":
        assert "30-day grace" in c.flag_reason


@pytest.mark.parametrize(
    ("days", "flag"),
    [
        (0, "ok"),
        (149, "ok"),
        (149.99, "ok"),
        (150, "at_risk"),
        (179.99, "at_risk"),
        (180, "expired"),
        (181, "expired"),
        (209.99, "expired"),
        (210, "unlicensed"),
        (400, "unlicensed"),
    ],
)
def test_kms_client_flag_by_days_since_last_renewal(frozen, make_client, days, flag):
    c = flag_after_sweep(make_client(license_status=1, last_renewal_at=days_ago(days)))
    assert c.compliance_flag == flag
    assert c.renewal_deadline == days_ago(days) + timedelta(days=180)
    if flag == "at_risk":
        assert c.flag_reason.startswith("Fewer than 30 days")
    if flag == "expired":
        assert "180 days" in c.flag_reason


def test_at_risk_follows_the_organisations_at_risk_days(frozen, org, make_client):
    org.at_risk_days = 60
    org.save()
    early = make_client(license_status=1, last_renewal_at=days_ago(120))
    before = make_client(license_status=1, last_renewal_at=days_ago(119.9))
    sweep.sweep(full=True)
    early.refresh_from_db()
    before.refresh_from_db()
    assert early.compliance_flag == "at_risk" and "60 days" in early.flag_reason
    assert before.compliance_flag == "ok"


def test_kms_client_without_renewal_uses_its_activation_date(frozen, make_client):
    c = flag_after_sweep(
        make_client(license_status=1, last_activation_at=days_ago(181), last_renewal_at=None)
    )
    assert c.compliance_flag == "expired"


# Reported state (KMS, MAK) -> flag. Dates say "fresh" (renewed 2 days ago) so the state decides.
REPORTED = [
    (0, "kms", "unlicensed", "Unlicensed"),
    (1, "kms", "ok", ""),
    (2, "kms", "unlicensed", "30-day grace"),  # installed 400 days ago, never activated
    (3, "kms", "expired", "out-of-tolerance"),
    (4, "kms", "unlicensed", "non-genuine"),
    (5, "kms", "unlicensed", "Notification"),
    (6, "kms", "grace_expiring", "extended grace"),
    (0, "mak", "unlicensed", "Unlicensed"),
    (1, "mak", "ok", ""),
    (2, "mak", "unlicensed", "30-day grace"),
    (3, "mak", "reactivation_needed", "hardware change"),
    (4, "mak", "unlicensed", "non-genuine"),
    (5, "mak", "unlicensed", "Notification"),
    (6, "mak", "grace_expiring", "extended grace"),
]


@pytest.mark.parametrize(("status", "method", "flag", "why"), REPORTED)
def test_the_state_a_client_reports_wins_over_its_dates(
    frozen, make_client, status, method, flag, why
):
    c = flag_after_sweep(
        make_client(license_status=status, activation_method=method, last_renewal_at=days_ago(2))
    )
    assert c.compliance_flag == flag
    assert why in c.flag_reason


def test_a_licensed_mak_client_never_expires(frozen, make_client):
    c = flag_after_sweep(
        make_client(
            license_status=1,
            activation_method="mak",
            last_activation_at=days_ago(900),
            last_renewal_at=None,
        )
    )
    assert c.compliance_flag == "ok" and c.renewal_deadline is None and c.flag_recheck_at is None


def test_a_reported_hardware_change_needs_a_new_mak_activation(frozen, make_client):
    c = flag_after_sweep(
        make_client(license_status=1, activation_method="mak", reactivation_required=True)
    )
    assert c.compliance_flag == "reactivation_needed"
    assert "new MAK activation" in c.flag_reason


def test_reported_remaining_grace_sets_the_grace_end(frozen, make_client):
    # OOB grace with 4 days (5760 minutes) left, reported now: fewer than 5 days -> expiring.
    c = flag_after_sweep(
        make_client(
            license_status=2,
            installed_at=days_ago(3),
            last_activation_at=None,
            last_renewal_at=None,
            grace_minutes=5760,
            last_seen_at=NOW,
        )
    )
    assert c.compliance_flag == "grace_expiring"
    assert c.renewal_deadline == NOW + timedelta(minutes=5760)
    assert "fewer than 5 days" in c.flag_reason


def test_flag_changes_over_time_and_keeps_history(frozen, make_client):
    c = make_client(license_status=1, last_renewal_at=days_ago(149))
    assert sweep.sweep(full=True).changed == 1  # reason/deadline/recheck filled in
    c.refresh_from_db()
    assert c.compliance_flag == "ok" and c.flag_recheck_at == NOW + timedelta(days=1)
    frozen.shift(timedelta(days=1))
    first = sweep.sweep()
    assert (first.changed, first.flagged, first.by_flag) == (1, 1, {"at_risk": 1})
    frozen.shift(timedelta(days=30))
    sweep.sweep()
    frozen.shift(timedelta(days=30))
    sweep.sweep()
    history = list(ClientFlagChange.objects.filter(client=c).order_by("changed_at"))
    assert [(h.from_flag, h.to_flag) for h in history] == [
        ("ok", "at_risk"),
        ("at_risk", "expired"),
        ("expired", "unlicensed"),
    ]
    assert history[0].changed_at == NOW + timedelta(days=1)
    assert all(h.changed_by == "sweep" and h.organisation_id == c.organisation_id for h in history)
    c.refresh_from_db()
    assert c.compliance_flag == "unlicensed" and c.flag_recheck_at is None
    assert c.flag_changed_at == NOW + timedelta(days=61)


def test_evaluate_answers_like_the_sweep(frozen):
    e = rules.evaluate(activation_method="kms", license_status=1, last_renewal_at=days_ago(150))
    assert (e.flag, e.deadline, e.recheck_at) == (
        "at_risk",
        days_ago(150) + timedelta(days=180),
        days_ago(150) + timedelta(days=180),
    )
