"""The organisation settings page: admins edit the at-risk days; the organisation's clients are
re-flagged at once; everyone else is refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from licensing.models import AuditEvent, ClientFlagChange
from licensing.services.errors import InvalidInput
from licensing.services.inventory import sweep
from licensing.services.organisation import update_organisation_settings
from tests.inventory.conftest import days_ago

pytestmark = pytest.mark.django_db
URL = reverse("licensing:organisation_settings")


@pytest.fixture
def renewed_145_days_ago(frozen, make_client):
    """A KMS client with 35 days of validity left: ok with 30 at-risk days, at risk with 40."""
    client = make_client(license_status=1, last_renewal_at=days_ago(145))
    sweep.sweep(full=True)
    client.refresh_from_db()
    assert client.compliance_flag == "ok"
    return client


def test_an_admin_sees_the_current_value(as_admin, org):
    response = as_admin.get(URL)
    assert response.status_code == 200
    assert b'name="at_risk_days"' in response.content and b'value="30"' in response.content


def test_an_admin_saves_and_the_clients_are_re_flagged_at_once(
    as_admin, org, admin_user, renewed_145_days_ago
):
    response = as_admin.post(URL, {"at_risk_days": "40"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.at_risk_days == 40
    client = renewed_145_days_ago
    client.refresh_from_db()
    assert client.compliance_flag == "at_risk"
    assert "Fewer than 40 days" in client.flag_reason
    change = ClientFlagChange.objects.get(client=client, to_flag="at_risk")
    assert change.changed_by == f"user:{admin_user.username}"
    event = AuditEvent.objects.get(action="organisation.settings_changed")
    assert event.changes == {"at_risk_days": [30, 40]} and event.organisation_id == org.pk
    assert "Saved and applied at once. Clients whose flag changed: 1;" in (
        as_admin.get(URL).content.decode()
    )


@pytest.mark.parametrize("value", ["0", "180", "-3", "many", ""])
def test_a_bad_value_is_a_form_error_and_changes_nothing(as_admin, org, value):
    response = as_admin.post(URL, {"at_risk_days": value})
    assert response.status_code == 200
    assert b"is-invalid" in response.content and b"invalid-feedback" in response.content
    org.refresh_from_db()
    assert org.at_risk_days == 30
    assert not AuditEvent.objects.filter(action="organisation.settings_changed").exists()


def test_the_range_error_names_the_field(org, admin_user):
    with pytest.raises(InvalidInput) as caught:
        update_organisation_settings(actor=admin_user, organisation=org, at_risk_days=180)
    assert caught.value.field_errors == {
        "at_risk_days": ["At-risk days must be between 1 and 179."]
    }


def test_saving_the_same_value_writes_nothing(org, admin_user):
    change = update_organisation_settings(actor=admin_user, organisation=org, at_risk_days=30)
    assert not change.changed and change.sweep is None and not change.queued
    assert not AuditEvent.objects.filter(action="organisation.settings_changed").exists()


@pytest.mark.parametrize("persona", ["as_manager", "as_auditor"])
def test_managers_and_auditors_are_refused(request, org, persona):
    browser = request.getfixturevalue(persona)
    assert browser.get(URL).status_code == 403
    assert browser.post(URL, {"at_risk_days": "40"}).status_code == 403
    org.refresh_from_db()
    assert org.at_risk_days == 30


def test_an_outsider_naming_the_organisation_gets_404(as_outsider, org):
    named = f"{URL}?organisation={org.slug}"
    assert as_outsider.get(named).status_code == 404
    assert as_outsider.post(named, {"at_risk_days": "40"}).status_code == 404
    org.refresh_from_db()
    assert org.at_risk_days == 30


def test_the_admin_menu_links_the_page_for_admins_only(as_admin, as_manager):
    assert URL.encode() in as_admin.get(reverse("licensing:home")).content
    assert URL.encode() not in as_manager.get(reverse("licensing:home")).content


def test_a_large_organisations_reflag_is_queued_in_the_same_transaction(
    renewed_145_days_ago, make_client, org, admin_user, settings
):
    """Above ORGANISATION_INLINE_RESWEEP_MAX_CLIENTS the request does not hold the sweep lock
    for minutes: the re-flag is an outbox message written with the change, and it applies the
    new days when a worker runs it."""
    from tests.outbox import queued, run_outbox

    settings.ORGANISATION_INLINE_RESWEEP_MAX_CLIENTS = 1
    make_client(license_status=1)  # a second client: above the limit
    change = update_organisation_settings(actor=admin_user, organisation=org, at_risk_days=40)
    assert change.changed and change.queued and change.sweep is None
    assert queued("licensing.inventory.resweep_organisation") == [[org.pk]]
    renewed_145_days_ago.refresh_from_db()
    assert renewed_145_days_ago.compliance_flag == "ok"  # not yet: no worker has run it
    assert run_outbox() == [("licensing.inventory.resweep_organisation", [org.pk])]
    renewed_145_days_ago.refresh_from_db()
    assert renewed_145_days_ago.compliance_flag == "at_risk"
