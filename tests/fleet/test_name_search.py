"""The one hostname/FQDN prefix search (`Client.objects.matching_name`), used by the client
list's search box and the header search: what it finds, and that a hostname prefix is an index
range read in the list's order (migration 2010)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from licensing.models import Client
from licensing.querysets import ClientQuerySet
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def named(org, other_org):
    make = factories.ClientFactory
    return {
        "plain": make(organisation=org, hostname="lab-pc-01", fqdn="lab-pc-01.contoso.test"),
        "no_fqdn": make(organisation=org, hostname="lab-pc-02", fqdn=""),
        # A NetBIOS name cut to 15 characters: the FQDN names the machine in full.
        "netbios": make(
            organisation=org, hostname="longcomputernam", fqdn="longcomputername123.contoso.test"
        ),
        "underscore": make(organisation=org, hostname="lab_pc_03", fqdn=""),
        "elsewhere": make(organisation=other_org, hostname="lab-pc-09", fqdn="lab-pc-09.x.test"),
    }


def found(org, value: str) -> list[str]:
    return list(
        Client.objects.for_organisation(org)
        .matching_name(value)
        .order_by("hostname")
        .values_list("hostname", flat=True)
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("lab", ["lab-pc-01", "lab-pc-02", "lab_pc_03"]),
        ("LAB-PC", ["lab-pc-01", "lab-pc-02"]),  # any case
        ("lab_", ["lab_pc_03"]),  # "_" is a character, not LIKE's wildcard
        ("%", []),
        ("lab-pc-01.contoso", ["lab-pc-01"]),  # an FQDN prefix
        ("lab-pc-01.other", []),
        ("lab-pc-02.", []),  # no FQDN recorded
        (".contoso", []),
        ("longcomp", ["longcomputernam"]),  # the hostname
        ("longcomputername1", ["longcomputernam"]),  # only the FQDN starts so
        ("LONGCOMPUTERNAME123.CONTOSO", ["longcomputernam"]),
        ("longcomputernam.", []),  # its FQDN does not start with its hostname and a dot
        ("zz", []),
    ],
)
def test_a_prefix_of_the_hostname_or_the_fqdn(org, named, value, expected):
    assert found(org, value) == expected


def test_many_clients_whose_fqdn_names_another_host_are_all_found(org, monkeypatch):
    """Above the listed limit those clients are matched by a condition instead of by id."""
    for n in range(3):
        factories.ClientFactory(organisation=org, hostname=f"short{n}", fqdn=f"fullname{n}.x.test")
    factories.ClientFactory(organisation=org, hostname="fullname-real", fqdn="")
    monkeypatch.setattr(ClientQuerySet, "OTHER_NAMES_LISTED", 2)
    assert found(org, "fullname") == ["fullname-real", "short0", "short1", "short2"]


def test_the_search_box_and_the_header_search_use_it(as_admin, org, named):
    body = as_admin.get("/clients/", {"q": "longcomputername1"}).content.decode()
    assert f'href="/clients/{named["netbios"].pk}/"' in body
    body = as_admin.get("/search/", {"q": "longcomputername1"}).content.decode()
    assert f'href="/clients/{named["netbios"].pk}/"' in body


def test_hostnames_sort_in_byte_order(org):
    """The "C" collation whatever the database's own: "-" < digits < "_" < letters."""
    for hostname in ("pc_2", "pca", "pc1", "pc-10"):
        factories.ClientFactory(organisation=org, hostname=hostname)
    assert found(org, "pc") == ["pc-10", "pc1", "pc_2", "pca"]


def test_a_hostname_prefix_is_a_range_of_the_hostname_index(org, named):
    """The plan that makes any prefix fast at a million clients: the (organisation, hostname)
    index bounds the scan by the prefix and returns rows in the list's order. In the database's
    default collation that index could not bound a LIKE, and the old OR with the FQDN made
    PostgreSQL walk the whole organisation (1.5 s for "pc-f" at 600,000 clients)."""
    page = (
        Client.objects.for_organisation(org)
        .filter(retired_at__isnull=True)
        .matching_name("lab-pc")
        .order_by("hostname", "id")[:51]
    )
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is small enough to scan
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")  # the order must come from an index
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using client_hostname_per_org" in plan, plan
    assert "(hostname)::text >= 'lab-pc'::text" in plan, plan
    assert " OR " not in plan, plan


def test_a_searchs_count_of_live_clients_reads_only_the_index(org, named):
    """`retired_at` is carried in the hostname index (INCLUDE) for the list's capped count."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'client_hostname_per_org'"
        )
        (definition,) = cursor.fetchone()
    assert definition.endswith("(organisation_id, hostname) INCLUDE (retired_at)")


def test_the_lookup_of_fqdns_naming_another_host_reads_their_index_unordered(org, named):
    """Ordered by hostname (the model's default ordering) PostgreSQL walked a 6,000,000-client
    organisation in hostname order for these few rows: 11 s a search at 10M clients."""
    with CaptureQueriesContext(connection) as queries:
        Client.objects.for_organisation(org).name_match("lab")
    (lookup,) = queries.captured_queries
    assert "split_part" in lookup["sql"]
    assert "ORDER BY" not in lookup["sql"]
