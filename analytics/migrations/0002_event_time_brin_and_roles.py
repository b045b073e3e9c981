from django.db import migrations

from wayline.roles import sync_role_groups


def create_brin(apps, schema_editor):
    # Events are appended in time order, so a BRIN index makes time-range scans cheap on PostgreSQL.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS event_timestamp_brin ON analytics_event USING brin (timestamp)"
        )


def drop_brin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS event_timestamp_brin")


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial"), ("onboarding", "0002_role_groups")]

    operations = [
        migrations.RunPython(create_brin, drop_brin),
        migrations.RunPython(sync_role_groups, migrations.RunPython.noop),
    ]
