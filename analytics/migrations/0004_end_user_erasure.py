import django.db.models.deletion
from django.db import migrations, models

from wayline.roles import sync_role_groups


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0003_report_rollups'),
        ('onboarding', '0002_role_groups'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='enduser',
            options={'permissions': [('erase_enduser', 'Can erase an end user and all their data'), ('export_enduser', "Can export all of an end user's data")]},
        ),
        migrations.CreateModel(
            name='EndUserErasure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('end_user_pk', models.BigIntegerField()),
                ('requested_by', models.CharField(help_text='The staff user or the key that asked.', max_length=200)),
                ('via', models.CharField(choices=[('admin', 'Admin'), ('api', 'Server API'), ('command', 'Command or code')], max_length=10)),
                ('rows_deleted', models.JSONField(default=dict, help_text="Rows deleted per table, the user's own row included.")),
                ('total_rows', models.PositiveIntegerField(default=0)),
                ('erased_at', models.DateTimeField()),
                ('application', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='erasures', to='onboarding.application')),
            ],
            options={
                'ordering': ['-erased_at'],
                'indexes': [models.Index(fields=['application', 'erased_at'], name='erasure_app_time')],
            },
        ),
        # Editors get the erase/export permissions and the audit model; viewers may only read it.
        migrations.RunPython(sync_role_groups, migrations.RunPython.noop),
    ]
