"""Celery tasks of the KMS area: beat dispatch of due host polls, one task per poll, and the
periodic SRV discovery of rogue hosts. Registered through the import at the end of
licensing/tasks.py (Celery autodiscovers only `licensing.tasks`)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.utils import timezone

from licensing.models import Heartbeat
from licensing.services import kms

log = logging.getLogger(__name__)

# A poll is a few DNS lookups and one TCP connect, each bounded by its own timeout (3 s by
# default). The limits only catch the pathological case; they never bound a normal poll.
POLL_SOFT_LIMIT = 60
POLL_HARD_LIMIT = 75


@shared_task(name="licensing.tasks_kms.dispatch_due_host_polls", ignore_result=True)
def dispatch_due_host_polls() -> int:
    """Beat, every 60 s: claim the due hosts (SKIP LOCKED, next poll pushed forward) and queue
    one poll task each, after the claim commits."""
    with transaction.atomic():
        ids = kms.claim_due_hosts()
        Heartbeat.objects.update_or_create(name="kms_dispatch", defaults={"at": timezone.now()})
        transaction.on_commit(lambda: [poll_kms_host.delay(pk) for pk in ids])
    return len(ids)


@shared_task(
    name="licensing.tasks_kms.poll_kms_host",
    ignore_result=True,
    soft_time_limit=POLL_SOFT_LIMIT,
    time_limit=POLL_HARD_LIMIT,
)
def poll_kms_host(host_id: int) -> str:
    """Poll one host. Safe to run twice: each run stores its own HostPoll, and the state and
    its notification are decided under the host's row lock."""
    try:
        poll = kms.poll_host(host_id=host_id)
    except SoftTimeLimitExceeded:
        log.warning("poll of KMS host %s exceeded %s s", host_id, POLL_SOFT_LIMIT)
        return "timeout"
    return poll.state if poll is not None else "skipped"


@shared_task(name="licensing.tasks_kms.dispatch_dns_discovery", ignore_result=True)
def dispatch_dns_discovery() -> int:
    """Beat, every 10 min: look for rogue `_vlmcs._tcp` records in every organisation with DNS
    domains, even organisations without registered hosts."""
    ids = kms.organisations_with_domains()
    for pk in ids:
        discover_organisation_srv.delay(pk)
    return len(ids)


@shared_task(
    name="licensing.tasks_kms.discover_organisation_srv",
    ignore_result=True,
    soft_time_limit=POLL_SOFT_LIMIT,
    time_limit=POLL_HARD_LIMIT,
)
def discover_organisation_srv(organisation_id: int) -> int:
    return kms.discover_organisation(organisation_id=organisation_id)
