"""PostgreSQL triggers that refuse UPDATE and DELETE of signed records.

The model's save() already refuses; the trigger makes the rule hold for every path, including raw
SQL and other programs using the database. SQLite (development) relies on the model check only.
"""

from django.db import migrations

FORWARD = """
-- A version is signed once its state is 'published'; before that it is a draft being edited.
CREATE OR REPLACE FUNCTION announcements_refuse_published_change() RETURNS trigger AS $$
BEGIN
    IF OLD.state = 'published' THEN
        RAISE EXCEPTION 'published announcement version % is immutable', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- A withdrawal is written signed in one INSERT and never changes.
CREATE OR REPLACE FUNCTION announcements_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'signed record %.% is immutable', TG_TABLE_NAME, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER announcementversion_immutable
    BEFORE UPDATE OR DELETE ON announcements_announcementversion
    FOR EACH ROW EXECUTE FUNCTION announcements_refuse_published_change();

CREATE TRIGGER withdrawal_immutable
    BEFORE UPDATE OR DELETE ON announcements_withdrawal
    FOR EACH ROW EXECUTE FUNCTION announcements_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS announcementversion_immutable ON announcements_announcementversion;
DROP TRIGGER IF EXISTS withdrawal_immutable ON announcements_withdrawal;
DROP FUNCTION IF EXISTS announcements_refuse_published_change();
DROP FUNCTION IF EXISTS announcements_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("announcements", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
