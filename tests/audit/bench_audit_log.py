"""Bench (not part of the suite; run it by name):

    .venv/bin/python -m pytest -q -s tests/audit/bench_audit_log.py

Fills the audit table with 1,000,000 entries over 3 organisations and 80 action names (plus
sign-in entries of no organisation), then times the action picker's query, the first page of an
organisation's log (with and without an action), and one object's history, reading the planner's
`Execution Time` from EXPLAIN ANALYZE. Prints figures; asserts nothing about time."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from licensing.models import AuditEvent
from licensing.services import audit
from tests import factories

pytestmark = pytest.mark.django_db

ROWS = 1_000_000


def _ms(sql: str, params: list) -> float:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT TEXT) {sql}", params)
        plan = "\n".join(r[0] for r in cursor.fetchall())
    return float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1))


def test_bench(org, other_org, admin_user):
    third = factories.OrganisationFactory(slug="third")
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (at, organisation_id, actor_id, actor_label, action,
                object_type, object_id, object_repr, changes, ip_address)
            SELECT now() - (g || ' seconds')::interval,
                   CASE WHEN g %% 10 = 0 THEN NULL ELSE (ARRAY[%s,%s,%s])[1 + g %% 3] END,
                   CASE WHEN g %% 10 = 0 THEN %s ELSE NULL END, 'bench',
                   CASE WHEN g %% 10 = 0 THEN 'auth.signed_in'
                        ELSE 'area' || (g %% 8) || '.action' || (g %% 10) END,
                   'kmshost', (g %% 5000)::text, 'host', '{{}}'::jsonb, NULL
            FROM generate_series(1, %s) g""",
            [org.pk, other_org.pk, third.pk, admin_user.pk, ROWS],
        )
        cursor.execute(
            f"""INSERT INTO {table} (at, organisation_id, actor_label, action, object_type,
                object_id, object_repr, changes)
            SELECT now() - interval '300 days' - (g || ' minutes')::interval, %s, 'bench',
                   'rare.thing', '', '', '', '{{}}'::jsonb
            FROM generate_series(1, 20) g""",
            [org.pk],
        )
        cursor.execute(f"ANALYZE {table}")
    sql, params = (
        audit.visible_to_organisation(org).order_by("-at", "-id")[:51].query.sql_with_params()
    )
    names_sql = (
        "WITH RECURSIVE names(action) AS ((SELECT action FROM licensing_auditevent ORDER BY "
        "action LIMIT 1) UNION ALL SELECT (SELECT a.action FROM licensing_auditevent a WHERE "
        "a.action > names.action ORDER BY a.action LIMIT 1) FROM names WHERE names.action IS "
        "NOT NULL) SELECT action FROM names WHERE action IS NOT NULL"
    )
    picked = (
        audit.visible_to_organisation(org)
        .filter(action__startswith="area3.")
        .order_by("-at", "-id")[:51]
        .query.sql_with_params()
    )
    rare = (
        audit.visible_to_organisation(org)
        .filter(action__startswith="rare.")
        .order_by("-at", "-id")[:51]
        .query.sql_with_params()
    )
    history = (
        audit.visible_to_organisation(org)
        .filter(object_type="kmshost", object_id="42")
        .order_by("-at", "-id")[:51]
        .query.sql_with_params()
    )
    distinct = f"SELECT DISTINCT action FROM {table} WHERE organisation_id = %s"
    print()
    print(f"rows: {AuditEvent.objects.count():,}; actions: {len(audit.known_actions())}")
    print(f"action picker (loose index scan): {_ms(names_sql, []):.1f} ms")
    print(f"plain DISTINCT of one organisation: {_ms(distinct, [org.pk]):.1f} ms")
    print(f"first page, no filter: {_ms(*[sql, params]):.1f} ms")
    print(f"first page, action area3.: {_ms(*picked):.1f} ms")
    print(f"first page, a rare action (20 entries): {_ms(*rare):.1f} ms")
    print(f"one object's history: {_ms(*history):.1f} ms")
