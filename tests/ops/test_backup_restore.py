"""Backup and restore for real: a seeded portal is backed up with `manage.py backup`, restored
with `manage.py restore` into a fresh database, and every key still decrypts with the saved
secrets; with other secrets the restore fails with a clear message. Nothing is lost: every
table's rows and the whole audit trail are compared."""

from __future__ import annotations

import psycopg
import pytest
from cryptography.fernet import Fernet

from licensing.services.backup import table_counts
from tests.ops.conftest import manage, new_secrets, production_env, server_conninfo

pytestmark = pytest.mark.django_db


def snapshot(dbname: str) -> dict:
    with psycopg.connect(server_conninfo(dbname)) as conn, conn.cursor() as cur:
        counts = table_counts(cur)
        cur.execute("SELECT * FROM licensing_auditevent ORDER BY id")
        audit = cur.fetchall()
        cur.execute("SELECT id, ciphertext FROM licensing_makkey ORDER BY id")
        mak = cur.fetchall()
        cur.execute(
            "SELECT id, host_key_ciphertext FROM licensing_kmshost "
            "WHERE host_key_ciphertext <> '' ORDER BY id"
        )
        hosts = cur.fetchall()
    return {"counts": counts, "audit": audit, "mak": mak, "hosts": hosts}


def read_env_file(path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_backup_restore_into_a_fresh_database(scratch_databases, tmp_path):
    source, target, other = scratch_databases(), scratch_databases(), scratch_databases()
    saved = new_secrets()
    env = production_env(source, saved, tmp_path)
    manage("migrate", "--no-input", "-v0", env=env)
    manage("seed_demo", "--clients", "300", env=env)
    # An audit trail to compare (the demo seed writes none): a few entries as services write them.
    manage(
        "shell",
        "-c",
        "from licensing.services import audit\n"
        "from licensing.models import MakKey\n"
        "for key in MakKey.objects.all()[:5]:\n"
        "    audit.record(action='mak_key.block', label='ops-test', obj=key,"
        " organisation=key.pool.organisation_id, changes={'reason': 'test'})",
        env=env,
    )
    backup_file, secrets_file = tmp_path / "portal.tar", tmp_path / "secrets.env"

    out = manage("backup", str(backup_file), "--secrets-file", str(secrets_file), env=env)
    assert "REMEMBER" in out.stdout and "FIELD_ENCRYPTION_KEYS" in out.stdout
    assert saved["FIELD_ENCRYPTION_KEYS"] not in out.stdout + out.stderr
    assert (secrets_file.stat().st_mode & 0o777) == 0o600
    assert read_env_file(secrets_file) == saved
    raw = backup_file.read_bytes()
    assert saved["FIELD_ENCRYPTION_KEYS"].encode() not in raw
    assert saved["KEY_FINGERPRINT_PEPPER"].encode() not in raw
    before = snapshot(source)
    assert before["mak"] and before["hosts"] and before["audit"]

    # On the new machine, with the saved secrets: restored and verified.
    restored = manage(
        "restore",
        str(backup_file),
        env=production_env(target, read_env_file(secrets_file), tmp_path),
    )
    assert "Verified" in restored.stdout
    after = snapshot(target)
    assert after["counts"] == before["counts"]
    assert after["audit"] == before["audit"]
    fernet = Fernet(saved["FIELD_ENCRYPTION_KEYS"].encode())
    for (pk, old), (pk2, new) in zip(
        before["mak"] + before["hosts"], after["mak"] + after["hosts"], strict=True
    ):
        assert pk == pk2 and fernet.decrypt(new.encode()) == fernet.decrypt(old.encode())

    # Restoring again over it is refused without --replace.
    again = manage(
        "restore", str(backup_file), env=production_env(target, saved, tmp_path), check=False
    )
    assert again.returncode != 0 and "already has tables" in again.stderr

    # Without the saved encryption key: a clear failure that says what to do.
    wrong_key = {**saved, "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    failed = manage(
        "restore", str(backup_file), env=production_env(other, wrong_key, tmp_path), check=False
    )
    assert failed.returncode != 0
    stored = len(before["mak"]) + len(before["hosts"])
    assert f"{stored} of {stored} stored keys cannot be decrypted" in failed.stderr
    assert "FIELD_ENCRYPTION_KEYS" in failed.stderr and "--verify-only" in failed.stderr
    assert wrong_key["FIELD_ENCRYPTION_KEYS"] not in failed.stderr

    # Without the saved pepper: duplicates could not be found; also a clear failure.
    wrong_pepper = {**saved, "KEY_FINGERPRINT_PEPPER": "not-the-pepper"}
    failed = manage(
        "restore",
        str(backup_file),
        "--verify-only",
        env=production_env(other, wrong_pepper, tmp_path),
        check=False,
    )
    assert failed.returncode != 0 and "KEY_FINGERPRINT_PEPPER" in failed.stderr

    # With the saved secrets set afterwards, the same database verifies.
    ok = manage(
        "restore", str(backup_file), "--verify-only", env=production_env(other, saved, tmp_path)
    )
    assert "Verified" in ok.stdout
