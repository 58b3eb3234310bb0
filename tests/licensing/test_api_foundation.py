import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from licensing.models import ApiToken, AuditEvent, TokenScope
from licensing.services.tokens import create_api_token, revoke_api_token
from tests import factories

pytestmark = pytest.mark.django_db


def api(headers):
    return DjangoClient(**headers)


def test_a_personal_token_reads_its_organisations_clients(org, admin_user, api_token_for):
    factories.ClientFactory(organisation=org, hostname="pc-api")
    response = api(api_token_for(admin_user, org)).get("/api/v1/clients/")
    assert response.status_code == 200
    body = response.json()
    assert [c["hostname"] for c in body["results"]] == ["pc-api"]
    assert "count" not in body  # cursor pagination: no COUNT(*) over the fleet
    assert ApiToken.objects.get().last_used_at is not None


def test_a_token_is_bound_to_one_organisation(org, other_org, api_token_for):
    user = factories.UserFactory(username="two-orgs")
    factories.MembershipFactory(user=user, organisation=org, role="auditor")
    factories.MembershipFactory(user=user, organisation=other_org, role="auditor")
    factories.ClientFactory(organisation=org, hostname="in-org")
    foreign = factories.ClientFactory(organisation=other_org, hostname="in-other")
    client = api(api_token_for(user, org))
    assert [c["hostname"] for c in client.get("/api/v1/clients/").json()["results"]] == ["in-org"]
    assert client.get(f"/api/v1/clients/{foreign.pk}/").status_code == 404
    assert [o["slug"] for o in client.get("/api/v1/organisations/").json()["results"]] == [org.slug]


def test_the_organisation_list_reads_each_callers_role_with_the_rows():
    """Each organisation with the caller's role, in statements that do not grow with the rows
    (a role per row was 100 statements a page for a user in 100 organisations)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import logged_in

    user = factories.UserFactory(username="many-roles")
    browser = logged_in(user)

    def listed() -> tuple[dict[str, str], int]:
        with CaptureQueriesContext(connection) as queries:
            body = browser.get("/api/v1/organisations/").json()
        return {o["slug"]: o["role"] for o in body["results"]}, len(queries)

    roles = {}
    for i, role in enumerate(("admin", "manager", "auditor")):
        org = factories.OrganisationFactory(slug=f"roles-{i}")
        factories.MembershipFactory(user=user, organisation=org, role=role)
        roles[org.slug] = role
    three, statements_for_three = listed()
    for i in range(3, 9):
        org = factories.OrganisationFactory(slug=f"roles-{i}")
        factories.MembershipFactory(user=user, organisation=org, role="auditor")
        roles[org.slug] = "auditor"
    nine, statements_for_nine = listed()
    assert three == {slug: roles[slug] for slug in three} and len(three) == 3
    assert nine == roles
    assert statements_for_nine == statements_for_three


def test_only_a_digest_of_the_token_is_stored(org, admin_user):
    token, plaintext = create_api_token(actor=admin_user, organisation=org, name="ci")
    assert plaintext not in {token.digest, token.prefix}
    assert plaintext.startswith(token.prefix)
    assert AuditEvent.objects.filter(action="api_token.create", object_id=str(token.pk)).exists()


def test_revoked_and_expired_tokens_are_refused(org, admin_user):
    token, plaintext = create_api_token(actor=admin_user, organisation=org, name="ci")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}
    assert api(headers).get("/api/v1/clients/").status_code == 200
    revoke_api_token(actor=admin_user, token=token)
    refused = api(headers).get("/api/v1/clients/")
    assert refused.status_code == 401 and "revoked or expired" in refused.json()["detail"]
    other, plaintext2 = create_api_token(actor=admin_user, organisation=org, name="old")
    ApiToken.objects.filter(pk=other.pk).update(
        expires_at=timezone.now() - timezone.timedelta(seconds=1),
        created_at=timezone.now() - timezone.timedelta(days=2),
    )
    assert (
        api({"HTTP_AUTHORIZATION": f"Bearer {plaintext2}"}).get("/api/v1/clients/").status_code
        == 401
    )


def test_an_agent_token_reads_nothing(org, admin_user):
    factories.ClientFactory(organisation=org)
    _, plaintext = create_api_token(
        actor=admin_user, organisation=org, name="agent", scope=TokenScope.AGENT
    )
    response = api({"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}).get("/api/v1/clients/")
    assert response.status_code == 404


def test_auditors_cannot_create_agent_tokens(org, auditor_user):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        create_api_token(actor=auditor_user, organisation=org, name="agent", scope=TokenScope.AGENT)


def test_token_lifetime_is_bounded(org, admin_user):
    from licensing.services.errors import InvalidInput

    with pytest.raises(InvalidInput, match="between 1 and") as exc:
        create_api_token(actor=admin_user, organisation=org, name="forever", days=10_000)
    assert list(exc.value.field_errors) == ["days"]


def test_the_token_page_shows_a_new_token_once(as_admin, org):
    response = as_admin.post("/tokens/", {"name": "nightly export", "scope": "user", "days": 30})
    assert response.status_code == 200
    token = ApiToken.objects.get(name="nightly export")
    assert token.prefix in response.content.decode()
    again = as_admin.get("/tokens/").content.decode()
    assert "shown once" not in again


def test_api_filters_clients_with_the_shared_filterset(org, as_admin):
    factories.ClientFactory(organisation=org, hostname="pc-kms")
    factories.ClientFactory(organisation=org, hostname="pc-mak", activation_method="mak")
    hostnames = [
        c["hostname"]
        for c in as_admin.get("/api/v1/clients/?activation_method=mak").json()["results"]
    ]
    assert hostnames == ["pc-mak"]
    assert as_admin.get("/api/v1/clients/?q=pc-k").json()["results"][0]["hostname"] == "pc-kms"


def test_schema_and_docs_are_served(as_admin):
    schema = as_admin.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/clients/" in schema.content
    docs = as_admin.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


def test_editions_are_listed_for_any_member(as_auditor):
    names = {e["name"] for e in as_auditor.get("/api/v1/editions/?page_size=100").json()["results"]}
    assert "Office LTSC Professional Plus 2024" in names


def test_a_client_page_shows_related_labels_in_a_fixed_number_of_queries_and_no_secret(
    org, as_admin, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    host = factories.KmsHostFactory(organisation=org, fqdn="kms1.contoso.test")
    key = factories.MakKeyFactory(pool__organisation=org)
    for i in range(30):
        factories.ClientFactory(organisation=org, hostname=f"pc-{i:02d}", kms_host=host)
    factories.ClientFactory(
        organisation=org,
        hostname="pc-mak",
        activation_method="mak",
        mak_key=key,
        edition=factories.edition(),
        license_status=1,
    )
    with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as queries:
        body = as_admin.get("/api/v1/clients/").json()
    rows = {c["hostname"]: c for c in body["results"]}
    assert len(rows) == 31
    assert rows["pc-mak"]["organisation"] == org.slug
    assert rows["pc-mak"]["edition"] == "Office LTSC Professional Plus 2024"
    assert rows["pc-mak"]["mak_key_last5"] == key.last5
    assert rows["pc-mak"]["license_status_name"] == "Licensed"
    assert rows["pc-00"]["kms_host"] == "kms1.contoso.test"
    assert rows["pc-00"]["mak_key_last5"] is None
    # The list reads the one column each related row is shown by: no sealed key leaves the
    # database for it.
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "host_key_ciphertext" not in sql and '"licensing_makkey"."ciphertext"' not in sql
