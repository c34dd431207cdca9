"""Live usernames and emails unique as sign-in compares them (Upper(), like iexact on
PostgreSQL), not Lower(): a long s or a dotless i could make a second account that
sign-in confuses with the first, and then neither could sign in. A database holding
such a pair refuses this migration: find it with `manage.py
check_deleted_user_duplicates`, rename or delete one, and migrate again."""

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_tokens_expire'),
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='user',
            name='accounts_user_username_live_uniq',
        ),
        migrations.RemoveConstraint(
            model_name='user',
            name='accounts_user_email_live_uniq',
        ),
        migrations.AddConstraint(
            model_name='user',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Upper('username'), condition=models.Q(('is_deleted', False)), name='accounts_user_username_live_uniq', violation_error_message='A user with that username already exists.'),
        ),
        migrations.AddConstraint(
            model_name='user',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Upper('email'), condition=models.Q(('is_deleted', False), models.Q(('email', ''), _negated=True)), name='accounts_user_email_live_uniq', violation_error_message='A user with that email already exists.'),
        ),
    ]
