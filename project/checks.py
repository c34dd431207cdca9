"""System checks: management commands (migrate, createsuperuser, ...) in production
refuse to run without the names every role needs, instead of falling back to SQLite.

Daphne and the worker run no system checks; they check their role in project.roles.
"""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.database)
def production_configuration(app_configs, **kwargs):
    missing = settings.MOA_CONFIG.missing_for_every_role()
    if not missing:
        return []
    return [checks.Error(
        f"MOA_ENV=production but {', '.join(missing)} not set",
        hint="See docs/configuration.md; `manage.py doctor` lists what each role needs.",
        id="moa.E001",
    )]
