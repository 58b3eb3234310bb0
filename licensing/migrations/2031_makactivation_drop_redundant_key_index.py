"""A MAK activation's key had two indexes: the foreign key's own (key) and mak_activation_key_time
(key, activated_at), whose leading column answers everything the first did. Each activation
wrote both; the first is dropped. Django drops and adds the foreign key around it, which checks
the ledger (one row per MAK activation) once."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "2030_mak_activation_pool"),
    ]

    operations = [
        migrations.AlterField(
            model_name="makactivation",
            name="key",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="activations",
                to="licensing.makkey",
            ),
        ),
    ]
