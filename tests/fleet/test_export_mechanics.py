"""licensing.exports: COPY-streamed CSV with explicit columns, ISO UTC dates, no formulas."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from django.test import RequestFactory

from licensing.exports import ExportColumn
from licensing.models import AuditEvent, Client
from licensing.views.exports import export_response
from tests import factories


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_export_streams_explicit_columns_with_iso_dates_and_neutralised_formulas(org, admin_user):
    factories.ClientFactory(
        organisation=org,
        hostname="pc-1",
        fqdn='=HYPERLINK("http://evil")',
        last_renewal_at=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
    )
    factories.ClientFactory(organisation=org, hostname="pc-2", fqdn="@sum", last_renewal_at=None)
    factories.ClientFactory(organisation=org, hostname="pc-3", fqdn="-1+1")
    request = RequestFactory().get("/x/?q=pc")
    request.user = admin_user
    response = export_response(
        request,
        name="clients",
        queryset=Client.objects.for_organisation(org).order_by("hostname"),
        columns=[
            ExportColumn("hostname", "hostname"),
            ("fqdn", "fqdn"),
            ("edition", "edition__name"),
            ("last_renewal_at", "last_renewal_at"),
            ("license_status", "license_status"),
        ],
        organisation=org,
    )
    assert response["Content-Disposition"].startswith('attachment; filename="contoso-test-clients-')
    rows = read_csv(response)
    assert rows[0] == ["hostname", "fqdn", "edition", "last_renewal_at", "license_status"]
    assert [r[0] for r in rows[1:]] == ["pc-1", "pc-2", "pc-3"]
    assert rows[1][1] == '\'=HYPERLINK("http://evil")'
    assert rows[2][1] == "'@sum" and rows[3][1] == "'-1+1"
    assert rows[1][3] == "2026-03-04T05:06:07Z" and rows[2][3] == ""
    assert rows[1][4] == "1"
    event = AuditEvent.objects.get(action="export.clients")
    assert event.organisation_id == org.pk and event.changes["filters"] == {"q": "pc"}
