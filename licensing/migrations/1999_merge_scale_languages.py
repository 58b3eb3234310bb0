from django.db import migrations


class Migration(migrations.Migration):
    """Joins the leaves of the scale work (issue 14) and the languages (issue 15)."""

    dependencies = [
        ("licensing", "1910_client_list_live_count"),
        ("licensing", "1950_languages"),
    ]

    operations = []
