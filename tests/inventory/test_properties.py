"""Property tests: the rules are a total function, the recheck time is honest (the
transitions-only sweep equals a full one), and ingest computes what the sweep computes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licensing.models import Client, ComplianceFlag
from licensing.services.inventory import ingest, rules, sweep
from tests.inventory.conftest import NOW

pytestmark = pytest.mark.django_db

FLAGS = set(ComplianceFlag.values)
ages = st.one_of(st.none(), st.floats(min_value=0, max_value=800, allow_nan=False))
inputs = st.fixed_dictionaries(
    {
        "activation_method": st.sampled_from(["kms", "mak"]),
        "license_status": st.integers(min_value=0, max_value=6),
        "installed": ages,
        "activated": ages,
        "renewed": ages,
        "reactivation_required": st.booleans(),
        "grace_minutes": st.one_of(st.none(), st.integers(min_value=0, max_value=400_000)),
        "seen": ages,
        "at_risk_days": st.integers(min_value=1, max_value=179),
    }
)


def _when(age):
    return None if age is None else NOW - timedelta(days=age)


def _evaluate(x, now):
    return rules.evaluate(
        activation_method=x["activation_method"],
        license_status=x["license_status"],
        installed_at=_when(x["installed"]),
        last_activation_at=_when(x["activated"]),
        last_renewal_at=_when(x["renewed"]),
        reactivation_required=x["reactivation_required"],
        grace_minutes=x["grace_minutes"],
        last_seen_at=_when(x["seen"]),
        at_risk_days=x["at_risk_days"],
        now=now,
    )


common = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@common
@given(x=inputs, later=st.floats(min_value=0, max_value=400, allow_nan=False))
def test_every_input_gets_exactly_one_flag_and_it_holds_until_the_recheck_time(db, x, later):
    now = _evaluate(x, NOW)
    assert now.flag in FLAGS
    assert isinstance(now.reason, str)
    assert now.recheck_at is None or now.recheck_at > NOW
    t = NOW + timedelta(days=later)
    then = _evaluate(x, t)
    if now.recheck_at is None or t < now.recheck_at:
        assert then.flag == now.flag, "the flag changed before its recheck time"
        assert then.reason == now.reason
    else:
        assert (
            then.flag != now.flag or then.reason != now.reason or then.recheck_at != now.recheck_at
        )


SEVERITY = {
    "ok": 0,
    "at_risk": 1,
    "grace_expiring": 1,
    "expired": 2,
    "unlicensed": 3,
    "reactivation_needed": 2,
}


@common
@given(x=inputs, later=st.floats(min_value=0, max_value=400, allow_nan=False))
def test_time_alone_never_makes_a_client_healthier(db, x, later):
    assert (
        SEVERITY[_evaluate(x, NOW + timedelta(days=later)).flag] >= SEVERITY[_evaluate(x, NOW).flag]
    )


records = st.lists(
    st.fixed_dictionaries(
        {
            "hostname": st.sampled_from([f"pc-{i}" for i in range(8)]),
            "activation_method": st.sampled_from(["kms", "mak", None]),
            "license_status": st.one_of(st.none(), st.integers(min_value=0, max_value=6)),
            "installed_at": ages,
            "last_renewal_at": ages,
            "last_activation_at": ages,
            "grace_minutes": st.one_of(st.none(), st.integers(min_value=0, max_value=100_000)),
            "reactivation_required": st.one_of(st.none(), st.booleans()),
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(records, min_size=1, max_size=3))
def test_ingest_computes_what_the_sweep_computes(org, frozen, batches):
    Client.objects.filter(organisation=org).delete()
    frozen.move_to(NOW)  # hypothesis reuses the fixture: every example starts at NOW
    for batch in batches:
        payload = [
            {
                k: (_when(v).isoformat() if k.endswith("_at") and v is not None else v)
                for k, v in r.items()
                if v is not None
            }
            for r in batch
        ]
        result = ingest.ingest_records(actor="cli", organisation=org, records=payload)
        assert not [
            r for r in result.results if r.result == "error" and "repeated" not in r.message
        ]
    stored = list(
        Client.objects.filter(organisation=org).values_list(
            "hostname", "compliance_flag", "flag_reason", "renewal_deadline", "flag_recheck_at"
        )
    )
    # Same clock as the ingests: any difference would be a disagreement, not time passing.
    assert sweep.sweep(full=True, organisation_id=org.pk).changed == 0
    assert (
        list(
            Client.objects.filter(organisation=org).values_list(
                "hostname", "compliance_flag", "flag_reason", "renewal_deadline", "flag_recheck_at"
            )
        )
        == stored
    )
    assert len({h for h, *_ in stored}) == len(stored)  # never duplicated
