"""Every Celery task of the portal, named `licensing.<area>.<action>`.

Tasks are thin: they take ids, call one service and return a small summary. Each is idempotent
and safe to run again (late acks and `task_reject_on_worker_lost` re-run a task whose worker
died). Services queue them by name through `licensing.services.outbox`, never by import.
Periodic ones are scheduled in portal/celery.py.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from licensing import filters
from licensing.models import Heartbeat
from licensing.services import dashboard_warmup, fleet_summary, outbox, webhooks
from licensing.services.inventory import bulk, digest, sweep
from licensing.services.kms import discovery, notifications, polling
from licensing.services.licences import alerts as licence_alerts
from licensing.services.mak import alerts

log = logging.getLogger(__name__)

_REGISTERED: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {}


def task(name: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """`shared_task` with the portal's defaults, remembered so a former name can point at it."""
    options = {"ignore_result": True, **options}

    def register(fn: Callable[..., Any]) -> Any:
        _REGISTERED[name] = (fn, options)
        return shared_task(name=name, **options)(fn)

    return register


def _heartbeat(name: str) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"at": timezone.now()})


# --- operations ------------------------------------------------------------------------------


@task("licensing.ops.record_heartbeat")
def record_beat_heartbeat() -> str:
    """Proves beat and a worker are alive; /readyz reports its age."""
    now = timezone.now()
    Heartbeat.objects.update_or_create(name="beat", defaults={"at": now})
    return now.isoformat()


@task("licensing.outbox.publish")
def publish_outbox() -> dict[str, int]:
    """Beat, every 30 s: publish the outbox messages the publish after commit could not send
    (broker down at the time). Concurrent runs take disjoint rows (SKIP LOCKED)."""
    return outbox.publish_due().as_dict()


@task("licensing.outbox.prune_sent_notifications")
def prune_sent_notifications() -> int:
    """Nightly: forget notification claims older than the retention (idempotent)."""
    return outbox.prune_sent_notifications()


# --- fleet -----------------------------------------------------------------------------------


@task("licensing.fleet.refresh_client_counts")
def refresh_client_counts() -> int:
    """Rebuild the dashboard counters of every organisation (idempotent, set-based), then fill
    what large organisations' dashboards cache under the new counters' time."""
    rows = fleet_summary.refresh_client_counts()
    dashboard_warmup.warm_dashboards()
    return rows


# --- inventory -------------------------------------------------------------------------------


@task("licensing.inventory.sweep_compliance")
def sweep_compliance(full: bool = False) -> dict[str, Any]:
    """The periodic sweep: transitions only (rows whose recheck time has come), or every
    client with `full=True` (nightly safety net). Overlapping runs skip (advisory lock)."""
    result = sweep.sweep(full=full, changed_by="sweep:full" if full else "sweep")
    if not result.skipped:
        _heartbeat("sweep")
    return sweep.summary(result)


@task("licensing.inventory.sweep_after_ingest")
def sweep_after_ingest(organisation_id: int) -> dict[str, Any]:
    """After an ingest commits: sweep the organisation's due rows (waiting for a running sweep
    rather than skipping) and refresh its snapshot counts for today."""
    result = sweep.sweep(organisation_id=organisation_id, changed_by="sweep:ingest", wait=True)
    sweep.refresh_snapshots(organisation_ids=[organisation_id], day=result.at.date())
    return sweep.summary(result)


@task("licensing.inventory.resweep_organisation")
def resweep_organisation(organisation_id: int) -> dict[str, Any]:
    """After an organisation's at-risk days changed: re-flag all of its clients (idempotent: a
    second run writes nothing)."""
    result = sweep.sweep(
        organisation_id=organisation_id, full=True, wait=True, changed_by="sweep:settings"
    )
    return sweep.summary(result)


@task("licensing.inventory.bulk_action")
def bulk_action(action: str, organisation_id: int, actor_id: int, query: str) -> str:
    """Retire, restore or re-check every client matching a list's filter, when there are more
    than a request should wait for (licensing/services/inventory/bulk.py)."""
    return bulk.run_queued(
        action, organisation_id, actor_id, query, matching=filters.clients_matching
    )


@task("licensing.inventory.send_compliance_digests")
def send_compliance_digests() -> dict[str, int]:
    """Once a day (safe to run more often: each organisation gets one digest per day)."""
    return digest.send_daily_digests()


# --- KMS hosts -------------------------------------------------------------------------------


@task("licensing.kms.dispatch_due_polls")
def dispatch_due_host_polls() -> int:
    """Beat, every 60 s: lease the due hosts and queue their polls in batches."""
    queued = polling.dispatch_due_polls()
    _heartbeat("kms_dispatch")
    return queued


@task(
    "licensing.kms.poll_host",
    soft_time_limit=polling.POLL_SOFT_TIME_LIMIT,
    time_limit=polling.POLL_TIME_LIMIT,
)
def poll_kms_host(host_id: int) -> str:
    """Poll one host. Safe to run twice: each run stores its own HostPoll, and the state and
    its notification are decided under the host's row lock."""
    try:
        poll = polling.poll_host(host_id=host_id)
    except SoftTimeLimitExceeded:
        log.warning("poll of KMS host %s exceeded %s s", host_id, polling.POLL_SOFT_TIME_LIMIT)
        return "timeout"
    return poll.state if poll is not None else "skipped"


@task(
    "licensing.kms.poll_hosts",
    soft_time_limit=polling.POLL_SOFT_TIME_LIMIT,
    time_limit=polling.POLL_TIME_LIMIT,
)
def poll_kms_hosts(host_ids: list[int]) -> dict[str, int]:
    """Poll a batch of hosts (queued by the dispatch), all probed at once. Safe to run twice,
    like `poll_host`. Returns how many polls found each state."""
    try:
        polls = polling.poll_hosts(host_ids=host_ids)
    except SoftTimeLimitExceeded:
        log.warning(
            "poll of %d KMS hosts exceeded %s s", len(host_ids), polling.POLL_SOFT_TIME_LIMIT
        )
        return {"timeout": len(host_ids)}
    return dict(Counter(poll.state for poll in polls))


@task("licensing.kms.notify_state_change")
def notify_kms_state_change(poll_id: int, previous: str = "") -> int:
    """E-mail the administrators about the state change this poll found (once per poll)."""
    return notifications.notify_state_change(poll_id=poll_id, previous=previous)


@task("licensing.kms.dispatch_dns_discovery")
def dispatch_dns_discovery() -> int:
    """Beat, every 10 min: look for rogue `_vlmcs._tcp` records in every organisation with DNS
    domains, even organisations without registered hosts."""
    return discovery.dispatch_discovery()


@task(
    "licensing.kms.discover_srv",
    soft_time_limit=polling.POLL_SOFT_TIME_LIMIT,
    time_limit=polling.POLL_TIME_LIMIT,
)
def discover_organisation_srv(organisation_id: int) -> int:
    return discovery.discover_organisation(organisation_id=organisation_id)


@task("licensing.kms.notify_rogue_srv")
def notify_kms_rogue_srv(finding_id: int, opened_at: str) -> int:
    """Tell the administrators (e-mail, webhooks) about an SRV record pointing at a host the
    organisation has not registered (once per opening of the finding)."""
    return notifications.notify_rogue_srv(finding_id=finding_id, opened_at=opened_at)


# --- MAK pools -------------------------------------------------------------------------------


@task("licensing.mak.check_low_water")
def check_mak_low_water() -> dict[str, int]:
    """Beat: claim low-water crossings the per-activation check cannot see (a lowered mark,
    a blocked key) and re-arm pools back above their mark."""
    result = alerts.update_low_water_state()
    return {"crossed": len(result.crossed), "rearmed": len(result.rearmed)}


@task("licensing.mak.send_low_water_alert")
def send_low_water_alert(pool_id: int) -> int:
    return alerts.notify_low_water(pool_id=pool_id)


@task("licensing.mak.send_request_created")
def send_request_created(request_id: int) -> int:
    return alerts.notify_request_created(request_id=request_id)


@task("licensing.mak.send_request_decided")
def send_request_decided(request_id: int) -> int:
    return alerts.notify_request_decided(request_id=request_id)


# --- licences (agreements, entitlements, the licence position) --------------------------------


@task("licensing.licences.check_agreement_ends")
def check_agreement_ends() -> int:
    """Beat, daily: claim agreement and Software Assurance ends 90 and 30 days ahead."""
    return len(licence_alerts.claim_end_alerts())


@task("licensing.licences.send_agreement_end_alert")
def send_agreement_end_alert(agreement_id: int, kind: str, days: int) -> int:
    return licence_alerts.notify_agreement_end(agreement_id=agreement_id, kind=kind, days=days)


@task("licensing.licences.check_shortfall")
def check_shortfall(organisation_id: int) -> bool:
    """Queued by an entitlement change: alert once if a shortfall appeared or grew."""
    return licence_alerts.check_shortfall(organisation_id=organisation_id)


@task("licensing.licences.check_all_shortfalls")
def check_all_shortfalls() -> int:
    """Beat, hourly: installs change through ingest, so every organisation is checked."""
    return licence_alerts.check_all_shortfalls()


@task("licensing.licences.send_shortfall_alert")
def send_shortfall_alert(organisation_id: int) -> int:
    return licence_alerts.notify_shortfall(organisation_id=organisation_id)


# --- webhooks --------------------------------------------------------------------------------


@task("licensing.webhooks.deliver", bind=True, max_retries=None)
def deliver_webhook(self: Any, delivery_id: int) -> str:
    """Post one webhook delivery; a failure that may pass (timeout, refused, 408, 429, 5xx) is
    retried after the back-off the service decided, until WEBHOOK_MAX_ATTEMPTS."""
    outcome = webhooks.deliver(delivery_id)
    if outcome.status == "retry":
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


# --- former names ----------------------------------------------------------------------------
# Messages queued before the rename still carry these names: each stays registered on the same
# function with the same options, so a worker of this version runs them. Drop an entry once no
# queue or outbox can hold it any more.

FORMER_NAMES = {
    "licensing.tasks.record_beat_heartbeat": "licensing.ops.record_heartbeat",
    "licensing.tasks_fleet.refresh_client_counts": "licensing.fleet.refresh_client_counts",
    "licensing.tasks_kms.dispatch_due_host_polls": "licensing.kms.dispatch_due_polls",
    "licensing.tasks_kms.poll_kms_host": "licensing.kms.poll_host",
    "licensing.tasks_kms.dispatch_dns_discovery": "licensing.kms.dispatch_dns_discovery",
    "licensing.tasks_kms.discover_organisation_srv": "licensing.kms.discover_srv",
    "licensing.tasks_mak.check_mak_low_water": "licensing.mak.check_low_water",
    "licensing.tasks_mak.send_low_water_alert": "licensing.mak.send_low_water_alert",
    "licensing.tasks_mak.send_request_created": "licensing.mak.send_request_created",
    "licensing.tasks_mak.send_request_decided": "licensing.mak.send_request_decided",
}

for _former, _current in FORMER_NAMES.items():
    _fn, _options = _REGISTERED[_current]
    shared_task(name=_former, **_options)(_fn)
