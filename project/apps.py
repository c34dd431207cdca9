import logging

from django.apps import AppConfig
from django.conf import settings


class ProjectConfig(AppConfig):
    """Moa's wiring: health, operator commands and the config warnings at start-up."""

    name = "project"
    label = "moa"

    def ready(self) -> None:
        # Imported for what they register: the system checks, the bearer-token scheme,
        # the `__in_array` lookup.
        from project import array_lookup, checks, openapi  # noqa: F401

        log = logging.getLogger("moa.config")
        for warning in settings.MOA_CONFIG.warnings:
            log.warning(warning)
