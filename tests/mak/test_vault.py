"""The key vault: adding and importing keys, duplicates, masking, reveal, block, Microsoft's figure."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import PermissionDenied

from licensing.models import AuditEvent, MakKey, MakKeyStatus
from licensing.services.errors import ConflictError, DomainError
from licensing.services.mak import vault
from licensing.views.mak import REAUTH_SESSION_KEY
from tests import factories
from tests.factories import product_key

pytestmark = pytest.mark.django_db

KEY = product_key(101)


def test_an_admin_adds_a_key_stored_encrypted_and_shown_masked(pool, admin_user, as_admin):
    response = as_admin.post(
        f"/pools/{pool.pk}/keys/add/",
        {"key": KEY.lower().replace("-", ""), "activation_limit": 50, "label": "EA 2025"},
    )
    assert response.status_code == 302
    key = MakKey.objects.get()
    assert (key.last5, key.activation_limit, key.status) == (KEY[-5:], 50, "active")
    assert KEY not in key.ciphertext and key.added_by == admin_user
    page = as_admin.get(f"/pools/{pool.pk}/").content.decode()
    assert f"•••••-•••••-•••••-•••••-{KEY[-5:]}" in page
    assert KEY not in page and KEY[:11] not in page
    entry = AuditEvent.objects.get(action="mak_key.add")
    assert KEY not in str(entry.changes) and entry.changes["key"].endswith(KEY[-5:])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("XJ2XN-FW8RK-P4HMP-DKDBV", "25 characters"),
        ("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE", "uses only the characters"),
        ("NNBBB-BBBBB-CCCCC-DDDDD-FFFFF", "at most one N"),
        ("", "25 characters"),
    ],
)
def test_a_malformed_key_is_refused_clearly_and_nothing_is_stored(pool, admin_user, raw, message):
    with pytest.raises(DomainError, match=message) as excinfo:
        vault.add_key(actor=admin_user, pool=pool, key=raw, activation_limit=10)
    assert excinfo.value.code == "invalid_key"
    assert not MakKey.objects.exists()


def test_the_form_shows_the_error_and_never_echoes_the_typed_key(pool, as_admin):
    bad = "BCDFG-HJKMP-QRTVW-XY234-6789A"
    response = as_admin.post(f"/pools/{pool.pk}/keys/add/", {"key": bad, "activation_limit": 5})
    body = response.content.decode()
    assert response.status_code == 200 and "found A" in body
    assert bad not in body and "BCDFG-HJKMP" not in body
    assert "no-store" in response["Cache-Control"]
    assert not MakKey.objects.exists()


def test_a_duplicate_key_is_refused_in_the_same_and_in_another_organisation(
    pool, other_pool, admin_user, outsider
):
    vault.add_key(actor=admin_user, pool=pool, key=KEY, activation_limit=10)
    with pytest.raises(DomainError, match="already stored") as same:
        vault.add_key(actor=admin_user, pool=pool, key=KEY.lower(), activation_limit=10)
    assert same.value.code == "duplicate_key"
    with pytest.raises(DomainError, match="already stored") as other:
        vault.add_key(
            actor=outsider, pool=other_pool, key=KEY.replace("-", ""), activation_limit=10
        )
    assert other.value.code == "duplicate_key"
    # No hint of which organisation holds it.
    assert other_pool.organisation.name not in str(other.value)
    assert pool.organisation.name not in str(other.value)
    assert MakKey.objects.count() == 1


def test_limits_must_be_sane(pool, admin_user):
    for limit in (0, -3, "ten", 10_000_001):
        with pytest.raises(DomainError):
            vault.add_key(actor=admin_user, pool=pool, key=KEY, activation_limit=limit)
    with pytest.raises(DomainError, match="cannot exceed"):
        vault.add_key(actor=admin_user, pool=pool, key=KEY, activation_limit=5, activations_used=6)
    assert not MakKey.objects.exists()


def test_roles_only_admins_add_keys(pool, manager_user, auditor_user, outsider):
    for user in (manager_user, auditor_user, outsider):
        with pytest.raises(PermissionDenied):
            vault.add_key(actor=user, pool=pool, key=KEY, activation_limit=10)
    assert not MakKey.objects.exists()


# --- CSV import ---------------------------------------------------------------------------


def _csv(*rows: str, header: str = "key,activation_limit,activations_used,label") -> str:
    return "\n".join([header, *rows]) + "\n"


def test_an_import_stores_every_key_of_a_good_file(pool, admin_user):
    text = _csv(
        f"{product_key(1)},100,5,first",
        f"{product_key(2).replace('-', '').lower()},200,,second",
        "",
        f"{product_key(3)},50,50,spent",
    )
    report = vault.import_keys(actor=admin_user, pool=pool, csv_text=text)
    assert report.ok, report.errors
    keys = {k.last5: k for k in MakKey.objects.all()}
    assert len(keys) == 3
    assert keys[product_key(3)[-5:]].status == MakKeyStatus.EXHAUSTED
    entry = AuditEvent.objects.get(action="mak_key.import")
    assert entry.changes["count"] == 3
    assert all(product_key(i) not in str(entry.changes) for i in (1, 2, 3))


def test_an_import_with_any_bad_row_stores_nothing_and_lists_every_problem(
    pool, other_pool, admin_user, outsider
):
    vault.add_key(actor=outsider, pool=other_pool, key=product_key(9), activation_limit=5)
    text = _csv(
        f"{product_key(1)},100,,ok",
        "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE,100,,malformed",
        f"{product_key(2)},0,,zero limit",
        f"{product_key(1)},10,,duplicate in file",
        f"{product_key(9)},10,,stored elsewhere",
        f"{product_key(4)},10,11,used above limit",
    )
    report = vault.import_keys(actor=admin_user, pool=pool, csv_text=text)
    assert not report.ok
    rows = dict(report.errors)
    assert set(rows) == {3, 4, 5, 6, 7}
    assert "uses only the characters" in rows[3]
    assert "activation_limit" in rows[4]
    assert "twice in this file" in rows[5] and "row 2" in rows[5]
    assert "already stored" in rows[6]
    assert "larger than activation_limit" in rows[7]
    assert MakKey.objects.filter(pool=pool).count() == 0
    assert "AAAAA-BBBBB" not in str(report.errors)


def test_an_import_needs_the_header_and_some_keys(pool, admin_user):
    assert (
        "first row must name"
        in vault.import_keys(actor=admin_user, pool=pool, csv_text=f"{product_key(1)},10\n").errors[
            0
        ][1]
    )
    assert "no keys" in vault.import_keys(actor=admin_user, pool=pool, csv_text=_csv()).errors[0][1]


def test_the_import_page_reports_row_errors(pool, as_admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(
        "keys.csv", _csv(f"{product_key(1)},x,,").encode(), content_type="text/csv"
    )
    response = as_admin.post(f"/pools/{pool.pk}/keys/import/", {"file": upload})
    body = response.content.decode()
    assert response.status_code == 200 and "Nothing was imported" in body and "Row 2" in body
    upload = SimpleUploadedFile("keys.csv", _csv(f"{product_key(1)},10,,").encode())
    assert as_admin.post(f"/pools/{pool.pk}/keys/import/", {"file": upload}).status_code == 302
    assert MakKey.objects.count() == 1


# --- reveal -------------------------------------------------------------------------------


@pytest.fixture
def key(pool):
    return factories.MakKeyFactory(pool=pool, key=KEY, activation_limit=20)


def test_reveal_needs_a_recent_password_confirmation(key, admin_user, as_admin):
    url = f"/keys/{key.pk}/reveal/"
    first = as_admin.get(url)
    assert first.status_code == 302 and first["Location"].startswith("/confirm-password/")
    wrong = as_admin.post("/confirm-password/", {"password": "nope", "next": url})
    assert wrong.status_code == 200 and "not your password" in wrong.content.decode()
    ok = as_admin.post("/confirm-password/", {"password": "correct-horse-battery", "next": url})
    assert ok.status_code == 302 and ok["Location"] == url
    confirm_page = as_admin.get(url)
    assert confirm_page.status_code == 200 and KEY not in confirm_page.content.decode()
    assert not AuditEvent.objects.filter(action="mak_key.reveal").exists()

    shown = as_admin.post(url)
    assert shown.status_code == 200
    assert KEY in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    entry = AuditEvent.objects.get(action="mak_key.reveal")
    assert entry.actor == admin_user and entry.object_id == str(key.pk)
    assert entry.changes["last5"] == KEY[-5:] and KEY not in str(entry.changes)


def test_an_old_password_confirmation_does_not_count(key, as_admin, settings):
    session = as_admin.session
    session[REAUTH_SESSION_KEY] = time.time() - settings.SECRET_REVEAL_REAUTH_SECONDS - 1
    session.save()
    response = as_admin.post(f"/keys/{key.pk}/reveal/")
    assert response.status_code == 302 and "/confirm-password/" in response["Location"]
    assert not AuditEvent.objects.filter(action="mak_key.reveal").exists()


def test_the_service_refuses_without_confirmation(key, admin_user):
    with pytest.raises(DomainError) as excinfo:
        vault.reveal_key(actor=admin_user, key=key, password_confirmed_at=None)
    assert excinfo.value.code == "reauth_required"


def test_only_admins_reveal_and_outsiders_do_not_see_the_key_exists(
    key, as_manager, as_auditor, as_outsider, manager_user
):
    for client in (as_manager, as_auditor):
        assert client.get(f"/keys/{key.pk}/reveal/").status_code == 403
    assert as_outsider.get(f"/keys/{key.pk}/reveal/").status_code == 404
    with pytest.raises(PermissionDenied):
        vault.reveal_key(actor=manager_user, key=key, password_confirmed_at=time.time())


def test_next_after_confirmation_stays_on_this_site(as_admin):
    response = as_admin.post(
        "/confirm-password/", {"password": "correct-horse-battery", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/pools/"


# --- block, Microsoft's figure ------------------------------------------------------------


def test_block_and_unblock_keep_the_right_status(key, admin_user, as_admin):
    assert as_admin.post(f"/keys/{key.pk}/block/", {"reason": ""}).status_code == 302
    key.refresh_from_db()
    assert key.status == MakKeyStatus.ACTIVE  # a reason is required
    as_admin.post(f"/keys/{key.pk}/block/", {"reason": "posted on a forum"})
    key.refresh_from_db()
    assert key.status == MakKeyStatus.BLOCKED and key.blocked_reason == "posted on a forum"
    with pytest.raises(ConflictError):
        vault.block_key(actor=admin_user, key=key, reason="again")
    MakKey.objects.filter(pk=key.pk).update(activations_used=20)
    vault.unblock_key(actor=admin_user, key=key)
    key.refresh_from_db()
    assert key.status == MakKeyStatus.EXHAUSTED and key.blocked_reason == ""
    actions = list(
        AuditEvent.objects.filter(object_id=str(key.pk)).values_list("action", flat=True)
    )
    assert "mak_key.block" in actions and "mak_key.unblock" in actions


def test_microsoft_remaining_is_recorded_and_disagreement_shown(key, admin_user, as_admin):
    MakKey.objects.filter(pk=key.pk).update(activations_used=5)  # ledger: 15 left
    response = as_admin.post(f"/keys/{key.pk}/microsoft-remaining/", {"remaining": 12}, follow=True)
    body = response.content.decode()
    assert "Microsoft says 12 left" in body and 'data-testid="disagreement"' in body
    key.refresh_from_db()
    assert key.microsoft_remaining == 12 and key.microsoft_remaining_at is not None
    assert vault.ledger_disagrees(key)
    vault.set_microsoft_remaining(actor=admin_user, key=key, remaining=15)
    key.refresh_from_db()
    assert not vault.ledger_disagrees(key)
    assert (
        'data-testid="disagreement"' not in as_admin.get(f"/pools/{key.pool_id}/").content.decode()
    )
    with pytest.raises(DomainError):
        vault.set_microsoft_remaining(actor=admin_user, key=key, remaining=-1)
