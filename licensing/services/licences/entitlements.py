"""Importing an agreement's licence lines from a CSV file: all or nothing, every failing row
listed (the same contract as the MAK key import, `licensing/services/mak/vault.py`).

Columns (header row required): `edition` (the catalogue's name, any case), `quantity`, and
optionally `acquired_on` (YYYY-MM-DD, default: the agreement's start), `downgrade_rights`
(yes/no, true/false, 1/0; default yes) and `note`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db import transaction
from django.utils.translation import gettext as _

from licensing import policy
from licensing.models import MAX_LICENCE_QUANTITY, Agreement, Edition, Entitlement
from licensing.services import audit
from licensing.services.csv_upload import ImportReport, open_csv, rows
from licensing.services.licences.agreements import queue_shortfall_check

MAX_IMPORT_ROWS = 5_000
MAX_IMPORT_BYTES = 1_000_000
IMPORT_COLUMNS = ("edition", "quantity", "acquired_on", "downgrade_rights", "note")
_TRUE = {"", "yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0"}


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _row(row: dict[str, Any], editions: dict[str, Edition], agreement: Agreement) -> dict:
    problems = []
    name = (row.get("edition") or "").strip()
    edition = editions.get(_key(name))
    if edition is None:
        problems.append(
            _("Unknown edition %(name)s (use a name from the edition catalogue).")
            % {"name": repr(name[:80])}
            if name
            else _("The edition is missing.")
        )
    raw_quantity = (row.get("quantity") or "").strip().replace(",", "")
    try:
        quantity = int(raw_quantity)
    except ValueError:
        quantity = 0
        problems.append(
            _("quantity must be a whole number, not %(value)s.")
            % {"value": repr(raw_quantity[:20])}
        )
    else:
        if not 1 <= quantity <= MAX_LICENCE_QUANTITY:
            problems.append(
                _("quantity must be between 1 and %(maximum)s.")
                % {"maximum": intcomma(MAX_LICENCE_QUANTITY)}
            )
    raw_date = (row.get("acquired_on") or "").strip()
    acquired_on = agreement.starts_on
    if raw_date:
        try:
            acquired_on = dt.date.fromisoformat(raw_date)
        except ValueError:
            problems.append(
                _("acquired_on must be a date as YYYY-MM-DD, not %(value)s.")
                % {"value": repr(raw_date[:20])}
            )
    raw_flag = (row.get("downgrade_rights") or "").strip().lower()
    if raw_flag not in _TRUE | _FALSE:
        problems.append(_("downgrade_rights must be yes or no."))
    if problems:
        raise ValueError(" ".join(problems))
    return {
        "edition": edition,
        "quantity": quantity,
        "acquired_on": acquired_on,
        "downgrade_rights": raw_flag in _TRUE,
        "note": (row.get("note") or "").strip()[:200],
    }


def import_entitlements(
    *, actor: Any, agreement: Agreement, csv_text: str, ip_address: str | None = None
) -> ImportReport:
    """Add many licence lines to one agreement, all or nothing."""
    policy.require(actor, policy.Action.MANAGE_LICENCES, agreement.organisation_id)
    report = ImportReport()
    reader = open_csv(
        csv_text,
        report,
        max_bytes=MAX_IMPORT_BYTES,
        required=("edition", "quantity"),
        columns="edition, quantity[, acquired_on, downgrade_rights, note]",
    )
    if reader is None:
        return report
    editions = {_key(e.name): e for e in Edition.objects.all()}
    staged: list[dict[str, Any]] = []
    for row in rows(reader, report):
        line = reader.line_num
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        report.rows += 1
        if report.rows > MAX_IMPORT_ROWS:
            report.errors.append(
                (
                    line,
                    _("At most %(maximum)s rows per file.")
                    % {"maximum": intcomma(MAX_IMPORT_ROWS)},
                )
            )
            break
        try:
            staged.append(_row(row, editions, agreement))
        except ValueError as exc:
            report.errors.append((line, str(exc)))
    if not staged and not report.errors:
        report.errors.append((0, _("The file holds no licence lines.")))
    if report.errors:
        return report
    with transaction.atomic():
        report.created = Entitlement.objects.bulk_create(
            Entitlement(organisation_id=agreement.organisation_id, agreement=agreement, **data)
            for data in staged
        )
        audit.record(
            action="entitlement.import",
            actor=actor,
            organisation=agreement.organisation_id,
            obj=agreement,
            changes={
                "count": len(report.created),
                "licences": sum(e.quantity for e in report.created),
                "lines": [[e.edition.name, e.quantity] for e in report.created],
            },
            ip_address=ip_address,
        )
        queue_shortfall_check(agreement.organisation_id)
    return report
