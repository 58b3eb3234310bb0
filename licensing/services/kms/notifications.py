"""The notifications of the KMS area (e-mail and webhooks through `notify`): a host's change of
state, one per change, and an unregistered host in DNS, one per opening of the finding; each
sent once even when its message is delivered twice."""

from __future__ import annotations

import logging

from django.utils.translation import gettext_lazy as _

from licensing.models import DnsFinding, HostPoll, HostState, Role
from licensing.querysets import member_emails
from licensing.services import notify

log = logging.getLogger(__name__)


def notify_state_change(*, poll_id: int, previous: str) -> int:
    """Email the organisation's administrators about the state this poll moved the host to.
    Returns the number of recipients (0 when already sent). Queued by the poll in its own
    transaction; a mail failure is logged, not retried."""
    poll = HostPoll.objects.select_related("host__organisation").filter(pk=poll_id).first()
    if poll is None:
        return 0
    host = poll.host
    recipients = member_emails(host.organisation_id, Role.ADMIN)
    label = HostState(poll.state).label
    was = HostState(previous).label if previous in HostState.values else previous
    reason = poll.error.split("\n", 1)[0] if poll.error else host.state_reason
    try:
        return notify.notify(
            "kms.state_change",
            once_key=f"kms.state_change:{poll.pk}",
            organisation_id=host.organisation_id,
            recipients=recipients,
            context={
                "host": host,
                "label": label,
                "was": was,
                "reason": reason,
                "advice": _ADVICE.get(poll.state, ""),
                "url": notify.portal_url("licensing:host_detail", host.pk),
            },
        )
    except Exception:  # the state is stored; a mail outage must not fail anything else
        log.exception("could not email the state change of KMS host %s", host.pk)
        return 0


def notify_rogue_srv(*, finding_id: int, opened_at: str) -> int:
    """Tell the organisation's administrators that a `_vlmcs._tcp` record points at a host the
    portal does not know. Nothing when the finding was resolved meanwhile."""
    finding = (
        DnsFinding.objects.select_related("organisation")
        .filter(pk=finding_id, resolved_at__isnull=True)
        .first()
    )
    if finding is None:
        return 0
    return notify.notify(
        "kms.rogue_srv",
        once_key=f"kms.rogue_srv:{finding.pk}:{opened_at}",
        organisation_id=finding.organisation_id,
        recipients=member_emails(finding.organisation_id, Role.ADMIN),
        context={
            "finding": finding,
            "organisation": finding.organisation,
            "url": notify.portal_url(
                "licensing:host_list", query=f"organisation={finding.organisation.slug}"
            ),
        },
    )


# What to do about each state, in the words of the recipient's language (rendered per language).
_ADVICE = {
    HostState.HEALTHY: _("Nothing to do."),
    HostState.BELOW_THRESHOLD: _(
        "Clients cannot activate until the count reaches the threshold: check that clients "
        "reach this host and that images were generalised (duplicate CMIDs)."
    ),
    HostState.UNREACHABLE: _(
        "Clients cannot reach the KMS port: check the Software Protection service, the "
        "firewall rule for the port, and the host itself."
    ),
    HostState.NOT_PUBLISHED: _(
        "Clients using DNS auto-discovery will not find this host: check DNS publishing "
        "(slmgr /sdns), DnsDomainPublishList and the zone's permissions."
    ),
    HostState.REPORT_OVERDUE: _(
        "The scheduled task that posts slmgr.vbs /dlv has stopped: check the task and its "
        "reporter token (tokens expire)."
    ),
}
