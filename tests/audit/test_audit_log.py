"""The readable audit log: one entry's page with a field-level diff, the action picker, sign-in
events of members, and the "History" links of object pages (issue 17)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory
from django.urls import reverse

from licensing.models import ActivationRequest, AuditEvent
from licensing.services import audit
from licensing.services.kms import hosts
from licensing.services.licences import agreements
from tests import factories
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


def _detail(client, entry, org=None):
    url = reverse("licensing:audit_detail", args=[entry.pk])
    if org is not None:
        url += f"?organisation={org.slug}"
    return client.get(url)


@pytest.fixture
def host_update(org, admin_user):
    host = factories.KmsHostFactory(organisation=org, fqdn="kms1.contoso.test", port=1688)
    hosts.update_host(
        actor=admin_user,
        host=host,
        ip_address="192.0.2.7",
        port=1689,
        poll_interval_minutes=30,
        host_key="",
    )
    return host, AuditEvent.objects.get(action="kms_host.update")


# --- the list ----------------------------------------------------------------------------------


def test_the_list_shows_each_entrys_changes_in_words(as_auditor, org, admin_user, host_update):
    audit.record(
        action="auth.signed_in",
        actor=admin_user,
        changes={"method": ["password", "mfa:totp"], "user_agent": "Firefox"},
    )
    body = as_auditor.get(f"/audit/?organisation={org.slug}").content.decode()
    cells = re.findall(r'data-testid="audit-summary-cell">([^<]*)</code>', body)
    assert "method: password, mfa:totp · user_agent: Firefox" in cells
    # An update reads as before → after; no Python or JSON braces reach the page.
    assert any("port: 1688 → 1689" in cell for cell in cells)
    assert not any("{" in cell for cell in cells)


# --- the entry's page --------------------------------------------------------------------------


def test_auditor_reads_an_entry_with_a_before_after_table(as_auditor, org, host_update):
    host, entry = host_update
    response = _detail(as_auditor, entry)
    assert response.status_code == 200
    body = response.content.decode()
    assert "kms_host.update" in body
    assert "192.0.2.7" in body
    assert f"{org.slug}-admin" in body
    assert reverse("licensing:host_detail", args=[host.pk]) in body
    table = re.search(r'data-testid="audit-changes".*?</table>', body, re.S).group(0)
    assert '<th scope="col">Before</th>' in table and '<th scope="col">After</th>' in table
    assert re.search(
        r"port</code></th>\s*<td[^>]*><del><code[^>]*>1688</code></del></td>"
        r"<td[^>]*><ins><code[^>]*>1689</code></ins>",
        table,
    )
    assert "poll_interval_minutes" in table


def test_an_entry_without_before_after_shows_the_values(as_admin, org, admin_user):
    key = factories.MakKeyFactory(pool__organisation=org)
    entry = audit.record(
        action="mak_key.block",
        actor=admin_user,
        organisation=org,
        obj=key,
        changes={"key": key.masked, "reason": "leaked", "tags": ["a", "b"], "note": None},
    )
    body = _detail(as_admin, entry).content.decode()
    table = re.search(r'data-testid="audit-changes".*?</table>', body, re.S).group(0)
    assert "Before" not in table
    assert key.masked in table and "leaked" in table
    assert "a, b" in table and "(empty)" in table


def test_a_two_item_value_of_a_non_update_is_not_read_as_before_after(as_admin, org, admin_user):
    entry = audit.record(
        action="auth.signed_in", actor=admin_user, changes={"method": ["password", "mfa:totp"]}
    )
    body = _detail(as_admin, entry, org).content.decode()
    assert "password, mfa:totp" in body
    assert "<del>" not in body


def test_a_key_shaped_text_is_stored_redacted_and_never_shown(as_admin, org, admin_user):
    raw = factories.product_key(7)
    entry = audit.record(
        action="agreement.update",
        actor=admin_user,
        organisation=org,
        changes={"notes": [f"key {raw}", "none"]},
    )
    body = _detail(as_admin, entry).content.decode()
    assert raw not in body
    assert raw[:23] not in body


def test_another_organisations_entry_is_404(as_outsider, other_org, host_update):
    _, entry = host_update
    assert _detail(as_outsider, entry).status_code == 404
    assert _detail(as_outsider, entry, other_org).status_code == 404


def test_a_member_of_both_organisations_opens_each_entry(org, other_org, host_update):
    _, entry = host_update
    both = factories.UserFactory(username="both")
    factories.MembershipFactory(user=both, organisation=org, role="auditor")
    factories.MembershipFactory(user=both, organisation=other_org, role="admin")
    client = logged_in(both)
    # the link carries another organisation: the entry is still its own organisation's
    response = _detail(client, entry, other_org)
    assert response.status_code == 200
    assert org.name in response.content.decode()


def test_an_unknown_entry_is_404(as_admin, org):
    assert as_admin.get(reverse("licensing:audit_detail", args=[999999])).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, host_update):
    _, entry = host_update
    response = _detail(client, entry)
    assert response.status_code == 302


# --- sign-in events ----------------------------------------------------------------------------


def test_members_sign_in_and_out_appear_in_the_log_and_open(org, admin_user, as_auditor, outsider):
    # Django's own signals, as every sign-in path ends in them (allauth's form is tested in
    # tests/signin; its rate-limit counters are shared, so not driven from here).
    browser = logged_in(admin_user)
    browser.logout()
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="198.51.100.71")
    assert authenticate(request, username=admin_user.username, password="Not-It-42") is None
    logged_in(outsider)  # another organisation's member
    body = as_auditor.get(reverse("licensing:audit_list")).content.decode()
    assert "auth.signed_in" in body
    assert "auth.signed_out" in body
    assert "auth.sign_in_failed" in body
    assert "other-corp-admin" not in body
    assert "198.51.100.71" in body
    signed_out = AuditEvent.objects.get(action="auth.signed_out", actor=admin_user)
    assert signed_out.organisation_id is None
    assert _detail(as_auditor, signed_out, org).status_code == 200


def test_an_outsider_cannot_open_a_members_sign_in(org, admin_user, as_outsider):
    entry = audit.record(action="auth.signed_in", actor=admin_user, changes={"method": ["sso"]})
    assert _detail(as_outsider, entry).status_code == 404
    body = as_outsider.get(reverse("licensing:audit_list")).content.decode()
    assert f"{org.slug}-admin" not in body


def test_sign_ins_are_in_the_csv_export_as_on_the_page(org, admin_user, as_auditor):
    audit.record(action="auth.signed_in", actor=admin_user, changes={"method": ["password"]})
    response = as_auditor.get(reverse("licensing:audit_export") + "?action=auth.")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode() if response.streaming else ""
    text = text or response.content.decode()
    assert "auth.signed_in" in text


# --- the action picker -------------------------------------------------------------------------


def test_the_picker_lists_actions_grouped_by_area(as_auditor, org, admin_user, host_update):
    audit.record(action="kms_host.retire", actor=admin_user, organisation=org)
    audit.record(action="agreement.create", actor=admin_user, organisation=org)
    body = as_auditor.get(reverse("licensing:audit_list")).content.decode()
    select = re.search(r'<select name="action".*?</select>', body, re.S).group(0)
    assert '<optgroup label="KMS hosts">' in select
    assert '<option value="kms_host.">All actions: KMS hosts</option>' in select
    assert '<option value="kms_host.update">' in select
    assert '<option value="agreement.create">' in select


def test_picking_an_action_or_an_area_filters(as_auditor, org, admin_user, host_update):
    audit.record(action="kms_host.retire", actor=admin_user, organisation=org)
    audit.record(action="agreement.create", actor=admin_user, organisation=org)
    one = as_auditor.get(reverse("licensing:audit_list") + "?action=kms_host.retire")
    body = one.content.decode()
    rows = re.findall(r"<td><code>([^<]+)</code></td>", body)
    assert rows == ["kms_host.retire"]
    assert '<option value="kms_host.retire" selected>' in body
    area = as_auditor.get(reverse("licensing:audit_list") + "?action=kms_host.").content.decode()
    assert sorted(re.findall(r"<td><code>([^<]+)</code></td>", area)) == [
        "kms_host.retire",
        "kms_host.update",
    ]


def test_an_old_free_text_prefix_still_filters_and_stays_selected(as_auditor, org, host_update):
    body = as_auditor.get(reverse("licensing:audit_list") + "?action=kms").content.decode()
    assert re.findall(r"<td><code>([^<]+)</code></td>", body) == ["kms_host.update"]
    assert '<option value="kms" selected>' in body


def test_known_actions_is_the_distinct_set(org, admin_user):
    for action in ("b.one", "a.two", "b.one", "c.three", "a.two"):
        audit.record(action=action, actor=admin_user, organisation=org)
    assert audit.known_actions() == ["a.two", "b.one", "c.three"]


def test_the_action_filter_keeps_keyset_pages(as_auditor, org, admin_user):
    for _ in range(60):
        audit.record(action="kms_host.poll_now", actor=admin_user, organisation=org)
        audit.record(action="agreement.create", actor=admin_user, organisation=org)
    first = as_auditor.get(reverse("licensing:audit_list") + "?action=kms_host.")
    body = first.content.decode()
    assert set(re.findall(r"<td><code>([^<]+)</code></td>", body)) == {"kms_host.poll_now"}
    link = re.search(r'href="(\?[^"]*cursor=[^"]+)"', body)
    assert link is not None
    url = link.group(1).replace("&amp;", "&")
    assert "action=kms_host." in url
    second = as_auditor.get(reverse("licensing:audit_list") + url).content.decode()
    assert set(re.findall(r"<td><code>([^<]+)</code></td>", second)) == {"kms_host.poll_now"}


# --- history links -----------------------------------------------------------------------------


def _history_href(body: str) -> str:
    match = re.search(r'href="([^"]+)"[^>]*data-testid="history-link"', body)
    assert match, "no History link"
    return match.group(1).replace("&amp;", "&")


def test_object_pages_link_to_their_history(as_admin, org, admin_user, host_update):
    host, _ = host_update
    client = factories.ClientFactory(organisation=org, hostname="pc-01")
    pool = factories.MakPoolFactory(organisation=org)
    agreement = agreements.create_agreement(
        actor=admin_user,
        organisation=org,
        number="V1234567",
        programme="ea",
        starts_on=datetime.date(2026, 1, 1),
    )
    pages = {
        "kmshost": (reverse("licensing:host_detail", args=[host.pk]), host.pk),
        "client": (reverse("licensing:client_detail", args=[client.pk]), client.pk),
        "makpool": (reverse("licensing:pool_detail", args=[pool.pk]), pool.pk),
        "agreement": (reverse("licensing:agreement_detail", args=[agreement.pk]), agreement.pk),
    }
    for object_type, (url, pk) in pages.items():
        href = _history_href(as_admin.get(url).content.decode())
        assert f"object_type={object_type}" in href and f"object_id={pk}" in href, href
        assert f"organisation={org.slug}" in href
    # the agreement's history holds its creation, and only entries of that object
    body = as_admin.get(_history_href(as_admin.get(pages["agreement"][0]).content.decode()))
    body = body.content.decode()
    assert re.findall(r"<td><code>([^<]+)</code></td>", body) == ["agreement.create"]
    assert 'data-testid="object-filter"' in body
    host_history = as_admin.get(_history_href(as_admin.get(pages["kmshost"][0]).content.decode()))
    assert re.findall(r"<td><code>([^<]+)</code></td>", host_history.content.decode()) == [
        "kms_host.update"
    ]


def test_the_request_list_links_each_request_to_its_history(as_admin, org, admin_user):
    key = factories.MakKeyFactory(pool__organisation=org)
    req = ActivationRequest.objects.create(
        pool=key.pool,
        key=key,
        key_last5=key.last5,
        quantity=3,
        justification="lab",
        requested_by=admin_user,
    )
    body = as_admin.get(reverse("licensing:request_list")).content.decode()
    href = _history_href(body)
    assert f"object_type=activationrequest&object_id={req.pk}" in href


def test_a_user_of_no_organisation_gets_no_object_page_and_no_history(org, host_update):
    host, _ = host_update
    # every role reads the audit log today, so a History link is never hidden from a member
    outsider = logged_in(factories.UserFactory(username="nobody"))
    assert outsider.get(reverse("licensing:host_detail", args=[host.pk])).status_code == 404


def test_an_object_filter_never_crosses_organisations(as_outsider, org, host_update):
    host, _ = host_update
    url = reverse("licensing:audit_list") + f"?object_type=kmshost&object_id={host.pk}"
    body = as_outsider.get(url).content.decode()
    assert re.findall(r"<td><code>([^<]+)</code></td>", body) == []
