"""PostgreSQL triggers that make the transparency log append-only for every client of the
database, not only for this code: UPDATE and DELETE of log entries, checkpoints and
cosignatures are refused. (SQLite, for development, relies on the models' refusal.)

TRUNCATE is deliberately not refused: it needs the table owner's rights (an attacker with those
can drop triggers anyway), and Django's test harness empties tables with it. Witnesses and
tools/verify_log.py catch a truncated log like any other rewrite."""

from django.db import migrations

TABLES = ("announcements_logentry", "announcements_checkpoint",
          "announcements_witnesscosignature")

FORWARD = """
CREATE OR REPLACE FUNCTION announcements_log_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'transparency log table % is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
""" + "".join(f"""
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION announcements_log_refuse_change();
""" for table in TABLES)

BACKWARD = "".join(f"""
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
""" for table in TABLES) + "DROP FUNCTION IF EXISTS announcements_log_refuse_change();"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("announcements", "0003_transparency_log")]

    operations = [migrations.RunPython(forward, backward)]
