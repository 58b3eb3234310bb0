"""An export audits its query string: a NUL byte there (PostgreSQL stores none in jsonb or
text) is replaced in the audit entry instead of failing the export with a 500."""

import pytest
from django.test import Client

from licensing.models import AuditEvent

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "query",
    [{"note": "\x00"}, {"\x00": "x"}],
    ids=["unknown-parameter", "nul-parameter-name"],
)
def test_an_export_with_a_nul_byte_in_a_parameter_is_served_and_audited(admin_user, query):
    response = _client(admin_user).get("/requests/export.csv", query)
    assert response.status_code == 200
    b"".join(response.streaming_content)
    event = AuditEvent.objects.get(action="export.activation-requests")
    assert "\x00" not in str(event.changes)


def test_a_nul_byte_in_a_filter_value_is_a_400_naming_the_filter(admin_user):
    response = _client(admin_user).get("/requests/export.csv", {"status": "pending\x00"})
    assert response.status_code == 400
    assert "Invalid filter: Status (status)" in response.content.decode()
    assert not AuditEvent.objects.filter(action="export.activation-requests").exists()


def test_audit_entries_never_carry_nul_bytes(org):
    from licensing.services import audit

    event = audit.record(
        action="test.nul", actor="x\x00y", organisation=org, changes={"a\x00": ["b\x00", 1]}
    )
    event.refresh_from_db()
    assert event.actor_label == "x\ufffdy"
    assert event.changes == {"a\ufffd": ["b\ufffd", 1]}
