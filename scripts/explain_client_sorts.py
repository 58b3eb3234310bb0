"""EXPLAIN ANALYZE of the client list's keyset pages for each sort, on a seeded database:
    DEBUG=1 DATABASE_URL=... .venv/bin/python scripts/explain_client_sorts.py [org-slug] [--filters]
Prints, per sort and direction, the plan's top node, the index used and the execution time
of the first page and of a page after a cursor (the 51 rows the list reads).

--filters: the first page of each sort under each filter of FILTERS as well, marking SLOW
the plans over 100 ms. Flags follow dates, so a filter can gather its rows at one end of a
sort's index; PostgreSQL then walks the organisation up to them (how migrations 2010 and 2020
were found)."""

from __future__ import annotations

import os
import re
import sys

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


if __name__ == "__main__":
    main()
