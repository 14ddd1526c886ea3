"""State-only (issue 15): Event moved to realtime, Notification moved to notifications.
Their tables stay where they are (db_table): nothing happens in the database."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0005_search_documents"),
        ("notifications", "0001_initial"),
        ("realtime", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='Event',
                ),
                migrations.DeleteModel(
                    name='Notification',
                ),
            ],
            database_operations=[],
        ),
    ]
