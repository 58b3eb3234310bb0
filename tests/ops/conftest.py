"""Fixtures of the operations tests: scratch databases on the test server and the environment
of a production-mode manage.py run against one of them."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def server_conninfo(dbname: str) -> str:
    db = settings.DATABASES["default"]
    parts = {
        "dbname": dbname,
        "host": db.get("HOST") or None,
        "port": str(db.get("PORT") or "") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in parts.items() if v})


def database_url(dbname: str) -> str:
    db = settings.DATABASES["default"]
    auth = db.get("USER") or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{dbname}"


@pytest.fixture
def scratch_databases():
    """`make()` -> the name of a new empty database; all dropped afterwards."""
    made: list[str] = []
    base = settings.DATABASES["default"]["NAME"]

    def make() -> str:
        name = f"{base}_ops_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server_conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return name

    yield make
    with psycopg.connect(server_conninfo("postgres"), autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_secrets() -> dict[str, str]:
    return {
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "KEY_FINGERPRINT_PEPPER": secrets.token_urlsafe(32),
    }


def production_env(dbname: str, secret_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    drop = {"PORTAL_TESTING", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "TEST_DATABASE_NAME"}
    return {
        **{k: v for k, v in os.environ.items() if k not in drop},
        "DEBUG": "0",
        "SECRET_KEY": "ops-test-" + "s" * 50,
        "DATABASE_URL": database_url(dbname),
        "DATABASE_POOL": "0",
        # Work queued by a command lands in this folder, never on a shared broker.
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_FILESYSTEM_DIR": str(tmp_path / "broker"),
        **secret_env,
    }


def manage(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and out.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out
