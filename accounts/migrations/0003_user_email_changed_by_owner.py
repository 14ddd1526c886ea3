from django.db import migrations, models


def flag_addresses_chosen_by_their_owners(apps, schema_editor) -> None:
    """Before this migration any member could make any address primary without verifying it.

    allauth marks an address primary only when its owner does so (or verifies one while having
    none), never for an address synchronised from the user row: so a primary EmailAddress equal
    to the account's e-mail is one its owner chose. Such accounts are flagged, and imports and
    invitations no longer match them by e-mail alone.
    """
    User = apps.get_model("accounts", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    chosen = EmailAddress.objects.filter(
        primary=True, user_id=models.OuterRef("pk"), email=models.OuterRef("email")
    )
    User.objects.filter(models.Exists(chosen)).update(email_changed_by_owner=True)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_audit_invitation_import"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_changed_by_owner",
            field=models.BooleanField(default=False, verbose_name="e-mail diubah pemiliknya"),
        ),
        migrations.RunPython(flag_addresses_chosen_by_their_owners, migrations.RunPython.noop),
    ]
