"""Parsers of activation-tool output: pure Python, no Django, no ORM, no settings.

They take text and return plain frozen dataclasses; they never touch the database.

Status text (`slmgr.vbs /dlv` or `/dli`, `ospp.vbs /dstatus`)
--------------------------------------------------------------
    from licensing.parsers import parse_status, decode_upload, UnreadableStatusText

    try:
        doc = parse_status(decode_upload(request_body_bytes))   # or a str you already have
    except UnreadableStatusText as exc:
        ...  # 400 with exc.reason; keep the text for inspection

    doc.format                      # "slmgr_dlv" | "ospp_dstatus"
    doc.to_dict()                   # the JSON of `manage.py parse_status` (issue 5, section 5)
    for lic in doc.licenses:        # tuple[LicenseRecord, ...]; may be empty for ospp's
        lic.name, lic.description   #   "<No installed product keys detected>"
        lic.sku_id                  # lower-case GUID (slmgr Activation ID / ospp SKU ID) or None
        lic.status                  # one of STATUS_WORDS, or None ("---UNKNOWN---")
        lic.state_code              # 0..6 as stored in the database (STATUS_CODES[lic.status])
        lic.error_code              # "0xC004F009" (ospp ERROR CODE, slmgr Notification Reason)
        lic.grace_minutes           # REMAINING GRACE minutes / "Volume activation expiration"
        lic.last5                   # last five characters of the installed key, upper case
        lic.kms_client              # KmsClientInfo(cmid, kms_host, kms_port,
                                    #   activation_interval_minutes, renewal_interval_minutes)
                                    #   or None when the licence has no KMS client block
        lic.kms_host                # KmsHostInfo(current_count, port, dns_publishing (bool),
                                    #   priority ("normal"/"low"), total_requests,
                                    #   failed_requests, requests_by_status) or None

`parse_slmgr_dlv(text)` and `parse_ospp_dstatus(text)` skip the format detection.

- Every value the text does not give is None. `current_count` (and any request counter) is -1
  when the tool printed -1 or 4294967295 ("not a KMS host / no requests").
- `requests_by_status` is a RequestCounts: `counts["licensed"]`, `counts.to_dict()` (all seven
  status words; slmgr prints no extended-grace counter, so that one is None).
- `kms_client.kms_host` is the registered / registry-override host when one is set (that is the
  host the client uses), else the host found in DNS; None for "KMS name not available".
- `kms_host` sits on the licence whose block printed it (the host's own KMS licence).
- Licences without a status line are left out (slmgr's "This license is not in use", blocks of
  `ospp.vbs /act` pasted along); a text with no status line at all is unreadable.
- Handled: CRLF / LF / CR, BOM, NULs, localised Windows Script Host banners, indented or flat
  layout, tabs, collapsed or doubled spaces, `_ ` gaps (`OOB_ GRACE`), lines wrapped by the
  console (joined back), several licences, slmgr's host block, client block and `/dli` subset,
  ospp's KMS block and copies that lost their line breaks.
- UnreadableStatusText(reason): one exception for every text that cannot be read; `.reason`
  is a short sentence ("text is empty", "no 'License Status' line found: ...", "not slmgr.vbs
  /dlv or ospp.vbs /dstatus output", "unrecognised licence status '...'"). A reason never
  contains a full product key. Any other exception from these parsers is a bug.

`decode_upload(data: bytes) -> str` decodes an upload: UTF-8 (BOM or not), UTF-16/32 with BOM,
UTF-16 without BOM, else cp1252. It never raises.

Licence states (DOMAIN.md section 6): STATUS_WORDS[code] is the word for code 0..6;
STATUS_CODES[word] / status_code(word) the code; status_word(code) the word.

Event 12290 exports (`licensing.parsers.events`)
-----------------------------------------------
    from licensing.parsers import parse_12290_export, EventRow, EventError

    for item in parse_12290_export(text):       # bare info strings, CSV exports, event text
        if isinstance(item, EventError):
            report(item.line, item.reason)      # 1-based line where the record starts
        else:
            item.client_fqdn, item.cmid, item.client_time (aware UTC), item.license_state,
            item.minutes_to_expiry, item.sku_id, item.min_count, item.is_vm,
            item.hresult (int), item.hresult_hex, item.succeeded, item.status

- `client_fqdn` is lower-cased and must look like a host name (the docs' "<KMS Client name>"
  placeholder is an error); CMID and activation id are lower-case GUIDs; the client time is
  read as UTC (`2010/9/29 21:46`, with seconds, or ISO 8601 with an optional offset).
- Rows of other events in the same export (12288, 12293, 12294) are skipped, not errors.

`parse_12290_info(info, line=1)` parses one info string and raises ValueError with the reason.
"""

from licensing.parsers.events import (
    EventError,
    EventRow,
    parse_12290_export,
    parse_12290_info,
    parse_client_time,
)
from licensing.parsers.model import (
    STATUS_BY_CODE,
    STATUS_CODES,
    STATUS_WORDS,
    KmsClientInfo,
    KmsHostInfo,
    LicenseRecord,
    RequestCounts,
    StatusDocument,
    UnreadableStatusText,
    status_code,
    status_word,
)
from licensing.parsers.status import parse_ospp_dstatus, parse_slmgr_dlv, parse_status
from licensing.parsers.text import decode_upload

__all__ = [
    "STATUS_BY_CODE",
    "STATUS_CODES",
    "STATUS_WORDS",
    "EventError",
    "EventRow",
    "KmsClientInfo",
    "KmsHostInfo",
    "LicenseRecord",
    "RequestCounts",
    "StatusDocument",
    "UnreadableStatusText",
    "decode_upload",
    "parse_12290_export",
    "parse_12290_info",
    "parse_client_time",
    "parse_ospp_dstatus",
    "parse_slmgr_dlv",
    "parse_status",
    "status_code",
    "status_word",
]
