"""An organisation's sign-in settings page: the group mapping kept by its admins, audited."""

from __future__ import annotations

import pytest

from licensing.models import AuditEvent, GroupMapping

pytestmark = pytest.mark.django_db


def test_admins_map_and_unmap_groups_and_each_change_is_audited(org, as_admin):
    response = as_admin.post(
        "/organisation/sign-in/",
        {"form": "mapping", "source": "oidc", "group": " LIC-Admins ", "role": "admin"},
    )
    assert response.status_code == 302
    mapping = GroupMapping.objects.get(organisation=org)
    assert (mapping.source, mapping.group, mapping.role) == ("oidc", "LIC-Admins", "admin")
    added = AuditEvent.objects.get(action="signin.group_mapping_added")
    assert added.organisation_id == org.pk and added.changes["group"] == "LIC-Admins"

    duplicate = as_admin.post(
        "/organisation/sign-in/",
        {"form": "mapping", "source": "oidc", "group": "lic-admins", "role": "auditor"},
    )
    assert duplicate.status_code == 400
    assert "already mapped" in duplicate.content.decode()

    bad = as_admin.post(
        "/organisation/sign-in/", {"form": "mapping", "source": "saml", "group": "", "role": "x"}
    )
    assert bad.status_code == 400

    removed = as_admin.post(f"/organisation/sign-in/groups/{mapping.pk}/remove/")
    assert removed.status_code == 302
    assert not GroupMapping.objects.exists()
    assert AuditEvent.objects.filter(action="signin.group_mapping_removed").count() == 1


def test_another_organisations_mapping_is_not_found(org, other_org, as_admin):
    theirs = GroupMapping.objects.create(
        organisation=other_org, source="oidc", group="Theirs", role="admin"
    )
    assert as_admin.post(f"/organisation/sign-in/groups/{theirs.pk}/remove/").status_code == 404
    assert GroupMapping.objects.filter(pk=theirs.pk).exists()
