"""The hostname in the "C" collation (byte order), so a prefix is an index range.

The list's search (`ClientQuerySet.matching_name`) was `hostname LIKE 'x%' OR upper(fqdn) LIKE
'X%'` over two pattern-ops indexes. Ordered by hostname with a page limit, PostgreSQL often
walked the organisation in hostname order and filtered, assuming matches spread evenly: a prefix
deep in the order ("pc-f" in a 600,000-client organisation) took 1.5 s. In the "C" collation
the (organisation, hostname) index itself serves `LIKE 'x%'` as a range, in the list's order:
under 1 ms for any prefix. Hostnames are lower-case ASCII, so the order users see is unchanged
where the database collation is C.UTF-8.

The two pattern-ops indexes of migration 0101 go (one fewer index to write on every ingest); a
small partial index keeps the FQDN prefix of the clients whose FQDN names another host.

The unique (organisation, hostname) index is rebuilt with `retired_at` (INCLUDE), so the capped
count of a search's live matches reads the index only. Changing the collation rebuilds the
indexes on `hostname` under an exclusive lock: seconds at a million clients (the table is not
rewritten). The column's statistics go with it, hence
the ANALYZE."""

import django.contrib.postgres.indexes
import django.db.models.functions.comparison
import django.db.models.functions.text
from django.db import migrations, models

# Migration 0101's pattern-ops indexes, recreated if this migration is reversed.
PATTERN_INDEXES = {
    "client_org_host_prefix": "(organisation_id, hostname varchar_pattern_ops)",
    "client_org_fqdn_prefix": "(organisation_id, upper(fqdn::text) text_pattern_ops)",
}


class Migration(migrations.Migration):
    dependencies = [("licensing", "2000_client_hostname_statistics")]

    operations = [
        # Rebuilt with `retired_at` (INCLUDE) while the collation changes: a search's capped
        # count of live clients becomes an index-only scan of the hostname range.
        migrations.RemoveConstraint(model_name="client", name="client_hostname_per_org"),
        migrations.AlterField(
            model_name="client",
            name="hostname",
            field=models.CharField(db_collation="C", max_length=253),
        ),
        migrations.AddConstraint(
            model_name="client",
            constraint=models.UniqueConstraint(
                fields=["organisation", "hostname"],
                include=["retired_at"],
                name="client_hostname_per_org",
            ),
        ),
        *(
            migrations.RunSQL(
                f"DROP INDEX IF EXISTS {name}",
                f"CREATE INDEX IF NOT EXISTS {name} ON licensing_client {columns}",
            )
            for name, columns in PATTERN_INDEXES.items()
        ),
        migrations.AddIndex(
            model_name="client",
            index=models.Index(
                models.F("organisation"),
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Upper("fqdn"), name="text_pattern_ops"
                ),
                condition=models.Q(
                    models.Q(("fqdn", ""), _negated=True),
                    models.Q(
                        (
                            "hostname",
                            django.db.models.functions.comparison.Collate(
                                models.Func(
                                    models.F("fqdn"),
                                    models.Value("."),
                                    models.Value(1),
                                    function="split_part",
                                    output_field=models.CharField(),
                                ),
                                "C",
                            ),
                        ),
                        _negated=True,
                    ),
                ),
                name="client_org_fqdn_other_name",
            ),
        ),
        migrations.RunSQL("ANALYZE licensing_client", migrations.RunSQL.noop),
    ]
