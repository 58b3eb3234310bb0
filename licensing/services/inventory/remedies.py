"""What an administrator does about a client's flag: the remedy in plain words, the exact
commands (Office's ospp.vbs on the client, slmgr.vbs on the KMS host), and why a renewal date
and a flag that look contradictory are both true. Plain data for the client page; no ORM."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from licensing.models import ActivationMethod, Client, ComplianceFlag, LicenseStatus
from licensing.models.kms import OFFICE_ACTIVATION_THRESHOLD
from licensing.services.inventory.rules import KMS_VALIDITY_DAYS

OSPP = r'cscript "%ProgramFiles%\Microsoft Office\Office16\OSPP.VBS"'
SLMGR = r"cscript %windir%\system32\slmgr.vbs"


@dataclass(frozen=True)
class Remedy:
    summary: str
    client_commands: list[str] = field(default_factory=list)
    host_commands: list[str] = field(default_factory=list)
    explanation: str = ""  # why the deadline and the flag disagree, when they seem to
    stale_note: str = ""


def remedy_for(client: Client, now: datetime, stale_after_days: int) -> Remedy | None:
    flag = client.compliance_flag
    host = client.kms_host
    host_name = f"{host.fqdn}" if host else "<your KMS host>"
    port = host.port if host else 1688
    kms = client.activation_method == ActivationMethod.KMS
    client_commands: list[str] = []
    host_commands: list[str] = []
    if flag == ComplianceFlag.OK:
        summary = ""
    elif kms:
        client_commands = [f"{OSPP} /sethst:{host_name}", f"{OSPP} /setprt:{port}", f"{OSPP} /act"]
        host_commands = [f"{SLMGR} /dlv"]
        if flag == ComplianceFlag.AT_RISK:
            summary = _(
                "The client has not renewed with a KMS host for a while. Check that it reaches "
                "%(host)s on TCP port %(port)s, then renew now from an elevated prompt on the "
                "client:"
            ) % {"host": host_name, "port": port}
        elif flag == ComplianceFlag.REACTIVATION_NEEDED:
            summary = _(
                "The client must activate again (its hardware or its KMS host changed). Point "
                "it at the KMS host and activate, from an elevated prompt on the client:"
            )
        elif flag == ComplianceFlag.EXPIRED and client.license_status == LicenseStatus.LICENSED:
            # Its last own report said licensed: the date, not the client, says it lapsed.
            summary = _(
                "The client's KMS activation has lapsed: it has not renewed for %(days)s days. "
                "Check that it reaches %(host)s on TCP port %(port)s, then activate again from "
                "an elevated prompt on the client; if activation fails, check the host's count "
                "(it activates Office only from %(threshold)s clients) with slmgr on the host:"
            ) % {
                "days": KMS_VALIDITY_DAYS,
                "host": host_name,
                "port": port,
                "threshold": host.activation_threshold if host else OFFICE_ACTIVATION_THRESHOLD,
            }
        else:
            summary = _(
                "The client is not activated. Point it at the KMS host and activate from an "
                "elevated prompt on the client; if activation fails, check the host's count "
                "(it activates Office only from 5 clients) with slmgr on the host:"
            )
    else:
        client_commands = [f"{OSPP} /inpkey:<the pool's MAK>", f"{OSPP} /act"]
        summary = _(
            "A MAK client activates once with Microsoft. Request an activation from the MAK "
            "pool, enter the key and activate, from an elevated prompt on the client:"
        )
    explanation = ""
    deadline = client.renewal_deadline
    if (
        deadline is not None
        and deadline > now
        and flag
        in (ComplianceFlag.EXPIRED, ComplianceFlag.UNLICENSED, ComplianceFlag.GRACE_EXPIRING)
    ):
        status = (
            LicenseStatus(client.license_status).label if client.license_status is not None else "—"
        )
        seen = (
            date_format(client.last_seen_at, "SHORT_DATE_FORMAT")
            if client.last_seen_at
            else _("its last report")
        )
        renewed = (
            date_format(client.last_renewal_at, "SHORT_DATE_FORMAT")
            if client.last_renewal_at
            else _("its last activation")
        )
        explanation = _(
            "Both are true: the renewal deadline (%(deadline)s) is 180 days from the last "
            "renewal the portal knows of (%(renewed)s); the flag comes from what the client "
            "itself reported on %(seen)s: licence state “%(status)s”. The client's own report "
            "wins: Office on that machine is not activated now, whatever the date says."
        ) % {
            "deadline": date_format(deadline, "SHORT_DATE_FORMAT"),
            "renewed": renewed,
            "seen": seen,
            "status": status,
        }
    stale_note = ""
    if client.last_seen_at is not None and (now - client.last_seen_at).days > stale_after_days:
        days = (now - client.last_seen_at).days
        stale_note = ngettext(
            "No report for %(days)s day (stale after %(stale)s): if the machine is gone, "
            "retire it; otherwise check its inventory agent.",
            "No report for %(days)s days (stale after %(stale)s): if the machine is gone, "
            "retire it; otherwise check its inventory agent.",
            days,
        ) % {"days": days, "stale": stale_after_days}
    if not summary and not explanation and not stale_note:
        return None
    return Remedy(summary, client_commands, host_commands, explanation, stale_note)
