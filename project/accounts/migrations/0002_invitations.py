"""Imported accounts get an invitation instead of a shared initial password.

An account still on a shared initial password (must_change_password) has a password
that everyone in its import batch knows: it becomes unusable, so the account signs in
again only after its owner sets a password through the reset link ("Forgot your
password?") or a new invitation.
"""

from django.contrib.auth.hashers import make_password
from django.db import migrations, models


def retire_shared_passwords(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    User.objects.filter(must_change_password=True).update(
        password=make_password(None), invitation_pending=True)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.AddField(model_name="user", name="invitation_pending",
                            field=models.BooleanField(default=False)),
        migrations.AddField(model_name="user", name="invited_at",
                            field=models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(retire_shared_passwords, migrations.RunPython.noop),
        migrations.RemoveField(model_name="user", name="must_change_password"),
    ]
