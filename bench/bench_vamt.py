"""VAMT area: a CIL/CILX import of 10,000 computers (10% of them MAK products waiting for
proxy activation, so 1,000 offline queue entries) beside the CSV import of the same 10,000
clients, and one structured agent report (WMI) beside one posted ospp.vbs text of the same
machine. Everything runs in a scratch organisation inside transactions that are rolled back.

BENCH_VAMT_COMPUTERS sets the file size.
"""

from __future__ import annotations

import io
import os
import statistics
import time

from django.db import transaction

from bench.run import Context, Result

_ROLLBACK = RuntimeError("rollback")


def _scratch():
    from django.contrib.auth import get_user_model

    from licensing.models import Membership, Organisation

    org = Organisation.objects.create(slug="bench-vamt-scratch", name="Bench VAMT scratch")
    user = get_user_model().objects.create(username="bench-vamt-scratch")
    Membership.objects.create(user=user, organisation=org, role="admin")
    return org, user


def _rolled_back(fn) -> float:
    """Seconds `fn(org, user)` takes inside a transaction that is then rolled back."""
    elapsed = 0.0
    try:
        with transaction.atomic():
            org, user = _scratch()
            start = time.perf_counter()
            fn(org, user)
            elapsed = time.perf_counter() - start
            raise _ROLLBACK
    except RuntimeError as exc:
        if exc is not _ROLLBACK:
            raise
    return elapsed


def run(ctx: Context) -> list[Result]:
    from licensing.services.inventory.csv_import import import_csv
    from licensing.services.inventory.status_text import ingest_status_text
    from licensing.services.inventory.vamt import import_cil
    from licensing.services.inventory.wmi import ingest_wmi_report
    from tests.vamt.cil_samples import cil, computer, product
    from tests.vamt.wmi_samples import OFFICE_KMS_OSPP, WINDOWS, office_kms

    n = int(os.environ.get("BENCH_VAMT_COMPUTERS", "10000"))
    data = cil(
        *(
            computer(
                f"PC-{i:06d}",
                product(status="5", iid=f"{i:054d}") if i % 10 == 0 else product(),
                domain="contoso.test",
                vamt_id=str(i),
            )
            for i in range(n)
        )
    )
    csv = "hostname,fqdn,activation_method,license_status\n" + "".join(
        f"pc-{i:06d},pc-{i:06d}.contoso.test,mak,{5 if i % 10 == 0 else 1}\n" for i in range(n)
    )

    def cil_import(org, user):
        import_cil(actor=user, organisation=org, data=data, filename="bench.cilx")

    def csv_import(org, user):
        import_csv(actor=user, organisation=org, stream=io.BytesIO(csv.encode()), filename="b.csv")

    cil_s = statistics.median(_rolled_back(cil_import) for _ in range(3))
    csv_s = statistics.median(_rolled_back(csv_import) for _ in range(3))

    wmi: list[float] = []
    text: list[float] = []

    def reports(org, user):
        # Alternating, so both see the same machine load and the same table sizes.
        for i in range(50):
            start = time.perf_counter()
            ingest_wmi_report(
                actor=user,
                organisation=org,
                payload={"hostname": f"pc-w{i}", "products": [WINDOWS, office_kms()]},
            )
            wmi.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            ingest_status_text(
                actor=user, organisation=org, hostname=f"pc-t{i}", text=OFFICE_KMS_OSPP
            )
            text.append((time.perf_counter() - start) * 1000)

    _rolled_back(reports)
    wmi_ms, text_ms = statistics.median(wmi), statistics.median(text)
    return [
        Result(
            f"VAMT CIL import, {n:,} computers ({len(data) / 1e6:.1f} MB, {n // 10:,} queued offline)",
            round(cil_s, 2),
            "s",
            baseline=round(csv_s, 2),
            note="baseline: CSV import of the same clients",
        ),
        Result(
            "WMI agent report, one machine (median of 50)",
            round(wmi_ms, 1),
            "ms",
            baseline=round(text_ms, 1),
            note="baseline: the same machine as posted ospp.vbs text",
        ),
    ]
