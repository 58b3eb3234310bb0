"""Scratch databases beside the portal's own, on the server DATABASE_URL names: the benchmark's
(`portal_bench`), the screenshots', `make prod-check`'s and the upgrade fixture's. Plain psycopg,
no Django: the tools call these before the database they configure exists."""

from __future__ import annotations

import psycopg


def sibling_url(url: str, name: str) -> str:
    """The URL of database `name` on the server (and with the options) of `url`."""
    head, _, tail = url.rpartition("/")
    _old, sep, query = tail.partition("?")
    return f"{head}/{name}{sep}{query}"


def database_name(url: str) -> str:
    return url.rpartition("/")[2].partition("?")[0]


def ensure_database(url: str, *, fresh: bool = False) -> None:
    """Create the database of `url` if it is missing; `fresh` drops it first."""
    name = database_name(url)
    with psycopg.connect(sibling_url(url, "postgres"), autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    with psycopg.connect(sibling_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')
