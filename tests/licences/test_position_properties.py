"""The allocation of the licence position view against a brute force on small cases
(hypothesis): no licence used twice, no cover across product lines, coverage maximal."""

from __future__ import annotations

import itertools
from functools import cache

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licensing.models import Client, Entitlement
from licensing.services.licences.position import position_rows
from tests.licences.conftest import PRO_PLUS, STANDARD, entitle, install, make_agreement

LINES = {"proplus": PRO_PLUS, "standard": STANDARD}
VERSIONS = ["2024", "2021", "2019"]

counts = st.integers(min_value=0, max_value=3)
edition_case = st.tuples(counts, counts, counts)  # installs, downgradable licences, exact licences
case = st.fixed_dictionaries(
    {line: st.fixed_dictionaries({v: edition_case for v in VERSIONS}) for line in LINES}
)


class _Rollback(Exception):
    pass


def brute_force_max_cover(line_case: dict[str, tuple[int, int, int]]) -> int:
    """Try every way of giving each version's downgradable licences to its own or an older
    version (or to none); exact licences cover their own version only."""
    installs = [line_case[v][0] for v in VERSIONS]
    down = [line_case[v][1] for v in VERSIONS]
    exact = [line_case[v][2] for v in VERSIONS]
    best = 0

    def splits(total: int, parts: int):
        if parts == 1:
            yield (total,)
            return
        for first in range(total + 1):
            for rest in splits(total - first, parts - 1):
                yield (first, *rest)

    # version k's licences split over versions k..end plus "unused"
    per_version = [list(splits(down[k], len(VERSIONS) - k + 1)) for k in range(len(VERSIONS))]
    for choice in itertools.product(*per_version):
        given_to = list(exact)
        for k, split in enumerate(choice):
            for offset, n in enumerate(split[:-1]):
                given_to[k + offset] += n
        best = max(best, sum(min(i, g) for i, g in zip(installs, given_to, strict=True)))
    return best


@cache
def _editions():
    from tests import factories

    return {name: factories.edition(name).pk for line in LINES.values() for name in line.values()}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=case)
def test_allocation_is_maximal_and_never_uses_a_licence_twice(org, other_org, case):
    try:
        with transaction.atomic():
            agreement = make_agreement(org)
            for line, versions in LINES.items():
                for version, name in versions.items():
                    if version not in VERSIONS:
                        continue
                    installed, down, exact = case[line][version]
                    install(org, name, installed)
                    if down:
                        entitle(agreement, name, down)
                    if exact:
                        entitle(agreement, name, exact, downgrade=False)
            # Noise in another organisation: must change nothing.
            other = make_agreement(other_org, "OTHER")
            entitle(other, PRO_PLUS["2019"], 3)
            install(other_org, PRO_PLUS["2024"], 2)

            rows = {r.edition.name: r for r in position_rows(org)}
            for line, versions in LINES.items():
                names = [versions[v] for v in VERSIONS]
                got = [rows.get(n) for n in names]
                cases = [case[line][v] for v in VERSIONS]
                for row, (installed, down, exact) in zip(got, cases, strict=True):
                    if row is None:
                        assert installed == down == exact == 0
                        continue
                    assert row.installed == installed
                    assert row.licences == down + exact
                    assert 0 <= row.covered <= row.installed
                    assert row.shortfall == row.installed - row.covered
                    assert 0 <= row.surplus <= row.licences
                    assert 0 <= row.covered_by_newer <= row.covered
                covered = [r.covered if r else 0 for r in got]
                licences = [r.licences if r else 0 for r in got]
                surplus = [r.surplus if r else 0 for r in got]
                used = [n - s for n, s in zip(licences, surplus, strict=True)]
                # Every licence is used once or left over, never twice, never lost.
                assert sum(covered) == sum(used)
                # Licences only go down the line: installs of the newest k versions are covered
                # by licences of those versions.
                for k in range(1, len(VERSIONS) + 1):
                    assert sum(covered[:k]) <= sum(used[:k])
                # Licences without downgrade rights cover their own edition only: those
                # beyond its installs are always left over.
                for k, (installed, _down, exact) in enumerate(cases):
                    assert surplus[k] >= max(0, exact - installed)
                # Maximal.
                assert sum(covered) == brute_force_max_cover(case[line])
            assert Client.objects.filter(organisation=org).count() == sum(
                case[line][v][0] for line in LINES for v in VERSIONS
            )
            raise _Rollback
    except _Rollback:
        pass
    assert not Entitlement.objects.filter(organisation=org).exists()
