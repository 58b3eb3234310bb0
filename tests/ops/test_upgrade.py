"""Upgrading works: a database created and seeded by the previous release (fixture built by
scripts/upgrade_fixture.py from commit de3c1d2) is migrated by the current code; nothing is
left unapplied, no row is lost, the stored keys still decrypt and the portal runs on it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from licensing.services.backup import pg_tool, table_counts
from tests.ops.conftest import manage, production_env, server_conninfo

pytestmark = pytest.mark.django_db
FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("release-*.dump"))
# The development secrets the fixture was seeded with (public, PORTAL_TESTING's).
DEV_SECRETS = {"PORTAL_TESTING": "1"}


def counts(dbname: str) -> dict[str, int]:
    with psycopg.connect(server_conninfo(dbname)) as conn, conn.cursor() as cur:
        return table_counts(cur)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_a_previous_release_database_migrates_to_the_current_code(
    fixture, scratch_databases, tmp_path
):
    name = scratch_databases()
    with psycopg.connect(server_conninfo(name)) as conn:
        pg_restore = pg_tool("pg_restore", conn.info.server_version // 10000)
    subprocess.run(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--dbname",
            server_conninfo(name),
            str(fixture),
        ],
        check=True,
        capture_output=True,
    )
    before = counts(name)
    assert before["licensing_client"] == 200 and before["licensing_makkey"] > 0

    env = {**production_env(name, {}, tmp_path), **DEV_SECRETS}
    manage("migrate", "--no-input", env=env)
    manage("migrate", "--check", env=env)  # nothing left unapplied
    after = counts(name)
    lost = {
        t: (n, after.get(t))
        for t, n in before.items()
        if t != "django_migrations" and (after.get(t) or 0) < n
    }
    assert not lost, lost
    # The portal runs on it: the nightly full sweep, and the vault opens with the same secrets.
    manage("sweep_compliance", "--full", env=env)
    check = manage(
        "shell",
        "-c",
        "from licensing.models import MakKey, KmsHost\n"
        "from licensing.crypto import decrypt_product_key\n"
        "keys = [k.ciphertext for k in MakKey.objects.all()]\n"
        "keys += [h.host_key_ciphertext for h in KmsHost.objects.exclude(host_key_ciphertext='')]\n"
        "print(sum(1 for c in keys if decrypt_product_key(c)), len(keys))",
        env=env,
    )
    decrypted, total = check.stdout.split()[-2:]
    assert decrypted == total and int(total) > 0
    # Migration 2030 gave each of the release's activations its key's pool.
    with psycopg.connect(server_conninfo(name)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FILTER (WHERE a.pool_id = k.pool_id) FROM licensing_makactivation a "
            "JOIN licensing_makkey k ON k.id = a.key_id"
        )
        (in_their_keys_pool,) = cur.fetchone()
    assert in_their_keys_pool == before["licensing_makactivation"] > 0
