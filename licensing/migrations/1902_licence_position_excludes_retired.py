"""The licence position counts only clients that are not retired (retired_at arrived in 1201)."""

from django.db import migrations

from licensing.services.licences.position_sql import view_sql


class Migration(migrations.Migration):
    dependencies = [("licensing", "1900_merge_session4")]

    operations = [
        migrations.RunSQL(view_sql("AND c.retired_at IS NULL"), view_sql("")),
    ]
