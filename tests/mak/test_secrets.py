"""Keys never in clear: not in the database, logs, CSV exports, API output or audit; rotation."""

from __future__ import annotations

import io
import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client as DjangoClient

from licensing.crypto import decrypt_product_key, seal_product_key
from licensing.models import KmsHost, MakKey
from tests import factories
from tests.factories import product_key

pytestmark = pytest.mark.django_db

FORM_KEY, API_KEY, IMPORT_KEYS = (
    product_key(201),
    product_key(202),
    [product_key(203), product_key(204)],
)
ALL_KEYS = [FORM_KEY, API_KEY, *IMPORT_KEYS]


def _spellings(key: str) -> list[str]:
    compact = key.replace("-", "")
    return [key, key.lower(), compact, compact.lower(), key[:17]]


def _assert_no_key(text: str, where: str) -> None:
    for key in ALL_KEYS:
        for spelling in _spellings(key):
            assert spelling not in text, f"a product key appears in {where}"


def _raw_rows(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t::text FROM {table} t")  # every column of every row, as text
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_session_that_adds_and_reveals_keys_leaves_no_key_in_db_logs_csv_or_api(
    org, pool, admin_user, manager_user, as_admin, as_manager, api_token_for, caplog
):
    caplog.set_level(logging.DEBUG)  # root: every logger, including django.request
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    connection.force_debug_cursor = True  # log every SQL statement with its parameters
    try:
        assert (
            as_admin.post(
                f"/pools/{pool.pk}/keys/add/", {"key": FORM_KEY, "activation_limit": 10}
            ).status_code
            == 302
        )
        # A malformed variant and a duplicate produce errors: the key must not be in them either.
        as_admin.post(
            f"/pools/{pool.pk}/keys/add/", {"key": FORM_KEY + "B", "activation_limit": 10}
        )
        as_admin.post(f"/pools/{pool.pk}/keys/add/", {"key": FORM_KEY, "activation_limit": 10})
        api = DjangoClient(**api_token_for(admin_user, org))
        created = api.post(
            "/api/v1/mak-keys/",
            data=json.dumps({"pool": pool.pk, "key": API_KEY, "activation_limit": 7}),
            content_type="application/json",
        )
        assert created.status_code == 201, created.content
        duplicate = api.post(
            "/api/v1/mak-keys/",
            data=json.dumps({"pool": pool.pk, "key": API_KEY.lower(), "activation_limit": 7}),
            content_type="application/json",
        )
        assert duplicate.status_code == 400 and duplicate.json()["code"] == "duplicate_key"
        upload = SimpleUploadedFile(
            "keys.csv",
            ("key,activation_limit\n" + "".join(f"{k},5\n" for k in IMPORT_KEYS)).encode(),
        )
        assert as_admin.post(f"/pools/{pool.pk}/keys/import/", {"file": upload}).status_code == 302
        # A manager trying to reveal is refused (Django logs the 403).
        key = MakKey.objects.get(last5=FORM_KEY[-5:])
        assert as_manager.get(f"/keys/{key.pk}/reveal/").status_code == 403
        as_admin.post("/confirm-password/", {"password": "correct-horse-battery"})
        for k in MakKey.objects.all():
            revealed = as_admin.post(f"/keys/{k.pk}/reveal/")
            assert revealed.status_code == 200
            assert decrypt_product_key(k.ciphertext) in revealed.content.decode()

        outputs = {
            "API key list": api.get("/api/v1/mak-keys/").content.decode(),
            "API create response": created.content.decode(),
            "pool page": as_admin.get(f"/pools/{pool.pk}/").content.decode(),
        }
        # Django's debug cursor wrapper cannot run COPY with parameters (exports.stream_copy).
        connection.force_debug_cursor = False
        for name in ("pool_export", "key_export", "request_export"):
            response = as_admin.get(
                {
                    "pool_export": "/pools/export.csv",
                    "key_export": "/pools/keys-export.csv",
                    "request_export": "/requests/export.csv",
                }[name]
            )
            assert response.status_code == 200
            outputs[name] = b"".join(response.streaming_content).decode()
    finally:
        connection.force_debug_cursor = False

    assert MakKey.objects.count() == 4
    assert any("licensing_makkey" in r.getMessage() for r in caplog.records)  # SQL was logged
    assert any(r.name == "django.request" for r in caplog.records)
    _assert_no_key("\n".join(r.getMessage() for r in caplog.records), "the logs")
    _assert_no_key(caplog.text, "the formatted logs")
    for name, text in outputs.items():
        _assert_no_key(text, name)
    assert FORM_KEY[-5:] in outputs["key_export"]  # the export is there, masked
    for table in ("licensing_makkey", "licensing_auditevent", "django_session"):
        _assert_no_key(_raw_rows(table), f"the table {table}")


def test_the_raw_column_holds_only_ciphertext(pool):
    key = factories.MakKeyFactory(pool=pool, key=FORM_KEY)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ciphertext, last5, fingerprint FROM licensing_makkey WHERE id = %s", [key.pk]
        )
        ciphertext, last5, fingerprint = cursor.fetchone()
    assert ciphertext.startswith("gAAAA")  # a Fernet token
    for spelling in _spellings(FORM_KEY):
        assert spelling not in ciphertext and spelling not in fingerprint
    assert last5 == FORM_KEY[-5:]
    assert decrypt_product_key(ciphertext) == FORM_KEY


def test_rotation_re_encrypts_every_key_under_the_newest_and_keeps_them_readable(
    org, pool, settings
):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    mak_keys = [factories.MakKeyFactory(pool=pool, key=product_key(300 + i)) for i in range(7)]
    sealed = seal_product_key(product_key(400))
    host = KmsHost.objects.create(
        organisation=org,
        fqdn="kms.rotate.test",
        product_group="office_2024",
        host_key_ciphertext=sealed.ciphertext,
        host_key_last5=sealed.last5,
        host_key_fingerprint=sealed.fingerprint,
    )
    KmsHost.objects.create(organisation=org, fqdn="nokey.rotate.test", product_group="office_2024")
    before = {k.pk: k.ciphertext for k in MakKey.objects.all()}

    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_field_keys", "--batch-size", "3", stdout=out)
    assert "MAK keys: 7 re-encrypted, 0 already current." in out.getvalue()
    assert "KMS host keys: 1 re-encrypted, 0 already current." in out.getvalue()
    for spelling in _spellings(product_key(300)):
        assert spelling not in out.getvalue()
    after = {k.pk: k.ciphertext for k in MakKey.objects.all()}
    assert all(after[pk] != before[pk] for pk in before)

    again = io.StringIO()
    call_command("rotate_field_keys", stdout=again)  # idempotent
    assert "MAK keys: 0 re-encrypted, 7 already current." in again.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone
    for i, k in enumerate(sorted(mak_keys, key=lambda k: k.pk)):
        assert decrypt_product_key(MakKey.objects.get(pk=k.pk).ciphertext) == product_key(300 + i)
    host.refresh_from_db()
    assert decrypt_product_key(host.host_key_ciphertext) == product_key(400)


def test_rotation_refuses_when_an_old_key_is_dropped_too_early(pool, settings):
    from django.core.management.base import CommandError

    factories.MakKeyFactory(pool=pool)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="keep the old key"):
        call_command("rotate_field_keys", stdout=io.StringIO())
