"""Stored search documents for message search (issue 14 item 10), PostgreSQL only.

Search used to build a `tsvector` of every readable message on every request (5.5-17 s of
database time at 3,000 messages). Now each message and each thread keeps its document in a
generated column with a GIN index: PostgreSQL computes it on every write, and a search is an
index lookup. The ORM does not manage these columns (channels_app.selectors.StoredDocument reads
them), so SQLite (make run) has none and searches with a plain substring match instead.

Adding a STORED generated column rewrites the table under an exclusive lock: on a large
production table run this migration in a maintenance window.
"""

from django.db import migrations

# 'indonesian' as channels_app.selectors.SEARCH_CONFIG; a two-argument to_tsvector with a
# regconfig constant is immutable, which a generated column requires.
FORWARD = [
    """ALTER TABLE channels_app_message ADD COLUMN search_document tsvector
       GENERATED ALWAYS AS (setweight(to_tsvector('indonesian'::regconfig, body), 'B')) STORED""",
    """CREATE INDEX channels_app_message_search_idx ON channels_app_message
       USING gin (search_document)""",
    """ALTER TABLE channels_app_thread ADD COLUMN search_document tsvector
       GENERATED ALWAYS AS (setweight(to_tsvector('indonesian'::regconfig, title), 'A')) STORED""",
    """CREATE INDEX channels_app_thread_search_idx ON channels_app_thread
       USING gin (search_document)""",
]
BACKWARD = [
    "ALTER TABLE channels_app_thread DROP COLUMN search_document",
    "ALTER TABLE channels_app_message DROP COLUMN search_document",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("channels_app", "0004_notification_ack_kinds"),
    ]

    operations = [migrations.RunPython(forward, backward)]
