"""Adding, editing, retiring hosts (form and API), host keys, reporter tokens, and policy:
auditors read only, outsiders get 404."""

import pytest

from licensing.models import ApiToken, AuditEvent, HostState, KmsHost, TokenScope
from licensing.services.errors import InvalidInput
from licensing.services.kms import hosts, polling
from tests.factories import product_key
from tests.kms.helpers import host

pytestmark = pytest.mark.django_db

KEY = product_key(3)


def form_data(**overrides):
    data = {
        "fqdn": "KMS01.Contoso.com.",
        "port": 1688,
        "product_group": "office_2024",
        "host_key": "",
        "activation_threshold": 5,
        "poll_interval_minutes": 15,
    }
    data.update(overrides)
    return data


def test_an_admin_adds_a_host_through_the_form(as_admin, org):
    response = as_admin.post("/kms/hosts/new/", form_data(host_key=KEY))
    h = KmsHost.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/kms/hosts/{h.pk}/"
    assert h.fqdn == "kms01.contoso.com" and h.port == 1688 and h.next_poll_at is not None
    assert h.host_key_last5 == KEY[-5:] and KEY not in h.host_key_ciphertext
    event = AuditEvent.objects.get(action="kms_host.create")
    assert KEY not in str(event.changes) and event.changes["host_key"].endswith(KEY[-5:])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("fqdn", "kms01", "not fully qualified"),
        ("fqdn", "kms_01.contoso.com", "not a valid DNS label"),
        ("fqdn", "10.0.0.5", "not an IP address"),
        ("port", 0, "greater than or equal to 1"),
        ("port", 70000, "less than or equal to 65535"),
        ("host_key", "ABCDE-12345", "25 characters"),
    ],
)
def test_the_form_explains_what_is_wrong(as_admin, field, value, message):
    response = as_admin.post("/kms/hosts/new/", form_data(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not KmsHost.objects.exists()


def test_a_duplicate_fqdn_is_refused_nicely(as_admin, org):
    host(org, "kms01.contoso.com")
    response = as_admin.post("/kms/hosts/new/", form_data())
    assert response.status_code == 200
    assert (
        "kms01.contoso.com is registered already in this organisation" in response.content.decode()
    )
    assert KmsHost.objects.count() == 1


def test_the_same_fqdn_in_another_organisation_is_fine(admin_user, org, other_org):
    host(other_org, "kms01.contoso.com")
    hosts.register_host(
        actor=admin_user, organisation=org, fqdn="kms01.contoso.com", product_group="office_2021"
    )
    assert KmsHost.objects.filter(fqdn="kms01.contoso.com").count() == 2


def test_one_csvlk_may_serve_several_hosts(admin_user, org):
    for name in ("kms01.contoso.com", "kms02.contoso.com"):
        hosts.register_host(
            actor=admin_user, organisation=org, fqdn=name, product_group="office_2024", host_key=KEY
        )
    assert KmsHost.objects.filter(host_key_last5=KEY[-5:]).count() == 2


def test_the_api_creates_edits_and_retires(client, admin_user, org, api_token_for):
    headers = api_token_for(admin_user, org)
    created = client.post(
        "/api/v1/kms-hosts/",
        data={"fqdn": "kms9.contoso.com", "product_group": "office_2019", "host_key": KEY},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["port"] == 1688 and body["activation_threshold"] == 5
    assert "host_key" not in body and body["host_key_masked"].endswith(KEY[-5:])
    assert KEY not in created.content.decode()
    pk = body["id"]
    duplicate = client.post(
        "/api/v1/kms-hosts/",
        data={"fqdn": "KMS9.contoso.com", "product_group": "office_2019"},
        content_type="application/json",
        **headers,
    )
    assert duplicate.status_code == 400 and "registered already" in str(duplicate.json())
    # The service's InvalidInput, mapped once: the message and the field it belongs to.
    assert duplicate.json()["errors"]["fqdn"] == [
        "kms9.contoso.com is registered already in this organisation."
    ]
    bad_port = client.patch(
        f"/api/v1/kms-hosts/{pk}/", data={"port": 0}, content_type="application/json", **headers
    )
    assert bad_port.status_code == 400
    edited = client.patch(
        f"/api/v1/kms-hosts/{pk}/",
        data={"port": 1700, "activation_threshold": 25},
        content_type="application/json",
        **headers,
    )
    assert edited.status_code == 200 and edited.json()["port"] == 1700
    retired = client.post(f"/api/v1/kms-hosts/{pk}/retire/", **headers)
    assert retired.status_code == 200 and retired.json()["state"] == HostState.RETIRED
    again = client.patch(
        f"/api/v1/kms-hosts/{pk}/", data={"port": 1688}, content_type="application/json", **headers
    )
    assert again.status_code == 409


def test_retiring_revokes_reporter_tokens_and_stops_polling(as_admin, org):
    h = host(org, "kms1.contoso.com")
    as_admin.post(f"/kms/hosts/{h.pk}/tokens/", {"name": "task", "days": 30})
    response = as_admin.post(f"/kms/hosts/{h.pk}/retire/")
    assert response.status_code == 302
    h.refresh_from_db()
    assert h.state == HostState.RETIRED and h.next_poll_at is None
    assert not ApiToken.objects.filter(kms_host=h, revoked_at__isnull=True).exists()
    assert h.pk not in polling.claim_due_hosts()


def test_a_reporter_token_is_shown_once_with_the_scheduled_task(as_admin, org):
    h = host(org, "kms1.contoso.com")
    response = as_admin.post(f"/kms/hosts/{h.pk}/tokens/", {"name": "task", "days": 30})
    # POST, redirect, GET: a reload cannot create a second token.
    assert response.status_code == 302
    assert response["Location"] == f"/kms/hosts/{h.pk}/#created-token"
    assert "vlp_" not in response.cookies.output()  # never in a cookie (messages, session id)
    html = as_admin.get(response["Location"]).content.decode()
    token = ApiToken.objects.get(kms_host=h)
    assert "copy it below now, it is shown only this once" in html
    assert token.scope == TokenScope.REPORTER
    assert 'data-testid="created-token"' in html and token.prefix in html
    assert "Register-ScheduledTask" in html and "-EncodedCommand" in html
    assert f"/api/v1/kms-hosts/{h.pk}/status-reports/" in html
    later = as_admin.get(f"/kms/hosts/{h.pk}/").content.decode()
    assert 'data-testid="created-token"' not in later and token.prefix in later


def test_reveal_needs_the_password_and_is_audited(as_admin, org):
    h = hosts.register_host(
        actor=org.memberships.get(role="admin").user,
        organisation=org,
        fqdn="kms1.contoso.com",
        product_group="office_2024",
        host_key=KEY,
    )
    url = f"/kms/hosts/{h.pk}/reveal-key/"
    assert KEY not in as_admin.get(url).content.decode()
    no_password = as_admin.post(url, {"password": ""})
    assert no_password.status_code == 400 and KEY not in no_password.content.decode()
    wrong = as_admin.post(url, {"password": "nope"})
    assert wrong.status_code == 400 and KEY not in wrong.content.decode()
    assert not AuditEvent.objects.filter(action="kms_host.reveal_key").exists()
    ok = as_admin.post(url, {"password": "correct-horse-battery"})
    assert ok.status_code == 200 and KEY in ok.content.decode()
    assert ok["Cache-Control"] == "no-store"
    event = AuditEvent.objects.get(action="kms_host.reveal_key")
    assert KEY not in str(event.changes)
    # Within the confirmation window the password is not asked again.
    assert KEY in as_admin.post(url, {"password": ""}).content.decode()


def test_the_reveal_service_refuses_without_a_recent_confirmation(admin_user, org):
    from datetime import timedelta

    from django.utils import timezone

    from licensing.services.errors import DomainError

    h = hosts.register_host(
        actor=admin_user,
        organisation=org,
        fqdn="k.contoso.com",
        product_group="office_2024",
        host_key=KEY,
    )
    with pytest.raises(DomainError, match="Confirm your password"):
        hosts.reveal_host_key(
            actor=admin_user, host=h, password_confirmed_at=timezone.now() - timedelta(minutes=6)
        )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/kms/hosts/new/"),
        ("get", "/kms/hosts/{pk}/edit/"),
        ("post", "/kms/hosts/{pk}/retire/"),
        ("post", "/kms/hosts/{pk}/poll/"),
        ("get", "/kms/hosts/{pk}/reveal-key/"),
        ("post", "/kms/hosts/{pk}/tokens/"),
        ("post", "/kms/hosts/{pk}/report/"),
    ],
)
def test_an_auditor_can_read_but_not_change(as_auditor, org, method, path):
    h = host(org, "kms1.contoso.com")
    assert as_auditor.get(f"/kms/hosts/{h.pk}/").status_code == 200
    response = getattr(as_auditor, method)(path.format(pk=h.pk))
    assert response.status_code == 403
    h.refresh_from_db()
    assert h.retired_at is None and not ApiToken.objects.exists()


def test_an_auditor_is_refused_by_the_api_too(client, auditor_user, org, api_token_for):
    h = host(org, "kms1.contoso.com")
    headers = api_token_for(auditor_user, org)
    assert client.get(f"/api/v1/kms-hosts/{h.pk}/", **headers).status_code == 200
    assert client.post(f"/api/v1/kms-hosts/{h.pk}/poll/", **headers).status_code == 403
    assert client.post(f"/api/v1/kms-hosts/{h.pk}/retire/", **headers).status_code == 403
    response = client.patch(
        f"/api/v1/kms-hosts/{h.pk}/", data={"port": 9}, content_type="application/json", **headers
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/kms/hosts/{pk}/"),
        ("get", "/kms/hosts/{pk}/edit/"),
        ("post", "/kms/hosts/{pk}/retire/"),
        ("post", "/kms/hosts/{pk}/poll/"),
        ("get", "/kms/hosts/{pk}/reveal-key/"),
        ("post", "/kms/hosts/{pk}/tokens/"),
        ("get", "/api/v1/kms-hosts/{pk}/"),
        ("post", "/api/v1/kms-hosts/{pk}/poll/"),
    ],
)
def test_an_outsider_gets_404(as_outsider, org, method, path):
    h = host(org, "kms1.contoso.com")
    assert getattr(as_outsider, method)(path.format(pk=h.pk)).status_code == 404


def test_an_outsiders_list_and_export_never_show_the_host(as_outsider, org):
    host(org, "secret-kms.contoso.com")
    assert "secret-kms" not in as_outsider.get("/kms/hosts/").content.decode()
    export = as_outsider.get("/kms/hosts/export.csv")
    assert b"secret-kms" not in b"".join(export.streaming_content)
    assert as_outsider.get("/kms/hosts/export.csv?organisation=contoso-test").status_code == 404


def test_service_validation_messages(admin_user, org):
    with pytest.raises(InvalidInput) as exc:
        hosts.register_host(
            actor=admin_user,
            organisation=org,
            fqdn="a.b",
            product_group="office_2024",
            activation_threshold=0,
        )
    assert "between 1 and 50" in str(exc.value)
    assert exc.value.status_code == 400
    assert "between 1 and 50" in exc.value.field_errors["activation_threshold"][0]
