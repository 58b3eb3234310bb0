"""Status reports: the text of `slmgr.vbs /dlv` a KMS host posts with its reporter token.

The shared parser (licensing.parsers) reads it. A readable report updates the host's count and
licence state and stores counter deltas (the host's counters are cumulative). Unreadable text
is kept with the reason for inspection and changes nothing else.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from licensing.keyformat import redact
from licensing.models import HostStatusReport, KmsHost
from licensing.parsers import UnreadableStatusText, decode_upload, parse_status
from licensing.services import outbox
from licensing.services.errors import ConflictError, TooLarge
from licensing.services.kms import reasons

MAX_REPORT_BYTES = 512 * 1024
COUNTERS = ("total_requests", "failed_requests")
# WMI reports -1 as the unsigned 4294967295 on a machine that is no KMS host (DOMAIN.md 2.2).
_UINT32_MINUS_ONE = 4294967295


def _as_dict(doc: Any) -> dict[str, Any]:
    if isinstance(doc, dict):
        return doc
    if hasattr(doc, "to_dict"):
        return doc.to_dict()
    return dataclasses.asdict(doc)


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return -1 if number == _UINT32_MINUS_ONE else number


def pick_kms_licence(licenses: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The licence that carries the KMS host block; Office's first (`/dlv all` on a host that
    also serves Windows lists both)."""
    hosts = [lic for lic in licenses if lic.get("kms_host")]
    if not hosts:
        return None
    office = [
        lic
        for lic in hosts
        if "office" in f"{lic.get('name') or ''} {lic.get('description') or ''}".lower()
    ]
    return (office or hosts)[0]


def _reject(
    host: KmsHost, text: str, reason: str, submitted_by: str, source_ip: str | None, now: datetime
) -> HostStatusReport:
    return HostStatusReport.objects.create(
        host=host,
        received_at=now,
        raw_text=text,
        accepted=False,
        error=reason,
        submitted_by=submitted_by[:150],
        source_ip=source_ip,
    )


def deltas_between(
    previous: HostStatusReport | None,
    total: int | None,
    failed: int | None,
    by_status: dict[str, int],
) -> tuple[dict[str, Any], bool]:
    """Counter deltas since the previous accepted report, and whether the counters went down
    (a reinstalled host starts from zero, so the new values are the deltas)."""
    if previous is None:
        return {}, False
    current = {"total_requests": total, "failed_requests": failed}
    before = {
        "total_requests": previous.total_requests,
        "failed_requests": previous.failed_requests,
    }
    pairs = [(current[k], before[k]) for k in COUNTERS] + [
        (v, (previous.requests_by_status or {}).get(k)) for k, v in by_status.items()
    ]
    reset = any(now is not None and then is not None and now < then for now, then in pairs)

    def delta(now: int | None, then: int | None) -> int | None:
        if now is None:
            return None
        if reset or then is None:
            return now
        return now - then

    result: dict[str, Any] = {k: delta(current[k], before[k]) for k in COUNTERS}
    result["requests_by_status"] = {
        k: delta(v, (previous.requests_by_status or {}).get(k)) for k, v in by_status.items()
    }
    return result, reset


def submit_status_report(
    *,
    host: KmsHost,
    data: bytes | str,
    submitted_by: str,
    source_ip: str | None = None,
    now: datetime | None = None,
) -> HostStatusReport:
    """Store and apply one report. Returns the stored row: `accepted` False (with `error`) for
    text the parser cannot read, which changes nothing else. Raises for a retired host or an
    oversized body (nothing stored)."""
    now = now or timezone.now()
    if host.retired_at is not None:
        raise ConflictError(_("This KMS host is retired; it takes no status reports."))
    size = len(data.encode() if isinstance(data, str) else data)
    if size > MAX_REPORT_BYTES:
        raise TooLarge(
            _(
                "The report is %(size)s bytes; the limit is %(limit)s. "
                "Send the output of slmgr.vbs /dlv for the KMS host licence only."
            )
            % {
                "size": number_format(size, force_grouping=True),
                "limit": number_format(MAX_REPORT_BYTES, force_grouping=True),
            },
            code="report_too_large",
        )
    try:
        text = decode_upload(data) if isinstance(data, bytes) else data
    except UnreadableStatusText as exc:
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        return _reject(host, redact(text), str(exc), submitted_by, source_ip, now)
    # The raw text is kept for people to read: scrub anything shaped like a whole product key.
    text = redact(text.replace("\x00", ""))
    try:
        document = _as_dict(parse_status(text))
    except UnreadableStatusText as exc:
        return _reject(host, text, str(exc), submitted_by, source_ip, now)
    if document.get("format") != "slmgr_dlv":
        return _reject(
            host,
            text,
            reasons.CLIENT_STATUS,
            submitted_by,
            source_ip,
            now,
        )
    licence = pick_kms_licence(document.get("licenses") or [])
    if licence is None:
        return _reject(
            host,
            text,
            reasons.NO_KMS_LICENCE,
            submitted_by,
            source_ip,
            now,
        )
    block = licence["kms_host"]
    total = _int(block.get("total_requests"))
    failed = _int(block.get("failed_requests"))
    by_status = {
        str(k): n
        for k, v in (block.get("requests_by_status") or {}).items()
        if (n := _int(v)) is not None
    }
    with transaction.atomic():
        # Serialise reports of one host so each delta is taken from the right predecessor.
        host = KmsHost.objects.select_for_update().get(pk=host.pk)
        previous = (
            HostStatusReport.objects.filter(host=host, accepted=True)
            .order_by("-received_at", "-id")
            .first()
        )
        deltas, reset = deltas_between(previous, total, failed, by_status)
        report = HostStatusReport.objects.create(
            host=host,
            received_at=now,
            raw_text=text,
            accepted=True,
            parsed=document,
            license_status=str(licence.get("status") or "")[:30],
            partial_key=str(licence.get("last5") or "")[:5],
            current_count=_int(block.get("current_count")),
            listening_port=_int(block.get("port")),
            dns_publishing=block.get("dns_publishing"),
            priority=str(block.get("priority") or "")[:20],
            total_requests=total,
            failed_requests=failed,
            requests_by_status=by_status,
            deltas=deltas,
            counters_reset=reset,
            submitted_by=submitted_by[:150],
            source_ip=source_ip,
        )
        host.current_count = report.current_count
        host.license_status = report.license_status
        host.last_report_at = now
        host.save(update_fields=["current_count", "license_status", "last_report_at"])
        # A report changes what a poll concludes (count, overdue): poll right after it.
        outbox.enqueue("licensing.kms.poll_host", host.pk)
    return report
