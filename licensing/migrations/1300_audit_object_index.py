"""An index for one object's history in the audit log, built CONCURRENTLY so a large audit
table keeps taking entries while it is built."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("licensing", "1902_licence_position_excludes_retired")]

    operations = [
        AddIndexConcurrently(
            model_name="auditevent",
            index=models.Index(
                fields=["object_type", "object_id", "-at"], name="audit_object_time"
            ),
        ),
    ]
