"""State-only: Notification moved here from channels_app (issue 15). The table keeps its name
(db_table) and its rows; only Django's record of which app owns the model
changes. The content type is renamed with it, so permissions stay attached."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

#: (old app label, new app label, model) of the content types that move.
CONTENT_TYPES = [("channels_app", "notifications", "notification")]


def _move_content_types(apps, schema_editor, backwards=False):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for old, new, model in CONTENT_TYPES:
        if backwards:
            old, new = new, old
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(
                app_label=new
            )


def _move_content_types_back(apps, schema_editor):
    _move_content_types(apps, schema_editor, backwards=True)


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("channels_app", "0005_search_documents"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Notification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('mention', 'Disebut dalam pesan'), ('ack_reminder', 'Pengingat konfirmasi'), ('ack_escalation', 'Eskalasi konfirmasi')], max_length=30)),
                        ('text', models.CharField(max_length=300)),
                        ('url', models.CharField(blank=True, max_length=300)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('read_at', models.DateTimeField(blank=True, null=True)),
                        ('message', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='channels_app.message')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'notifikasi',
                        'verbose_name_plural': 'notifikasi',
                        'db_table': 'channels_app_notification',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(fields=['user', 'read_at'], name='channels_ap_user_id_46526e_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_move_content_types, _move_content_types_back),
    ]
