"""POSTing `slmgr.vbs /dlv` text with a reporter token: parsed, stored with deltas; unreadable
text kept with a 400; every other token and every other endpoint refused."""

import pytest
from django.core import mail

from licensing.models import HostState, HostStatusReport, KmsHost, TokenScope
from licensing.services.tokens import create_api_token
from tests.kms.conftest import dlv, sample
from tests.kms.helpers import host

pytestmark = pytest.mark.django_db


def url(h):
    return f"/api/v1/kms-hosts/{h.pk}/status-reports/"


@pytest.fixture
def kms_host(org):
    return host(org, "kms1.contoso.test")


@pytest.fixture
def reporter(admin_user, org, kms_host):
    _, plaintext = create_api_token(
        actor=admin_user,
        organisation=org,
        name="dlv task",
        scope=TokenScope.REPORTER,
        kms_host=kms_host,
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def post(client, h, text, headers, content_type="text/plain; charset=utf-8"):
    body = text if isinstance(text, bytes) else text.encode()
    return client.post(url(h), data=body, content_type=content_type, **headers)


def test_a_good_report_updates_the_host(client, kms_host, reporter):
    response = post(client, kms_host, dlv(count=12, total=100, failed=3), reporter)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["current_count"] == 12 and body["license_status"] == "licensed"
    assert body["total_requests"] == 100 and body["failed_requests"] == 3
    assert body["requests_by_status"]["licensed"] == 90
    assert body["deltas"] == {}  # the first report has nothing to compare with
    kms_host.refresh_from_db()
    assert kms_host.current_count == 12 and kms_host.license_status == "licensed"
    assert kms_host.last_report_at is not None


def test_the_microsoft_docs_sample_is_read(client, kms_host, reporter):
    response = post(client, kms_host, sample("slmgr-dlv-office2016-kms-host-msdocs.txt"), reporter)
    assert response.status_code == 201, response.content
    report = HostStatusReport.objects.get()
    assert report.current_count == 0 and report.listening_port == 1688
    assert report.dns_publishing is True and report.priority == "normal"
    assert report.partial_key == "KDQ2G"


def test_a_utf16_report_from_powershell_redirection_is_read(client, kms_host, reporter):
    body = "\ufeff".encode("utf-16-le") + dlv(count=7).encode("utf-16-le")
    response = post(client, kms_host, body, reporter, content_type="application/octet-stream")
    assert response.status_code == 201 and response.json()["current_count"] == 7


def test_counters_are_cumulative_so_deltas_are_stored(client, kms_host, reporter):
    post(client, kms_host, dlv(total=100, failed=3, licensed=90, grace=7), reporter)
    response = post(client, kms_host, dlv(total=130, failed=4, licensed=115, grace=11), reporter)
    deltas = response.json()["deltas"]
    assert deltas["total_requests"] == 30 and deltas["failed_requests"] == 1
    assert deltas["requests_by_status"]["licensed"] == 25
    assert deltas["requests_by_status"]["oob_grace"] == 4
    assert response.json()["counters_reset"] is False


def test_counters_that_go_down_mean_a_reinstall(client, kms_host, reporter):
    post(client, kms_host, dlv(total=500, failed=10, licensed=400), reporter)
    response = post(client, kms_host, dlv(total=20, failed=0, licensed=15), reporter)
    body = response.json()
    assert body["counters_reset"] is True and body["deltas"]["total_requests"] == 20


def test_an_oversized_report_is_a_413_and_stores_nothing(client, kms_host, reporter):
    from licensing.services.kms.reports import MAX_REPORT_BYTES

    response = post(client, kms_host, "x" * (MAX_REPORT_BYTES + 1), reporter)
    assert response.status_code == 413
    assert (
        response.json()["code"] == "report_too_large"
        and "the limit is" in (response.json()["detail"])
    )
    assert not HostStatusReport.objects.exists()


def test_unreadable_text_is_a_400_kept_for_inspection_and_changes_nothing(
    client, kms_host, reporter
):
    post(client, kms_host, dlv(count=12), reporter)
    kms_host.refresh_from_db()
    before = (kms_host.current_count, kms_host.last_report_at)
    response = post(client, kms_host, "Hello, this is not slmgr output at all.", reporter)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unreadable_status" and body["detail"]
    kept = HostStatusReport.objects.get(pk=body["report_id"])
    assert not kept.accepted and kept.raw_text.startswith("Hello") and kept.error == body["detail"]
    kms_host.refresh_from_db()
    assert (kms_host.current_count, kms_host.last_report_at) == before


def test_client_status_text_is_refused_with_a_clear_reason(client, kms_host, reporter):
    text = sample("ospp-dstatus-office365-oobgrace-full-mas-issue269.txt")
    response = post(client, kms_host, text, reporter)
    assert response.status_code == 400 and "ospp.vbs /dstatus" in response.json()["detail"]


def test_dlv_without_a_kms_host_block_is_refused(client, kms_host, reporter):
    text = dlv().split("Key Management Service is enabled")[0]
    response = post(client, kms_host, text, reporter)
    assert (
        response.status_code == 400
        and "Key Management Service is enabled" in (response.json()["detail"])
    )


def test_a_full_product_key_in_the_text_is_never_stored(client, kms_host, reporter):
    text = dlv() + "\nnote: VK7JG-NPHTM-C97JM-9MPGT-3V66T\n"
    post(client, kms_host, text, reporter)
    assert "VK7JG-NPHTM" not in HostStatusReport.objects.get().raw_text


def test_a_report_is_refused_for_another_hosts_token(client, org, kms_host, reporter):
    other = host(org, "kms2.contoso.test")
    response = post(client, other, dlv(), reporter)
    assert response.status_code == 403 and response.json()["code"] == "wrong_host"
    assert not HostStatusReport.objects.exists()


@pytest.mark.parametrize("scope", [TokenScope.USER, TokenScope.AGENT])
def test_only_reporter_tokens_may_post(client, admin_user, org, kms_host, scope):
    _, plaintext = create_api_token(actor=admin_user, organisation=org, name="x", scope=scope)
    response = post(client, kms_host, dlv(), {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"})
    # A personal token is refused (403); an agent token is 404 outside its own endpoints.
    assert response.status_code == (403 if scope == TokenScope.USER else 404)
    assert not HostStatusReport.objects.exists()


def test_a_signed_in_admin_cannot_post_through_the_api(as_admin, kms_host):
    response = post(as_admin, kms_host, dlv(), {})
    assert response.status_code == 403


def test_anonymous_posts_are_refused(client, kms_host):
    assert post(client, kms_host, dlv(), {}).status_code in (401, 403)


def test_a_retired_hosts_token_stops_working(client, admin_user, kms_host, reporter):
    from licensing.services.kms import hosts

    hosts.retire_host(actor=admin_user, host=kms_host)
    assert post(client, kms_host, dlv(), reporter).status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/kms-hosts/",
        "/api/v1/kms-findings/",
        "/api/v1/clients/",
        "/api/v1/organisations/",
    ],
)
def test_a_reporter_token_sees_nothing_else(client, kms_host, reporter, path):
    response = client.get(path, **reporter)
    assert response.status_code in (200, 403, 404)
    if response.status_code == 200:
        assert response.json()["results"] == []


def test_a_reporter_token_cannot_read_or_change_its_own_host(client, kms_host, reporter):
    detail = f"/api/v1/kms-hosts/{kms_host.pk}/"
    assert client.get(detail, **reporter).status_code == 404
    assert client.get(detail + "polls/", **reporter).status_code == 404
    assert client.post(detail + "poll/", **reporter).status_code == 404
    assert (
        client.patch(detail, data={"port": 1}, content_type="application/json", **reporter)
    ).status_code == 404
    created = client.post(
        "/api/v1/kms-hosts/",
        data={"fqdn": "evil.contoso.test", "product_group": "office_2024"},
        content_type="application/json",
        **reporter,
    )
    assert created.status_code in (403, 404)
    assert not KmsHost.objects.filter(fqdn="evil.contoso.test").exists()


def test_an_accepted_report_queues_a_poll(client, kms_host, reporter):
    from tests.outbox import queued

    KmsHost.objects.filter(pk=kms_host.pk).update(state=HostState.REPORT_OVERDUE)
    post(client, kms_host, dlv(), reporter)
    post(client, kms_host, "unreadable", reporter)
    # the unreadable one changes nothing, queues nothing
    assert queued("licensing.kms.poll_host") == [[kms_host.pk]]
    assert mail.outbox == []
