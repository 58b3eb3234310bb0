"""Prometheus metrics for `/metrics` (prometheus-client).

Three kinds, each kept where it can be seen from any machine:

- **Requests** (latency histogram, counts by status, 5xx errors; labelled by URL name, never by
  path): prometheus-client metrics of the web process. Under gunicorn with several workers set
  `PROMETHEUS_MULTIPROC_DIR` (an empty directory per machine, cleared at start) and every
  worker's numbers are summed in each scrape.
- **Celery tasks** (runs by final state, seconds spent): counted by the workers in Redis
  (`HINCRBY` on one hash per installation), so a scrape of any web process sees the tasks of
  every worker on every machine. Redis down: the counts of that time are dropped, never a task.
- **Domain and operations gauges**, computed at scrape time set-based: clients by flag per
  organisation (from the dashboard counters `ClientCount`, rebuilt every 5 minutes), KMS hosts by
  state, MAK pools' remaining activations and days left, pending approvals, outbox backlog,
  webhook deliveries, heartbeat ages, the broker queue's length. A section that fails is left
  out and `portal_metrics_section_up{section}` says 0.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
TASK_HASH = "portal:metrics:tasks"

REQUEST_SECONDS = Histogram(
    "portal_http_request_duration_seconds",
    "Time from the request's arrival to the response, by URL name and method.",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REQUESTS = Counter(
    "portal_http_requests",
    "Requests answered, by URL name, method and status code.",
    ["view", "method", "status"],
)
REQUEST_ERRORS = Counter(
    "portal_http_request_errors",
    "Requests answered with a 5xx status, by URL name and method.",
    ["view", "method"],
)


def observe_request(view: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(view, method).observe(seconds)
    REQUESTS.labels(view, method, str(status)).inc()
    if status >= 500:
        REQUEST_ERRORS.labels(view, method).inc()


# --- Celery tasks (counted in Redis by the workers) -----------------------------------------

_redis_client: Any = None


def _redis() -> Any:
    global _redis_client
    if not settings.REDIS_URL:
        return None
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=0.25,
            socket_timeout=0.5,
        )
    return _redis_client


def record_task(name: str, state: str, seconds: float) -> None:
    """Count one finished task run (state SUCCESS, FAILURE, RETRY, ...). Never raises."""
    client = _redis()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        pipe.hincrby(TASK_HASH, f"runs|{name}|{state}", 1)
        pipe.hincrbyfloat(TASK_HASH, f"seconds|{name}", round(seconds, 6))
        pipe.execute()
    except Exception as exc:  # Redis down: drop this count, never fail the task
        log.debug("task metrics not recorded: %s", type(exc).__name__)


# --- the scrape ---------------------------------------------------------------------------


def _rows(sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.fetchall()


def _heartbeats() -> Iterator[Metric]:
    g = GaugeMetricFamily(
        "portal_heartbeat_age_seconds",
        "Seconds since a periodic component last ran (beat: the beat heartbeat task).",
        labels=["component"],
    )
    now = timezone.now()
    for name, at in _rows("SELECT name, at FROM licensing_heartbeat ORDER BY name"):
        g.add_metric([name], (now - at).total_seconds())
    yield g


def _clients() -> Iterator[Metric]:
    g = GaugeMetricFamily(
        "portal_clients",
        "Clients by compliance flag per organisation (dashboard counters, rebuilt every 5 min).",
        labels=["organisation", "flag"],
    )
    age = GaugeMetricFamily(
        "portal_client_counts_age_seconds", "Age of the oldest client counter row."
    )
    now = timezone.now()
    oldest = None
    for slug, flag, n, computed in _rows(
        """
        SELECT o.slug, c.compliance_flag, sum(c.count), min(c.computed_at)
        FROM licensing_clientcount c JOIN licensing_organisation o ON o.id = c.organisation_id
        GROUP BY o.slug, c.compliance_flag ORDER BY 1, 2
        """
    ):
        g.add_metric([slug, flag], n)
        oldest = computed if oldest is None else min(oldest, computed)
    yield g
    if oldest is not None:
        age.add_metric([], (now - oldest).total_seconds())
        yield age


def _hosts() -> Iterator[Metric]:
    g = GaugeMetricFamily(
        "portal_kms_hosts", "KMS hosts (not retired) by state.", labels=["organisation", "state"]
    )
    for slug, state, n in _rows(
        """
        SELECT o.slug, h.state, count(*) FROM licensing_kmshost h
        JOIN licensing_organisation o ON o.id = h.organisation_id
        WHERE h.retired_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2
        """
    ):
        g.add_metric([slug, state], n)
    yield g


def _pools() -> Iterator[Metric]:
    from licensing.models import MakPool
    from licensing.services.mak.forecast import forecast_pools

    labels = ["organisation", "pool", "edition"]
    remaining = GaugeMetricFamily(
        "portal_mak_pool_remaining_activations",
        "Activations left in a MAK pool (blocked keys count for nothing).",
        labels=labels,
    )
    days = GaugeMetricFamily(
        "portal_mak_pool_days_left",
        "Days until the pool runs out at the last 30 days' rate (absent: nothing activated).",
        labels=labels,
    )
    low = GaugeMetricFamily(
        "portal_mak_pool_below_low_water", "1 when the pool is below its mark.", labels=labels
    )
    today = timezone.now().date()
    for f in forecast_pools(MakPool.objects.order_by("pk")):
        key = [f.pool.organisation.slug, str(f.pool.pk), str(f.pool.edition)]
        remaining.add_metric(key, f.remaining)
        low.add_metric(key, 1 if f.below_low_water else 0)
        if f.runs_out_on is not None:
            days.add_metric(key, (f.runs_out_on - today).days)
    yield from (remaining, days, low)


def _requests() -> Iterator[Metric]:
    g = GaugeMetricFamily(
        "portal_activation_requests_pending",
        "Requests for extra MAK activations waiting for a manager.",
        labels=["organisation"],
    )
    for slug, n in _rows(
        """
        SELECT o.slug, count(*) FROM licensing_activationrequest r
        JOIN licensing_makpool p ON p.id = r.pool_id
        JOIN licensing_organisation o ON o.id = p.organisation_id
        WHERE r.status = 'pending' GROUP BY 1 ORDER BY 1
        """
    ):
        g.add_metric([slug], n)
    yield g


def _outbox_and_webhooks() -> Iterator[Metric]:
    ((waiting, oldest),) = _rows("SELECT count(*), min(created_at) FROM licensing_outboxmessage")
    yield GaugeMetricFamily(
        "portal_outbox_waiting", "Queued tasks not yet handed to the broker.", value=waiting
    )
    yield GaugeMetricFamily(
        "portal_outbox_oldest_age_seconds",
        "Age of the oldest outbox message (0 when empty).",
        value=(timezone.now() - oldest).total_seconds() if oldest else 0,
    )
    g = GaugeMetricFamily(
        "portal_webhook_deliveries",
        "Webhook deliveries of the last 24 hours by status.",
        labels=["status"],
    )
    for status, n in _rows(
        "SELECT status, count(*) FROM licensing_webhookdelivery "
        "WHERE created_at > now() - interval '24 hours' GROUP BY 1 ORDER BY 1"
    ):
        g.add_metric([status], n)
    yield g


def _queue() -> Iterator[Metric]:
    from celery import current_app as app  # the portal's app (portal/__init__.py creates it)

    from licensing.services import outbox

    g = GaugeMetricFamily(
        "portal_celery_queue_length", "Messages waiting in the broker queue.", labels=["queue"]
    )
    queue = app.conf.task_default_queue or "celery"
    with outbox.broker_connection(for_read=True) as conn:
        conn.ensure_connection(max_retries=1)
        # Not passive: a queue no worker has declared yet is an empty one, not an error.
        _, count, _ = conn.default_channel.queue_declare(queue=queue)
    g.add_metric([queue], count)
    yield g


def _tasks() -> Iterator[Metric]:
    client = _redis()
    if client is None:
        return
    runs = CounterMetricFamily(
        "portal_celery_task_runs",
        "Task runs finished, by task and final state (SUCCESS, FAILURE, RETRY, ...).",
        labels=["task", "state"],
    )
    seconds = CounterMetricFamily(
        "portal_celery_task_seconds", "Seconds spent running each task.", labels=["task"]
    )
    for field, value in sorted(client.hgetall(TASK_HASH).items()):
        parts = field.decode().split("|")
        if parts[0] == "runs" and len(parts) == 3:
            runs.add_metric(parts[1:], int(value))
        elif parts[0] == "seconds" and len(parts) == 2:
            seconds.add_metric([parts[1]], float(value))
    yield from (runs, seconds)


SECTIONS: dict[str, Callable[[], Iterable[Metric]]] = {
    "heartbeats": _heartbeats,
    "clients": _clients,
    "kms_hosts": _hosts,
    "mak_pools": _pools,
    "activation_requests": _requests,
    "outbox": _outbox_and_webhooks,
    "celery_queue": _queue,
    "celery_tasks": _tasks,
}


class PortalCollector:
    """Computes the domain and operations gauges at each scrape."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "portal_metrics_section_up",
            "1 when the section's numbers could be read in this scrape.",
            labels=["section"],
        )
        took = GaugeMetricFamily(
            "portal_metrics_section_seconds", "Time to compute the section.", labels=["section"]
        )
        for name, section in SECTIONS.items():
            started = time.perf_counter()
            try:
                metrics = list(section())
            except Exception as exc:
                log.warning("metrics section %s unavailable: %s", name, type(exc).__name__)
                up.add_metric([name], 0)
            else:
                up.add_metric([name], 1)
                yield from metrics
            took.add_metric([name], time.perf_counter() - started)
        yield from (up, took)


def render() -> bytes:
    """The whole exposition: this process's (or every worker's) request metrics, then the
    portal's gauges and task counters."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        process = CollectorRegistry()
        multiprocess.MultiProcessCollector(process)
    else:
        process = REGISTRY
    portal = CollectorRegistry(auto_describe=False)
    portal.register(PortalCollector())
    return generate_latest(process) + generate_latest(portal)
