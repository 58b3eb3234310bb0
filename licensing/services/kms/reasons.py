"""The sentences the KMS area stores in English: why a host is in its state (`KmsHost.state_reason`,
`HostPoll.error`) and why a status report was not read (`HostStatusReport.error`). The writers
fill these templates; pages and e-mails show them in the reader's language through
`licensing.stored_text` (the `state_reason` and `report_error` filters of `kms_tags`)."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from licensing import stored_text

# Host states (services/kms/polling.py decide_state, services/kms/hosts.py retire_host).
NO_TCP = gettext_noop("No TCP connection.")
WRONG_PORT = gettext_noop(
    "_vlmcs._tcp.%(domain)s points at this host with port %(ports)s, not %(port)s."
)
NOT_IN_SRV = gettext_noop("No _vlmcs._tcp SRV record for this host in %(domains)s.")
NEVER_REPORTED = gettext_noop(
    "No status report received since the host was registered (%(hours)s h ago or more)."
)
WAITING_FOR_REPORT = gettext_noop("Reachable; waiting for the first status report.")
REPORT_TOO_OLD = gettext_noop("The newest status report is %(age)s h old (more than %(hours)s h).")
NO_COUNT = gettext_noop("The host reports no current count (KMS not enabled, or no requests yet).")
BELOW_THRESHOLD = gettext_noop(
    "Current count %(count)s is under the activation threshold of %(threshold)s: clients "
    "cannot activate (0xC004F038)."
)
HEALTHY = gettext_noop("Current count %(count)s (threshold %(threshold)s).")
DNS_ERROR = gettext_noop("DNS %(domain)s: %(error)s")
RETIRED = gettext_noop("Retired by an administrator.")

STATE_REASONS = (
    NO_TCP,
    WRONG_PORT,
    NOT_IN_SRV,
    NEVER_REPORTED,
    WAITING_FOR_REPORT,
    REPORT_TOO_OLD,
    NO_COUNT,
    BELOW_THRESHOLD,
    HEALTHY,
    DNS_ERROR,
    RETIRED,
)

# Unreadable status reports (services/kms/reports.py).
CLIENT_STATUS = gettext_noop(
    "This is the output of ospp.vbs /dstatus (an Office client), not slmgr.vbs /dlv run on "
    "the KMS host."
)
NO_KMS_LICENCE = gettext_noop(
    "No licence in the text has the 'Key Management Service is enabled on this machine' "
    "block: run slmgr.vbs /dlv all (or /dlv <Office activation ID>) on the KMS host."
)

REPORT_ERRORS = (CLIENT_STATUS, NO_KMS_LICENCE)


def state_reason(text: str) -> str:
    """A stored state reason (one sentence a line) in the active language."""
    return stored_text.translate_lines(text, STATE_REASONS)


def report_error(text: str) -> str:
    return stored_text.translate(text, REPORT_ERRORS)
