"""/metrics: off unless protected, token and network checks, the domain gauges an operator
alerts on, request metrics by URL name, task counters from a real worker, a broker that is down."""

from __future__ import annotations

import time

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from licensing.models import ActivationRequest, Heartbeat, HostState
from licensing.services import fleet_summary
from tests import factories
from tests.servers import free_port

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789"


@pytest.fixture
def token_settings(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []
    return settings


def scrape(client: DjangoClient | None = None) -> dict[tuple[str, tuple], float]:
    response = (client or DjangoClient()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def test_metrics_are_off_unless_a_token_or_network_is_set(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    assert DjangoClient().get("/metrics").status_code == 404


def test_the_token_is_required(token_settings):
    c = DjangoClient()
    assert c.get("/metrics").status_code == 401
    assert c.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert c.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_the_network_setting_is_checked(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert DjangoClient().get("/metrics").status_code == 403  # the test client is 127.0.0.1
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "127.0.0.0/8"]
    assert DjangoClient().get("/metrics").status_code == 200


def test_domain_gauges(token_settings, org, manager_user, admin_user):
    for _ in range(3):
        factories.ClientFactory(
            organisation=org, compliance_flag="expired", last_renewal_at=timezone.now()
        )
    factories.ClientFactory(organisation=org, compliance_flag="ok")
    fleet_summary.refresh_client_counts()
    factories.KmsHostFactory(organisation=org, state=HostState.UNREACHABLE)
    factories.KmsHostFactory(organisation=org, state=HostState.HEALTHY)
    factories.KmsHostFactory(organisation=org, state=HostState.HEALTHY)
    pool = factories.MakPoolFactory(organisation=org, low_water_mark=50)
    factories.MakKeyFactory(pool=pool, activation_limit=40, activations_used=12)
    ActivationRequest.objects.create(
        pool=pool, requested_by=admin_user, quantity=5, justification="more"
    )
    Heartbeat.objects.create(name="beat", at=timezone.now() - timezone.timedelta(seconds=90))

    s = scrape()
    assert value(s, "portal_clients", organisation=org.slug, flag="expired") == 3
    assert value(s, "portal_clients", organisation=org.slug, flag="ok") == 1
    assert value(s, "portal_kms_hosts", organisation=org.slug, state="healthy") == 2
    assert value(s, "portal_kms_hosts", organisation=org.slug, state="unreachable") == 1
    key = {"organisation": org.slug, "pool": str(pool.pk), "edition": str(pool.edition)}
    assert value(s, "portal_mak_pool_remaining_activations", **key) == 28
    assert value(s, "portal_mak_pool_below_low_water", **key) == 1
    assert value(s, "portal_activation_requests_pending", organisation=org.slug) == 1
    assert 90 <= value(s, "portal_heartbeat_age_seconds", component="beat") < 600
    assert value(s, "portal_outbox_waiting") is not None
    for section in ("clients", "kms_hosts", "mak_pools", "heartbeats", "celery_queue"):
        assert value(s, "portal_metrics_section_up", section=section) == 1, section


def test_requests_are_counted_by_url_name(token_settings, as_admin):
    before = scrape()
    assert as_admin.get(reverse("licensing:home")).status_code == 200
    as_admin.get("/no/such/page/")
    after = scrape()
    labels = {"view": "licensing:home", "method": "GET", "status": "200"}
    assert (
        value(after, "portal_http_requests_total", **labels)
        == (value(before, "portal_http_requests_total", **labels) or 0) + 1
    )
    assert (
        value(
            after, "portal_http_request_duration_seconds_count", view="licensing:home", method="GET"
        )
        >= 1
    )
    unresolved = {"view": "unresolved", "method": "GET", "status": "404"}
    assert value(after, "portal_http_requests_total", **unresolved) >= 1


def test_a_broker_that_is_down_leaves_the_scrape_up(token_settings):
    from portal.celery import app

    # The raw setting (usually None: then reads follow broker_url), not the resolved property:
    # restoring a resolved URL would pin every later test's reads to it.
    previous = app.conf.get("broker_read_url")
    app.conf.broker_read_url = f"redis://127.0.0.1:{free_port()}/0"
    try:
        s = scrape()
    finally:
        app.conf.broker_read_url = previous
    assert value(s, "portal_metrics_section_up", section="celery_queue") == 0
    assert value(s, "portal_metrics_section_up", section="clients") == 1


@pytest.mark.celery_worker
def test_task_runs_and_failures_are_counted_from_a_real_worker(token_settings, real_celery_worker):
    from portal.celery import app

    name = "licensing.ops.record_heartbeat"
    before = scrape()
    ok = value(before, "portal_celery_task_runs_total", task=name, state="SUCCESS") or 0
    app.send_task(name)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = value(scrape(), "portal_celery_task_runs_total", task=name, state="SUCCESS") or 0
        if now > ok:
            break
        time.sleep(0.2)
    assert now == ok + 1
    assert value(scrape(), "portal_celery_task_seconds_total", task=name) > 0


def test_every_metric_the_example_alerts_use_is_exposed(token_settings, as_admin):
    import re
    from pathlib import Path

    import yaml

    as_admin.get(reverse("licensing:home"))  # so the request metrics have a sample
    rules = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "deploy/prometheus/alerts.yml").read_text()
    )
    used = {
        name
        for group in rules["groups"]
        for rule in group["rules"]
        for name in re.findall(r"\bportal_[a-z_]+", rule["expr"])
    }
    text = DjangoClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    exposed = set(re.findall(r"^# TYPE (portal_[a-z_]+) (\w+)", text, re.M))
    names = set()
    for name, kind in exposed:
        names.add(name)
        if kind == "counter":
            names.add(f"{name}_total")
        if kind == "histogram":
            names.update({f"{name}_bucket", f"{name}_count", f"{name}_sum"})
    assert used - names == set()
