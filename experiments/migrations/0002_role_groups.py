from django.db import migrations

from wayline.roles import sync_role_groups


class Migration(migrations.Migration):
    """Editors and viewers cover the experiment models (and ``run_experiment``) too."""

    dependencies = [("experiments", "0001_initial")]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
