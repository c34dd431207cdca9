"""Every API token expires: those created without an expiry get API_TOKEN_DAYS from
now (from the deploy, not from their creation, so no script breaks on the day)."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def give_expiry(apps, schema_editor):
    ApiToken = apps.get_model("accounts", "ApiToken")
    ApiToken.objects.filter(expires_at__isnull=True).update(
        expires_at=timezone.now() + timedelta(days=settings.API_TOKEN_DAYS))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_invitations")]

    operations = [
        migrations.RunPython(give_expiry, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken", name="expires_at",
            field=models.DateTimeField(help_text="every token expires (API_TOKEN_DAYS by "
                                                 "default)")),
    ]
