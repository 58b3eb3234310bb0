"""Import runs: who may start one, its history row and audit entry, refused inputs, and the
rejection report of the records it did not take."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from licensing import policy
from licensing.exports import ExportColumn, copy_sql, stream_copy
from licensing.keyformat import redact
from licensing.models import ImportRejection, ImportRun, ImportStatus, Organisation
from licensing.services import audit
from licensing.services.errors import DomainError


class ImportRefused(DomainError):
    """The whole input was refused; nothing was written."""

    code = "import_refused"


def new_run(
    *,
    organisation: Organisation,
    actor: Any,
    source: str,
    filename: str,
    started_at: datetime,
    status: str = ImportStatus.DONE,
) -> ImportRun:
    user = actor if getattr(actor, "pk", None) and not isinstance(actor, str) else None
    return ImportRun.objects.create(
        organisation=organisation,
        source=source,
        status=status,
        actor=user,
        actor_label=audit.actor_label(actor)[:150],
        filename=filename[:255],
        started_at=started_at,
    )


def finish_run(run: ImportRun, *, ip_address: str | None, action: str = "inventory.import") -> None:
    run.finished_at = timezone.now()
    run.save()
    audit.record(
        action=action,
        actor=run.actor or run.actor_label,
        label=run.actor_label,
        organisation=run.organisation_id,
        obj=run,
        changes={
            "source": run.source,
            "status": run.status,
            "filename": run.filename,
            "received": run.received,
            "created": run.created,
            "updated": run.updated,
            "unchanged": run.unchanged,
            "rejected": run.rejected,
            **({"message": run.message[:300]} if run.message else {}),
        },
        ip_address=ip_address,
    )


def refuse(
    *,
    actor: Any,
    organisation: Organisation,
    source: str,
    filename: str,
    reason: str,
    started_at: datetime | None = None,
    ip_address: str | None = None,
    raw: str = "",
) -> ImportRun:
    """Record a refused input in the history (nothing else is written)."""
    with transaction.atomic():
        run = new_run(
            organisation=organisation,
            actor=actor,
            source=source,
            filename=filename,
            started_at=started_at or timezone.now(),
            status=ImportStatus.REFUSED,
        )
        run.message = redact(reason)
        if raw:
            run.rejected = 1
            with connection.cursor() as cursor:
                write_rejections(cursor, run, [(1, "", reason, raw)])
        finish_run(run, ip_address=ip_address, action="inventory.import_refused")
    return run


def require_ingest(actor: Any, organisation: Organisation) -> None:
    """Agent tokens may post inventory for their own organisation; people need MANAGE_CLIENTS;
    a string actor ("cli") is the server itself (management commands)."""
    if isinstance(actor, str):
        return
    token = getattr(actor, "token", None)
    if token is not None:
        if token.scope == "agent" and token.organisation_id == organisation.pk:
            return
        raise policy.PermissionDenied("This token may not post inventory.")
    policy.require(actor, policy.Action.MANAGE_CLIENTS, organisation)


def _clean(text: str, limit: int) -> str:
    # Redact before cutting (a key across the cut is still found), NUL made visible.
    return redact(text[: limit + 64].replace("\x00", "\\0"))[:limit]


def write_rejections(cursor: Any, run: ImportRun, rejections: Iterable[tuple]) -> None:
    """The one writer of rejection rows (every import): key-shaped text is redacted from the
    hostname, reason and raw row, and at most INVENTORY_REJECTIONS_KEPT rows are kept (the
    run's `rejected` count stays the true total)."""
    kept = settings.INVENTORY_REJECTIONS_KEPT
    with cursor.copy(
        "COPY licensing_importrejection (run_id, position, hostname, reason, raw) FROM STDIN"
    ) as copy:
        for position, hostname, reason, raw in itertools.islice(rejections, kept):
            # PostgreSQL text cannot hold NUL; a rejected row may contain anything.
            copy.write_row(
                (
                    run.pk,
                    position,
                    _clean(hostname, 253),
                    _clean(reason, 500),
                    _clean(raw or "", 1000),
                )
            )


# The rejection report: the same columns on the page's export and from `import_inventory`.
REJECTION_COLUMNS = [
    ExportColumn("line_or_index", "position"),
    ExportColumn("hostname", "hostname"),
    ExportColumn("reason", "reason"),
    ExportColumn("raw", "raw"),
]


def rejections_of(run: ImportRun) -> QuerySet[ImportRejection]:
    return ImportRejection.objects.filter(run=run).order_by("position", "id")


def rejected_rows_csv(run: ImportRun) -> Iterator[bytes]:
    """The run's rejection report as CSV, through the one COPY path of licensing.exports."""
    return stream_copy(*copy_sql(rejections_of(run), REJECTION_COLUMNS))
