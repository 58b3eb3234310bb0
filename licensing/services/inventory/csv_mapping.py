"""CSV files with their own column names (an SCCM/MECM or Lansweeper export, a spreadsheet):
the upload is kept (`CsvUpload`), its first rows previewed, each column mapped to a portal field
or ignored, suggested from the names and from the organisation's last mapping
(`CsvColumnMapping`, remembered per organisation), then imported through `csv_import.import_csv`
with the columns renamed: one import path. Licence-state values (Licensed, Lisensiert, 1, ...)
are read by `records.clean` (`records.STATUS_WORDS`)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from licensing.models import CsvColumnMapping, CsvUpload, ImportRun, ImportSource, Organisation
from licensing.services import audit
from licensing.services.errors import InvalidInput
from licensing.services.inventory.csv_import import import_csv
from licensing.services.inventory.records import FIELDS, canonical_key
from licensing.services.inventory.runs import refuse, require_ingest

PREVIEW_ROWS = 10
MAX_COLUMNS = 200
UPLOAD_TTL = timedelta(days=1)
_SALT = "licensing.inventory.csv_upload"

# What the portal fields are called in the exports people have. Keys are normalised names
# (`normalise`: lower case, letters and digits only), so "Computer Name", "computer_name" and
# "ComputerName" are one key.
SYNONYMS: dict[str, str] = {
    # hostname
    "computername": "hostname",
    "computer": "hostname",
    "name0": "hostname",
    "netbiosname0": "hostname",
    "netbiosname": "hostname",
    "hostname": "hostname",
    "host": "hostname",
    "devicename": "hostname",
    "device": "hostname",
    "machinename": "hostname",
    "assetname": "hostname",
    "name": "hostname",
    "maskinnavn": "hostname",
    "vertsnavn": "hostname",
    "datamaskinnavn": "hostname",
    "datamaskin": "hostname",
    "enhetsnavn": "hostname",
    "rechnername": "hostname",
    "geratename": "hostname",
    # fqdn
    "fqdn": "fqdn",
    "fullyqualifieddomainname": "fqdn",
    "dnsname": "fqdn",
    "dnshostname": "fqdn",
    "dnshostname0": "fqdn",
    "fulldomainname0": "fqdn",
    # cmid
    "cmid": "cmid",
    "clientmachineid": "cmid",
    "clientmachineid0": "cmid",
    # edition
    "edition": "edition",
    "product": "edition",
    "productname": "edition",
    "description0": "edition",
    "softwarename": "edition",
    "utgave": "edition",
    "produkt": "edition",
    "produktnavn": "edition",
    # activation_method
    "activationmethod": "activation_method",
    "method": "activation_method",
    "activationtype": "activation_method",
    "aktiveringsmetode": "activation_method",
    "aktivierungsmethode": "activation_method",
    # license_status
    "licensestatus": "license_status",
    "licensestatus0": "license_status",
    "licencestatus": "license_status",
    "licensestate": "license_status",
    "licencestate": "license_status",
    "status": "license_status",
    "activationstatus": "license_status",
    "lisensstatus": "license_status",
    "lisenstilstand": "license_status",
    "lizenzstatus": "license_status",
    # grace_minutes
    "graceminutes": "grace_minutes",
    "graceperiodremaining": "grace_minutes",
    "graceperiodremaining0": "grace_minutes",
    "remaininggrace": "grace_minutes",
    # dates
    "installedat": "installed_at",
    "installdate": "installed_at",
    "installdate0": "installed_at",
    "installed": "installed_at",
    "installert": "installed_at",
    "lastactivationat": "last_activation_at",
    "lastactivation": "last_activation_at",
    "sistaktivert": "last_activation_at",
    "lastrenewalat": "last_renewal_at",
    "lastrenewal": "last_renewal_at",
    "sistfornyet": "last_renewal_at",
    "lastseenat": "last_seen_at",
    "lastseen": "last_seen_at",
    "seenat": "last_seen_at",
    "lastscan": "last_seen_at",
    "lasthardwarescan": "last_seen_at",
    "lastactivetime": "last_seen_at",
    "lastlogontimestamp0": "last_seen_at",
    "sistsett": "last_seen_at",
    "zuletztgesehen": "last_seen_at",
    # kms_host
    "kmshost": "kms_host",
    "kmsserver": "kms_host",
    "keymanagementservicemachine": "kms_host",
    "keymanagementservicemachine0": "kms_host",
    "discoveredkeymanagementservicemachinename": "kms_host",
    "kmsvert": "kms_host",
    # reactivation_required
    "reactivationrequired": "reactivation_required",
    "hardwarechanged": "reactivation_required",
}

FIELD_LABELS: dict[str, Any] = {
    "hostname": gettext_lazy("Hostname (required)"),
    "fqdn": "FQDN",
    "cmid": "CMID",
    "edition": gettext_lazy("Edition"),
    "activation_method": gettext_lazy("Activation method"),
    "license_status": gettext_lazy("Licence state"),
    "grace_minutes": gettext_lazy("Grace minutes"),
    "installed_at": gettext_lazy("Installed at"),
    "last_activation_at": gettext_lazy("Last activation"),
    "last_renewal_at": gettext_lazy("Last renewal"),
    "last_seen_at": gettext_lazy("Last seen"),
    "kms_host": gettext_lazy("KMS host"),
    "reactivation_required": gettext_lazy("Reactivation required"),
}

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(name: str) -> str:
    """A column name as a key: lower case, letters and digits only ("Computer Name" ->
    "computername"); at most 100 characters."""
    return _NOT_ALNUM.sub("", name.strip().lower())[:100]


def suggest_field(name: str) -> str:
    """The portal field a column name suggests, or "" (ignore)."""
    canon = canonical_key(name)
    if canon in FIELDS:
        return canon
    return SYNONYMS.get(normalise(name), "")


@dataclass(frozen=True)
class Preview:
    header: list[str]
    rows: list[list[str]]
    suggested: list[str]  # one field (or "") per column


class UnreadableUpload(ValueError):
    pass


def read_preview(data: bytes, rows: int = PREVIEW_ROWS) -> tuple[list[str], list[list[str]]]:
    """The header and the first `rows` data rows; UnreadableUpload if there is no header."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise UnreadableUpload("no header")
        if len(header) > MAX_COLUMNS:
            raise UnreadableUpload("too many columns")
        body: list[list[str]] = []
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(body) >= rows:
                break
            body.append(row)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UnreadableUpload(str(exc)) from None
    return header, body


def headers_are_portal(header: list[str]) -> bool:
    """True if the one-step import reads this header as it is (portal names or their aliases)."""
    columns = [canonical_key(h) for h in header]
    return (
        all(c in FIELDS for c in columns)
        and "hostname" in columns
        and len(set(columns)) == len(columns)
    )


def suggestions(organisation: Organisation, header: list[str]) -> list[str]:
    """One field (or "") per column: the organisation's remembered mapping first, then the name.
    A field is suggested for its first column only."""
    remembered = dict(
        CsvColumnMapping.objects.for_organisation(organisation)
        .filter(column__in=[normalise(h) for h in header])
        .values_list("column", "field")
    )
    taken: set[str] = set()
    result = []
    for name in header:
        key = normalise(name)
        field = remembered[key] if key in remembered else suggest_field(name)
        if field and (field in taken or field not in FIELDS):
            field = ""
        taken.add(field)
        result.append(field)
    return result


def stage(*, actor: Any, organisation: Organisation, data: bytes, filename: str) -> CsvUpload:
    require_ingest(actor, organisation)
    CsvUpload.objects.filter(created_at__lt=timezone.now() - UPLOAD_TTL).delete()
    return CsvUpload.objects.create(
        organisation=organisation, actor=actor, data=data, filename=filename[:255]
    )


def token_for(upload: CsvUpload) -> str:
    return signing.dumps([upload.pk, upload.actor_id], salt=_SALT, compress=True)


def upload_id(token: str, user: Any) -> int | None:
    """The upload's id if the token is good, fresh and the user's own; else None."""
    try:
        pk, actor_id = signing.loads(token, salt=_SALT, max_age=UPLOAD_TTL)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if actor_id != getattr(user, "pk", None) or not isinstance(pk, int):
        return None
    return pk


def check_mapping(header: list[str], mapping: list[str]) -> None:
    """InvalidInput (field errors keyed by `col_<i>`) unless hostname is mapped once and no
    field is mapped twice."""
    errors: dict[str, str] = {}
    seen: dict[str, int] = {}
    for i, field in enumerate(mapping):
        if not field:
            continue
        if field not in FIELDS:
            errors[f"col_{i}"] = _("'%(field)s' is not a portal field.") % {"field": field[:40]}
        elif field in seen:
            errors[f"col_{i}"] = _("%(field)s is already mapped to column '%(column)s'.") % {
                "field": FIELD_LABELS[field],
                "column": header[seen[field]][:60],
            }
        else:
            seen[field] = i
    if "hostname" not in seen and not errors:
        errors["__all__"] = _("Map one column to Hostname: every row needs it.")
    if errors:
        raise InvalidInput(_("The column mapping is not complete."), field_errors=errors)


def remember(
    *,
    actor: Any,
    organisation: Organisation,
    header: list[str],
    mapping: list[str],
    ip_address: str | None = None,
) -> dict[str, list[str]]:
    """Store what each column means for the organisation; audit what changed."""
    wanted = {}
    for name, field in zip(header, mapping, strict=True):
        key = normalise(name)
        if key:
            wanted.setdefault(key, field)
    existing = {
        m.column: m
        for m in CsvColumnMapping.objects.for_organisation(organisation).filter(
            column__in=list(wanted)
        )
    }
    changes: dict[str, list[str]] = {}
    for key, field in wanted.items():
        old = existing.get(key)
        if old is None:
            CsvColumnMapping.objects.create(organisation=organisation, column=key, field=field)
            changes[key] = ["", field or "ignore"]
        elif old.field != field:
            changes[key] = [old.field or "ignore", field or "ignore"]
            old.field = field
            old.save(update_fields=["field", "updated_at"])
    if changes:
        audit.record(
            action="inventory.csv_mapping.update",
            actor=actor,
            organisation=organisation,
            changes=changes,
            ip_address=ip_address,
        )
    return changes


def renamed_csv(data: bytes, mapping: list[str]) -> bytes:
    """The file with the mapped columns only, under the portal's names. Line numbers stay those
    of the uploaded file; a row of the wrong width stays of the wrong width (the import rejects
    it, naming the line)."""
    keep = [i for i, f in enumerate(mapping) if f]
    width = len(mapping)
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="strict", newline="")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    reader = csv.reader(text)
    next(reader)
    writer.writerow([mapping[i] for i in keep])
    for row in reader:
        if not row:
            out.write("\n")
        elif len(row) == width:
            writer.writerow([row[i] for i in keep])
        else:
            writer.writerow(row if len(row) != len(keep) else [*row, ""])
    return out.getvalue().encode("utf-8")


def import_mapped(
    *,
    actor: Any,
    upload: CsvUpload,
    mapping: list[str],
    ip_address: str | None = None,
) -> ImportRun:
    """Check the mapping, remember it for the organisation, import the renamed file through
    `import_csv`, and drop the kept upload."""
    organisation = upload.organisation
    require_ingest(actor, organisation)
    data = bytes(upload.data)
    try:
        header, _rows = read_preview(data, rows=0)
    except UnreadableUpload:
        raise InvalidInput(_("The file cannot be read as CSV; upload it again.")) from None
    if len(mapping) != len(header):
        raise InvalidInput(_("The mapping does not match the file's columns; upload it again."))
    check_mapping(header, mapping)
    with transaction.atomic():
        remember(
            actor=actor,
            organisation=organisation,
            header=header,
            mapping=mapping,
            ip_address=ip_address,
        )
        try:
            renamed = renamed_csv(data, mapping)
        except (UnicodeDecodeError, csv.Error) as exc:
            upload.delete()
            return refuse(
                actor=actor,
                organisation=organisation,
                source=ImportSource.CSV,
                filename=upload.filename,
                started_at=timezone.now(),
                ip_address=ip_address,
                reason=f"The file is not a readable UTF-8 CSV ({str(exc)[:120]}). "
                "Save it as 'CSV UTF-8' and try again.",
            )
        run = import_csv(
            actor=actor,
            organisation=organisation,
            stream=io.BytesIO(renamed),
            filename=upload.filename,
            ip_address=ip_address,
            max_rows=settings.INVENTORY_UPLOAD_MAX_ROWS,
            max_bytes=max(len(renamed), settings.INVENTORY_UPLOAD_MAX_BYTES),
        )
        upload.delete()
    return run
