"""Make the audit trail append-only in the database itself: UPDATE and DELETE raise.

TRUNCATE stays possible for the table owner only (test teardown flushes with it); the portal's
database role in production should not own the tables.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION licensing_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER licensing_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON licensing_auditevent
    FOR EACH ROW EXECUTE FUNCTION licensing_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS licensing_auditevent_no_update_delete ON licensing_auditevent;
DROP FUNCTION IF EXISTS licensing_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("licensing", "0002_builtin_editions")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
