"""The two admin roles: editors configure and publish, viewers read everything and change nothing.

Called from data migrations (with the historical app registry) whenever an app adds models,
so the groups always cover every Wayline model; also callable with the live registry
(``django.apps.apps``), e.g. after a test flushed the tables.
"""
from django.contrib.auth.management import create_permissions

EDITORS = "Wayline editors"
VIEWERS = "Wayline viewers"
WAYLINE_APPS = ("onboarding", "analytics", "experiments")


def sync_role_groups(apps, schema_editor=None) -> None:
    for app_config in apps.get_app_configs():
        # Historical app configs have no models module; create_permissions skips those.
        previous = getattr(app_config, "models_module", None)
        app_config.models_module = previous or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = previous
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wayline = Permission.objects.filter(content_type__app_label__in=WAYLINE_APPS)
    editors, _ = Group.objects.get_or_create(name=EDITORS)
    viewers, _ = Group.objects.get_or_create(name=VIEWERS)
    editors.permissions.add(*wayline)
    viewers.permissions.add(*wayline.filter(codename__startswith="view_"))
