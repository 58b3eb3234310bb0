"""Small builders for KMS tests (the shared factories stay untouched)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from licensing.models import HostStatusReport, KmsHost, KmsProductGroup


def host(org, fqdn: str, port: int = 1688, **kwargs) -> KmsHost:
    kwargs.setdefault("product_group", KmsProductGroup.OFFICE_2024)
    kwargs.setdefault("next_poll_at", timezone.now())
    return KmsHost.objects.create(organisation=org, fqdn=fqdn, port=port, **kwargs)


def report(h: KmsHost, count: int | None = 12, at: datetime | None = None) -> HostStatusReport:
    at = at or timezone.now()
    r = HostStatusReport.objects.create(
        host=h,
        received_at=at,
        raw_text="(test)",
        accepted=True,
        license_status="licensed",
        current_count=count,
        submitted_by="test",
    )
    KmsHost.objects.filter(pk=h.pk).update(last_report_at=at, current_count=count)
    return r


def srv(target: str, port: int, domain: str = "contoso.test", priority: int = 0) -> str:
    return f"_vlmcs._tcp.{domain}. 60 IN SRV {priority} 0 {port} {target}."


def a(name: str, ip: str = "127.0.0.1") -> str:
    return f"{name}. 60 IN A {ip}"
