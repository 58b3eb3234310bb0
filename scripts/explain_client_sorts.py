"""EXPLAIN ANALYZE of the client list's keyset pages for each sort, on a seeded database:
    DEBUG=1 DATABASE_URL=... .venv/bin/python scripts/explain_client_sorts.py [org-slug] \
        [--filters] [--pages]
Prints, per sort and direction, the plan's top node, the index used and the execution time
of the first page and of a page after a cursor (the 51 rows the list reads).

--filters: the first page of each sort under each filter of FILTERS as well, marking SLOW
the plans over 100 ms. Flags follow dates, so a filter can gather its rows at one end of a
sort's index; PostgreSQL then walks the organisation up to them (how migrations 2010 and 2020
were found).

--pages: the whole page (through Django's test client, as the organisation's first
administrator, in a transaction rolled back) of each sort and direction under no filter and
each filter of FILTERS, the median of 3; prints the slowest 15, the median and the maximum.
These pages give PostgreSQL's index walk LIST_WALK_BUDGET_MS (licensing/pagination.py); run
with LIST_WALK_BUDGET_MS=0 for PostgreSQL's own plans."""

from __future__ import annotations

import os
import re
import statistics
import sys
import time

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.http import QueryDict  # noqa: E402

from licensing.filters import ClientFilterSet  # noqa: E402
from licensing.models import Client, ComplianceFlag, Organisation  # noqa: E402
from licensing.views.fleet import CLIENT_SORTS, client_paginator  # noqa: E402

# Query strings of the list's filters: each flag, the yes/no filters, retired, searches.
FILTERS = [
    *(f"compliance_flag={flag}" for flag in ComplianceFlag.values),
    "flagged=true",
    "stale=true",
    "past_deadline=true",
    "never_activated=true",
    "activation_method=mak",
    "license_status=0",
    "license_status=5",
    "retired=true",
    "q=pc-f",
    "q=pc-4a1",
    "q=p",
]
SLOW_MS = 100


def explain_filters(org: Organisation) -> None:
    for query in FILTERS:
        filterset = ClientFilterSet(
            QueryDict(query), queryset=Client.objects.for_organisation(org), organisation=org
        )
        base = filterset.qs.select_related("edition", "kms_host")
        for name, key in CLIENT_SORTS.items():
            for desc in (False, True):
                plan = client_paginator._segment_qs(base, key, 0, desc, None)[:51].explain(
                    analyze=True
                )
                ms, indexes = _summary(plan)
                print(
                    f"{query:34} {'-' if desc else ''}{name:13} {ms:9.1f} ms  "
                    f"index={indexes}{'  SLOW' if ms > SLOW_MS else ''}"
                )


def time_pages(org: Organisation) -> None:
    from django.db import transaction
    from django.test import Client as HttpClient

    from licensing.models import Membership, Role

    admin = Membership.objects.filter(organisation=org, role=Role.ADMIN).first().user
    timings: list[tuple[float, str]] = []
    with transaction.atomic():
        http = HttpClient()
        http.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
        for query in ["", *FILTERS]:
            for name in CLIENT_SORTS:
                for sort in (name, f"-{name}"):
                    url = f"/clients/?organisation={org.slug}&sort={sort}&{query}"
                    samples = []
                    for _ in range(3):
                        start = time.perf_counter()
                        response = http.get(url, HTTP_HOST="127.0.0.1")
                        samples.append((time.perf_counter() - start) * 1000)
                        assert response.status_code == 200, (url, response.status_code)
                    timings.append((statistics.median(samples), f"sort={sort}&{query}"))
        transaction.set_rollback(True)
    timings.sort(reverse=True)
    for ms, query in timings[:15]:
        print(f"{ms:9.1f} ms  {query}")
    values = [ms for ms, _ in timings]
    print(
        f"{len(values)} pages: median {statistics.median(values):.1f} ms, "
        f"max {max(values):.1f} ms, over 500 ms: {sum(v > 500 for v in values)}"
    )


def _summary(plan: str) -> tuple[float, str]:
    """A plan's execution time (ms) and the indexes it uses."""
    ms = float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))
    return ms, ",".join(sorted(set(re.findall(r"using (\w+)", plan)))) or "-"


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    slug = args[0] if args else "contoso"
    org = Organisation.objects.get(slug=slug)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE licensing_client")
    base = ClientFilterSet(
        None, queryset=Client.objects.for_organisation(org), organisation=org
    ).qs.select_related("edition", "kms_host")
    print(f"{slug}: {base.count():,} live clients")
    for name, key in CLIENT_SORTS.items():
        for desc in (False, True):
            first = client_paginator._segment_qs(base, key, 0, desc, None)[:51]
            rows = list(first)
            after = client_paginator._position(rows[-1], key)
            later = client_paginator._segment_qs(base, key, 0, desc, after)[:51]
            for label, qs in (("page 1", first), ("page 2", later)):
                plan = qs.explain(analyze=True)
                ms, indexes = _summary(plan)
                sort = "Sort" if re.search(r"^\s*(->\s*)?(Incremental )?Sort", plan, re.M) else ""
                print(
                    f"{'-' if desc else ''}{name:13} {label}: {ms:>8.2f} ms  index={indexes} {sort}"
                )
    if "--filters" in sys.argv:
        explain_filters(org)
    if "--pages" in sys.argv:
        time_pages(org)


if __name__ == "__main__":
    main()
