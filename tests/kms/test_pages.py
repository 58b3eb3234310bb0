"""Host list and detail pages: keyset list, SVG chart, poll now (htmx and no-JS), CSV export,
DNS settings."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from licensing.models import AuditEvent, DnsFinding, HostPoll, HostState
from tests.kms.helpers import host, report
from tests.outbox import queued

pytestmark = pytest.mark.django_db


def polls(h, counts):
    now = timezone.now()
    for i, count in enumerate(counts):
        HostPoll.objects.create(
            host=h,
            polled_at=now - timedelta(minutes=15 * (len(counts) - i)),
            reachable=True,
            srv_published=True,
            current_count=count,
            state=HostState.HEALTHY,
            latency_ms=0.4,
        )


def test_the_list_shows_hosts_states_and_rogue_records(as_auditor, org, other_org):
    host(org, "kms1.contoso.test", state=HostState.HEALTHY, current_count=12)
    host(org, "kms2.contoso.test", state=HostState.UNREACHABLE, state_reason="port 1688 refused")
    host(other_org, "kms-other.other.test")
    now = timezone.now()
    DnsFinding.objects.create(
        organisation=org,
        domain="contoso.test",
        target="rogue.contoso.test",
        port=1688,
        first_seen_at=now,
        last_seen_at=now,
    )
    html = as_auditor.get("/kms/hosts/").content.decode()
    assert "kms1.contoso.test" in html and "kms2.contoso.test" in html
    assert "kms-other" not in html
    assert 'data-testid="rogue-hosts"' in html and "rogue.contoso.test" in html
    assert "port 1688 refused" in html
    assert 'data-testid="add-host"' not in html  # auditors cannot add


def test_the_list_filters_by_state_and_pages_by_keyset(as_admin, org):
    for i in range(30):
        host(
            org, f"kms{i:02d}.contoso.test", state=HostState.HEALTHY if i % 2 else HostState.PENDING
        )
    page = as_admin.get("/kms/hosts/?state=healthy&per_page=25", HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert "<html" not in html and len(re.findall(r'href="/kms/hosts/\d+/"', html)) == 15
    first = as_admin.get("/kms/hosts/?per_page=25").content.decode()
    assert "kms00.contoso.test" in first and "kms29.contoso.test" not in first
    assert "cursor=" in first


def test_the_detail_page_draws_the_count_chart_without_style_attributes(as_auditor, org):
    h = host(org, "kms1.contoso.test", state=HostState.HEALTHY)
    polls(h, [2, 4, None, 6, 9, 12])
    report(h, 12)
    html = as_auditor.get(f"/kms/hosts/{h.pk}/").content.decode()
    assert 'data-testid="count-chart"' in html and "<polyline" in html
    assert html.count("<polyline") == 2  # the poll without a count breaks the line
    assert "threshold 5" in html and 'style="' not in html
    assert 'data-testid="poll-history"' in html


def test_poll_now_with_htmx_returns_the_state_card_and_queues_the_poll(as_admin, org):
    h = host(org, "kms1.contoso.test")
    response = as_admin.post(f"/kms/hosts/{h.pk}/poll/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "HX-Request" in response["Vary"]
    assert 'id="host-state"' in html and 'data-testid="poll-queued"' in html
    assert 'hx-trigger="load delay:4s"' in html
    assert queued("licensing.kms.poll_host") == [[h.pk]]
    assert AuditEvent.objects.filter(action="kms_host.poll_now").count() == 1


def test_poll_now_without_javascript_redirects_back(as_admin, org):
    h = host(org, "kms1.contoso.test")
    response = as_admin.post(f"/kms/hosts/{h.pk}/poll/")
    assert response.status_code == 302 and response["Location"] == f"/kms/hosts/{h.pk}/"
    assert queued("licensing.kms.poll_host") == [[h.pk]]


def test_the_state_partial_refreshes_by_itself(as_admin, org):
    h = host(org, "kms1.contoso.test")
    html = as_admin.get(
        f"/kms/hosts/{h.pk}/?partial=state", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert html.strip().startswith("<section") and "hx-trigger" not in html


def test_the_export_streams_host_status_without_secrets(as_auditor, org):
    from tests.factories import product_key

    key = product_key(5)
    from licensing.crypto import seal_product_key

    sealed = seal_product_key(key)
    host(
        org,
        "=cmd.contoso.test",
        state=HostState.BELOW_THRESHOLD,
        current_count=3,
        host_key_ciphertext=sealed.ciphertext,
        host_key_last5=sealed.last5,
    )
    host(org, "old.contoso.test", retired_at=timezone.now(), state=HostState.RETIRED)
    response = as_auditor.get("/kms/hosts/export.csv")
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["fqdn"] for r in rows] == ["'=cmd.contoso.test"]
    assert rows[0]["state"] == "below_threshold" and rows[0]["current_count"] == "3"
    assert key not in body and sealed.ciphertext not in body
    assert AuditEvent.objects.filter(action="export.kms-hosts").exists()


def test_the_host_export_refuses_an_unknown_state_instead_of_exporting_everything(as_auditor, org):
    host(org, "kms1.contoso.test", state=HostState.HEALTHY)
    response = as_auditor.get("/kms/hosts/export.csv?state=on-fire")
    assert response.status_code == 400
    assert "Invalid filter" in response.content.decode() and "state" in response.content.decode()
    ok = as_auditor.get("/kms/hosts/export.csv?state=healthy")
    assert ok.status_code == 200
    assert "kms1.contoso.test" in b"".join(ok.streaming_content).decode()


def test_dns_settings_are_validated_and_audited(as_admin, as_auditor, org):
    bad = as_admin.post(
        "/kms/dns/", {"dns_domains": "contoso.test", "dns_resolvers": "dns.contoso.test"}
    )
    assert bad.status_code == 200 and "not an IP address" in bad.content.decode()
    ok = as_admin.post(
        "/kms/dns/",
        {"dns_domains": "Contoso.Test\nbranch.contoso.test", "dns_resolvers": "10.0.0.53:5353"},
    )
    assert ok.status_code == 302
    org.refresh_from_db()
    assert org.dns_domains == ["contoso.test", "branch.contoso.test"]
    assert org.dns_resolvers == ["10.0.0.53:5353"]
    assert AuditEvent.objects.filter(action="organisation.dns_settings").exists()
    assert as_auditor.post("/kms/dns/", {"dns_domains": "", "dns_resolvers": ""}).status_code == 403


def test_an_admin_can_paste_a_report(as_admin, org):
    from tests.kms.conftest import dlv

    h = host(org, "kms1.contoso.test")
    response = as_admin.post(f"/kms/hosts/{h.pk}/report/", {"text": dlv(count=9)})
    assert response.status_code == 302
    h.refresh_from_db()
    assert h.current_count == 9
    bad = as_admin.post(f"/kms/hosts/{h.pk}/report/", {"text": "nothing useful"})
    assert bad.status_code == 400 and "Not stored as a status" in bad.content.decode()


def test_the_host_form_shows_each_error_beside_its_field(as_admin, org):
    body = as_admin.post(
        "/kms/hosts/new/",
        {"fqdn": "kms9.contoso.test", "port": "0", "product_group": "office_2024"},
    ).content.decode()
    port = re.search(r'<input[^>]*name="port"[^>]*>', body).group(0)
    assert "form-control is-invalid" in port and 'aria-invalid="true"' in port
    assert 'aria-describedby="id_port_helptext id_port_error"' in port
    error = re.search(r'<div class="invalid-feedback d-block" id="id_port_error">([^<]+)', body)
    assert "greater than or equal to 1" in error.group(1)
    # The error follows its own field, before the next field begins.
    assert body.index('id="id_port_error"') < body.index('name="product_group"')
    assert 'name="product_group" class="form-select' in body


def test_an_unknown_state_on_the_list_is_explained_without_rows_or_export(as_auditor, org):
    host(org, "kms1.contoso.test", state=HostState.HEALTHY)
    body = as_auditor.get("/kms/hosts/?state=on-fire").content.decode()
    assert 'data-testid="filter-errors"' in body and "<strong>State</strong>" in body
    assert "kms1.contoso.test" not in body and "No KMS host here" not in body
    assert "/kms/hosts/export.csv" not in body
