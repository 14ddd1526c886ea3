"""State-only: Event moved here from channels_app (issue 15). The table keeps its name
(db_table) and its rows; only Django's record of which app owns the model
changes. The content type is renamed with it, so permissions stay attached."""

from django.db import migrations, models

#: (old app label, new app label, model) of the content types that move.
CONTENT_TYPES = [("channels_app", "realtime", "event")]


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
        ("channels_app", "0005_search_documents"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Event',
                    fields=[
                        ('id', models.BigAutoField(primary_key=True, serialize=False)),
                        ('type', models.CharField(max_length=60)),
                        ('data', models.JSONField(default=dict)),
                        ('groups', models.JSONField(default=list)),
                        ('audience', models.JSONField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('pushed_at', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'channels_app_event',
                        'indexes': [models.Index(condition=models.Q(('pushed_at__isnull', True)), fields=['id'], name='event_unpushed_idx'), models.Index(fields=['pushed_at'], name='event_pushed_at_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_move_content_types, _move_content_types_back),
    ]
