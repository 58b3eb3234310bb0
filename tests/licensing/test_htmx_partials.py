"""Every URL that answers an htmx swap with a fragment: the fragment with HX-Request, the whole
page without it (or on a boosted link / history restore), and `Vary: HX-Request` on both, so a
cache never serves one for the other (licensing/views/htmx.py); each fragment's tags balance, as it
is swapped into a page."""

from __future__ import annotations

import pytest
from django.utils import timezone

from licensing.models import ImportRun
from tests import factories
from tests.markup import unbalanced_tags

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(org):
    key = factories.MakKeyFactory(pool__organisation=org)
    host = factories.KmsHostFactory(organisation=org, fqdn="kms1.contoso.test")
    factories.ClientFactory(organisation=org, hostname="pc-01")
    runs = [
        ImportRun.objects.create(
            organisation=org, source="csv", status="done", started_at=timezone.now()
        )
        for _ in range(2)
    ]
    return {"pool": key.pool_id, "host": host.pk, "newest_run": runs[-1].pk}


# (URL, a marker only the fragment's own markup has)
PARTIALS = [
    ("/clients/", 'data-testid="client-table"'),
    ("/audit/?action=nothing", "No audit entries match"),
    ("/pools/", "/pools/{pool}/"),
    ("/pools/{pool}/", "/keys/"),
    ("/pools/{pool}/activations/", "No activations recorded yet"),
    ("/requests/", "No requests"),
    ("/kms/hosts/", "kms1.contoso.test"),
    ("/kms/hosts/{host}/?partial=state", 'id="host-state"'),
    ("/imports/?before={newest_run}", 'id="import-history"'),
]


@pytest.mark.parametrize(("url", "marker"), PARTIALS, ids=[u for u, _ in PARTIALS])
def test_the_same_url_answers_the_fragment_or_the_page(as_admin, objects, url, marker):
    url = url.format(**objects)
    marker = marker.format(**objects)
    fragment = as_admin.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    page = as_admin.get(url)
    for response in (fragment, page):
        assert response.status_code == 200
        assert "HX-Request" in response["Vary"]
        assert marker in response.content.decode()
    assert "<html" not in fragment.content.decode()
    assert "<html" in page.content.decode()
    assert unbalanced_tags(fragment.content.decode()) == []


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_HX_BOOSTED": "true"}, {"HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}],
    ids=["boosted-link", "history-restore"],
)
def test_a_boosted_link_or_the_back_button_gets_the_whole_page(as_admin, objects, headers):
    response = as_admin.get("/clients/", HTTP_HX_REQUEST="true", **headers)
    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]
