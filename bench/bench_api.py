"""API foundation: first page of the client list through DRF (cursor pagination) beside the
raw keyset query that returns the same 100 rows."""

from __future__ import annotations

from django.db import connection
from django.test import Client as HttpClient

from bench.run import Context, Result, timed


def run(ctx: Context) -> list[Result]:
    from licensing.models import Organisation
    from tests.factories import UserFactory

    org = Organisation.objects.get(slug="contoso")
    user = UserFactory(username="bench-api", is_superuser=True)
    http = HttpClient()
    http.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    url = "/api/v1/clients/?page_size=100"

    def api_page() -> None:
        response = http.get(url, HTTP_HOST="127.0.0.1")
        assert response.status_code == 200, response.status_code

    def raw_page() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.*, o.slug, e.name, h.fqdn FROM licensing_client c JOIN licensing_organisation o ON o.id = c.organisation_id "
                "LEFT JOIN licensing_edition e ON e.id = c.edition_id LEFT JOIN licensing_kmshost h ON h.id = c.kms_host_id "
                # As the API: the caller's current organisation, live clients only.
                "WHERE c.organisation_id = %s AND c.retired_at IS NULL "
                "ORDER BY c.id DESC LIMIT 101",
                [org.pk],
            )
            cursor.fetchall()

    return [
        Result(
            "api_clients_first_page",
            round(timed(api_page, 5), 2),
            "ms",
            round(timed(raw_page, 5), 2),
            "DRF cursor page of 100 vs raw SQL",
        ),
    ]
