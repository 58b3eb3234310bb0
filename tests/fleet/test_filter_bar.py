"""The client list's filter bar is cached as HTML (licensing/services/filter_bar.py): a second
view draws it without its three option queries, and it changes at once when an edition, a KMS
host or a MAK pool is added, renamed or deleted; never across organisations or languages; and
with Redis down it is drawn live."""

from __future__ import annotations

import re
import threading

import pytest
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from licensing.models import KmsProductGroup
from licensing.services.filter_bar import SECONDS, VERSION_KEY, options_version
from licensing.services.kms.hosts import register_host, update_host
from tests import factories

NB = {"HTTP_ACCEPT_LANGUAGE": "nb"}
_OPTION_TABLES = (
    'FROM "licensing_edition"',
    'FROM "licensing_kmshost"',
    'FROM "licensing_makpool"',
)


def bar(response) -> str:
    """The cached part of the page: the "More filters" panel."""
    html = response.content.decode()
    match = re.search(r'<details class="col-12 filter-more".*?</details>', html, re.S)
    assert match, "no filter bar on the page"
    return match.group(0)


def host_options(response) -> list[str]:
    select = re.search(r'<select name="kms_host".*?</select>', bar(response), re.S)
    assert select, "no KMS host select in the filter bar"
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select.group(0))


def option_queries(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in _OPTION_TABLES)
    ]


@pytest.fixture
def hosts(org):
    return [
        factories.KmsHostFactory(organisation=org, fqdn="kms-a.contoso.test"),
        factories.KmsHostFactory(organisation=org, fqdn="kms-b.contoso.test"),
    ]


def test_a_second_view_draws_the_bar_from_the_cache(as_admin, org, hosts):
    with CaptureQueriesContext(connection) as first:
        cold = as_admin.get("/clients/?compliance_flag=expired")
    with CaptureQueriesContext(connection) as second:
        warm = as_admin.get("/clients/?compliance_flag=expired")
    assert len(option_queries(first)) == 3
    assert option_queries(second) == []
    assert len(second.captured_queries) == len(first.captured_queries) - 3
    assert bar(warm) == bar(cold)
    assert host_options(warm) == ["kms-a.contoso.test", "kms-b.contoso.test"]
    # Stored for five minutes (SECONDS), in Redis under the key `{% cache %}` makes of ours.
    fragment = make_template_fragment_key("client_filter_bar", [warm.context["filter_bar"].key])
    redis = cache._cache.get_client(cache.make_and_validate_key(fragment))
    assert 295 <= redis.ttl(cache.make_and_validate_key(fragment)) <= SECONDS == 300
    # The chosen filter is part of the key: another value draws (and shows) its own bar.
    assert 'value="expired" selected' in bar(warm)
    other = as_admin.get("/clients/?compliance_flag=ok")
    assert 'value="ok" selected' in bar(other)
    assert 'value="expired" selected' not in bar(other)


def test_paging_and_searching_share_the_bar_of_their_filters(as_admin, org, hosts):
    as_admin.get("/clients/?compliance_flag=expired")
    with CaptureQueriesContext(connection) as queries:
        searched = as_admin.get("/clients/?compliance_flag=expired&q=pc-")
    assert option_queries(queries) == []
    # The search box is drawn outside the cached part, with the words searched for.
    assert 'value="pc-"' in searched.content.decode()
    assert 'value="pc-"' not in bar(searched)


def test_a_new_or_renamed_host_shows_at_once(
    as_admin, admin_user, org, hosts, django_capture_on_commit_callbacks
):
    assert host_options(as_admin.get("/clients/")) == ["kms-a.contoso.test", "kms-b.contoso.test"]
    with django_capture_on_commit_callbacks(execute=True):
        register_host(
            actor=admin_user,
            organisation=org,
            fqdn="kms-c.contoso.test",
            product_group=KmsProductGroup.OFFICE_2024,
        )
    assert host_options(as_admin.get("/clients/")) == [
        "kms-a.contoso.test",
        "kms-b.contoso.test",
        "kms-c.contoso.test",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        update_host(actor=admin_user, host=hosts[0], fqdn="kms-z.contoso.test")
    assert host_options(as_admin.get("/clients/")) == [
        "kms-b.contoso.test",
        "kms-c.contoso.test",
        "kms-z.contoso.test",
    ]


def test_a_deleted_pool_and_a_renamed_edition_leave_the_bar(as_admin, org):
    pool = factories.MakPoolFactory(organisation=org)
    edition = pool.edition
    assert f">{edition.name} MAK pool<" in bar(as_admin.get("/clients/"))
    edition.name = "Office LTSC Renamed Edition"
    edition.save()
    page = bar(as_admin.get("/clients/"))
    assert ">Office LTSC Renamed Edition<" in page
    assert ">Office LTSC Renamed Edition MAK pool<" in page
    pool.delete()
    assert "Renamed Edition MAK pool<" not in bar(as_admin.get("/clients/"))


def test_a_poll_or_a_count_keeps_the_cache(org, hosts):
    before = options_version()
    host = hosts[0]
    host.current_count = 42
    host.save(update_fields=["current_count", "license_status", "last_report_at"])
    assert options_version() == before
    host.fqdn = "kms-renamed.contoso.test"
    host.save(update_fields=["fqdn"])
    assert options_version() != before


def test_never_another_organisations_bar(client, org, other_org, hosts):
    theirs = factories.KmsHostFactory(organisation=other_org, fqdn="kms.other.test")
    mine = factories.UserFactory(username="mine")
    factories.MembershipFactory(user=mine, organisation=org, role="admin")
    them = factories.UserFactory(username="them")
    factories.MembershipFactory(user=them, organisation=other_org, role="admin")
    # The same query string, one organisation after the other.
    client.force_login(mine)
    assert host_options(client.get("/clients/")) == ["kms-a.contoso.test", "kms-b.contoso.test"]
    client.force_login(them)
    assert host_options(client.get("/clients/")) == [theirs.fqdn]


def test_each_language_gets_its_own_bar(as_admin, org, hosts):
    english = bar(as_admin.get("/clients/"))
    norwegian = bar(as_admin.get("/clients/", **NB))
    assert "More filters" in english
    assert "More filters" not in norwegian
    assert "Flere filtre" in norwegian


def test_with_redis_down_the_bar_is_drawn_live(as_admin, org, hosts, private_redis, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.DegradingRedisCache",
            "LOCATION": f"redis://127.0.0.1:{private_redis.port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
        }
    }
    as_admin.get("/clients/")
    private_redis.stop()
    with CaptureQueriesContext(connection) as queries:
        page = as_admin.get("/clients/")
    assert page.status_code == 200
    assert len(option_queries(queries)) == 3
    assert host_options(page) == ["kms-a.contoso.test", "kms-b.contoso.test"]
    # Back up, the version is new (the old one lived in the Redis that stopped) and the bar
    # is cached again.
    private_redis.start()
    as_admin.get("/clients/")
    assert cache.get(VERSION_KEY) is not None


def test_made_up_parameters_share_the_bar_and_invalid_filters_are_not_stored(as_admin, org, hosts):
    as_admin.get("/clients/")
    with CaptureQueriesContext(connection) as queries:
        page = as_admin.get("/clients/?utm_source=mail&foo=bar")
    assert page.status_code == 200
    assert option_queries(queries) == []  # the bar of the plain list
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            invalid = as_admin.get("/clients/?last_renewal_after=not-a-date")
        assert invalid.status_code == 200
        assert "is-invalid" in bar(invalid)
        assert len(option_queries(queries)) == 3  # drawn live each time, never stored


@pytest.mark.django_db(transaction=True)
def test_a_page_drawn_while_a_new_host_commits_does_not_keep_the_old_bar(as_admin, admin_user, org):
    """A page drawn between the new host's save and its commit still reads the old options,
    and caches them under the version the save set; the version set at commit leaves that bar
    behind, so the page after the commit shows the host."""
    factories.KmsHostFactory(organisation=org, fqdn="kms-a.contoso.test")
    saved, drawn = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def register_and_wait() -> None:
        try:
            with transaction.atomic():
                register_host(
                    actor=admin_user,
                    organisation=org,
                    fqdn="kms-b.contoso.test",
                    product_group=KmsProductGroup.OFFICE_2024,
                )
                saved.set()
                assert drawn.wait(30)
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)
        finally:
            saved.set()
            connection.close()

    writer = threading.Thread(target=register_and_wait)
    writer.start()
    assert saved.wait(30)
    during = host_options(as_admin.get("/clients/"))
    drawn.set()
    writer.join(30)
    assert not errors, errors
    assert during == ["kms-a.contoso.test"]  # not committed yet
    assert host_options(as_admin.get("/clients/")) == ["kms-a.contoso.test", "kms-b.contoso.test"]
