"""Every change and deletion made in the Django admin is an AuditEvent: the change form, the
delete page, the bulk "Delete selected" action and the membership inline, on every model."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client as DjangoClient

from licensing.admin import AuditedAdmin
from licensing.models import AuditEvent, Client, MakPool, Membership, Role
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(superuser):
    c = DjangoClient()
    c.force_login(superuser)
    return c


def delete_selected(site, model, pks):
    return delete_selected_in(site, "licensing", model, pks)


def delete_selected_in(site, app, model, pks):
    return site.post(
        f"/admin/{app}/{model}/",
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [str(pk) for pk in pks], "post": "yes"},
    )


def test_every_registered_model_admin_is_audited():
    assert admin.site._registry
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, AuditedAdmin), model


def test_deleting_a_user_in_the_admin_is_audited(site):
    user = f.UserFactory()
    assert delete_selected_in(site, "auth", "user", [user.pk]).status_code == 302
    event = AuditEvent.objects.get(action="admin.user.delete")
    assert event.object_id == str(user.pk)


def test_delete_selected_clients_and_pools_is_audited(site, org, superuser):
    clients = [f.ClientFactory(organisation=org) for _ in range(2)]
    pool = f.MakPoolFactory(organisation=org)
    assert delete_selected(site, "client", [c.pk for c in clients]).status_code == 302
    assert delete_selected(site, "makpool", [pool.pk]).status_code == 302
    assert not Client.objects.filter(pk__in=[c.pk for c in clients]).exists()
    assert not MakPool.objects.filter(pk=pool.pk).exists()
    events = AuditEvent.objects.filter(action__startswith="admin.").order_by("id")
    got = {(e.action, e.object_id, e.organisation_id, e.actor_id) for e in events}
    assert got == {
        ("admin.client.delete", str(clients[0].pk), org.pk, superuser.pk),
        ("admin.client.delete", str(clients[1].pk), org.pk, superuser.pk),
        ("admin.makpool.delete", str(pool.pk), org.pk, superuser.pk),
    }


def test_changing_a_client_in_the_admin_is_audited(site, org):
    c = f.ClientFactory(organisation=org)
    url = f"/admin/licensing/client/{c.pk}/change/"
    form = site.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        {
            "organisation": org.pk,
            "hostname": c.hostname,
            "fqdn": "renamed.contoso.example",
            "activation_method": c.activation_method,
            "license_status": c.license_status,
            "compliance_flag": c.compliance_flag,
        }
    )
    for name in ("installed_at", "last_activation_at", "last_renewal_at", "last_seen_at"):
        data.pop(name, None)
    data = {k: ("" if v is None else v) for k, v in data.items() if not hasattr(v, "pk")}
    response = site.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action="admin.client.change")
    assert event.object_id == str(c.pk) and "fqdn" in event.changes["fields"]


def test_membership_inline_add_and_delete_are_audited(site, org, admin_user):
    membership = Membership.objects.get(user=admin_user, organisation=org)
    other = f.UserFactory()
    url = f"/admin/licensing/organisation/{org.pk}/change/"
    data = {
        "name": org.name,
        "slug": org.slug,
        "at_risk_days": org.at_risk_days,
        "stale_after_days": org.stale_after_days,
        "language": org.language,
        "memberships-TOTAL_FORMS": "2",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": membership.pk,
        "memberships-0-organisation": org.pk,
        "memberships-0-user": admin_user.pk,
        "memberships-0-role": membership.role,
        "memberships-0-DELETE": "on",
        "memberships-1-organisation": org.pk,
        "memberships-1-user": other.pk,
        "memberships-1-role": Role.AUDITOR,
    }
    response = site.post(url, data)
    assert response.status_code == 302, response.context and response.context.get("errors")
    actions = set(AuditEvent.objects.values_list("action", "organisation_id"))
    assert ("admin.membership.delete", org.pk) in actions
    assert ("admin.membership.add", org.pk) in actions
