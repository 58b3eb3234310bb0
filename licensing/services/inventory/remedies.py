"""What an administrator does about a client's flag: the remedy in plain words, the exact
commands (Office's ospp.vbs on the client, slmgr.vbs on the KMS host), and why a renewal date
and a flag that look contradictory are both true. Plain data for the client page; no ORM."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from licensing.models import ActivationMethod, Client, ComplianceFlag, LicenseStatus

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
            summary = (
                "The client has not renewed with a KMS host for a while. Check that it reaches "
                f"{host_name} on TCP port {port}, then renew now from an elevated prompt on the "
                "client:"
            )
        elif flag == ComplianceFlag.REACTIVATION_NEEDED:
            summary = (
                "The client must activate again (its hardware or its KMS host changed). Point "
                "it at the KMS host and activate, from an elevated prompt on the client:"
            )
        else:
            summary = (
                "The client is not activated. Point it at the KMS host and activate from an "
                "elevated prompt on the client; if activation fails, check the host's count "
                "(it activates Office only from 5 clients) with slmgr on the host:"
            )
    else:
        client_commands = [f"{OSPP} /inpkey:<the pool's MAK>", f"{OSPP} /act"]
        summary = (
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
            client.last_seen_at.strftime("%Y-%m-%d") if client.last_seen_at else "its last report"
        )
        renewed = (
            client.last_renewal_at.strftime("%Y-%m-%d")
            if client.last_renewal_at
            else "its last activation"
        )
        explanation = (
            f"Both are true: the renewal deadline ({deadline:%Y-%m-%d}) is 180 days from the last "
            f"renewal the portal knows of ({renewed}); the flag comes from what the client itself "
            f"reported on {seen}: licence state “{status}”. The client's own report wins: "
            "Office on that machine is not activated now, whatever the date says."
        )
    stale_note = ""
    if client.last_seen_at is not None and (now - client.last_seen_at).days > stale_after_days:
        stale_note = (
            f"No report for {(now - client.last_seen_at).days} days (stale after "
            f"{stale_after_days}): if the machine is gone, retire it; otherwise check its "
            "inventory agent."
        )
    if not summary and not explanation and not stale_note:
        return None
    return Remedy(summary, client_commands, host_commands, explanation, stale_note)
