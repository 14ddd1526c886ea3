# Hand-written (not makemigrations) so that it holds only the Event change, while the channel,
# thread and message models of another issue are being written in the same models.py.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("channels_app", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["pushed_at"], name="event_pushed_at_idx"),
        ),
    ]
