"""Indexes for the fleet browser's search and dashboard (raw SQL: operator classes and a partial
expression index; the model state is unchanged, so no other area's model file is touched).

- Hostname/FQDN prefix search: the database collation (C.UTF-8 on Debian) is not "C", so a
  plain btree cannot serve `LIKE 'abc%'`; pattern operator classes can. Without them a search in
  a 600k-client organisation reads the whole organisation.
- Newest flagged clients on the dashboard: a partial index on (organisation, flag_changed_at)
  over flagged rows only, instead of sorting every flagged client of the organisation.
"""

from django.db import migrations

INDEXES = [
    (
        "client_org_host_prefix",
        "ON licensing_client (organisation_id, hostname varchar_pattern_ops)",
    ),
    (
        "client_org_fqdn_prefix",
        "ON licensing_client (organisation_id, upper(fqdn::text) text_pattern_ops)",
    ),
    (
        "client_org_newest_flagged",
        "ON licensing_client (organisation_id, flag_changed_at DESC NULLS LAST, id DESC) "
        "WHERE compliance_flag <> 'ok'",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0100_fleet_client_counts"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} {definition}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, definition in INDEXES
    ] + [
        # The planner needs statistics on the upper(fqdn) expression to pick the prefix index
        # over an ordered scan of the whole organisation.
        migrations.RunSQL(sql="ANALYZE licensing_client", reverse_sql=migrations.RunSQL.noop),
    ]
