import logging

from django.apps import AppConfig
from django.conf import settings


class ProjectConfig(AppConfig):
    """Moa's wiring: health, operator commands and the config warnings at start-up."""

    name = "project"
    label = "moa"

    def ready(self) -> None:
        from project import checks  # noqa: F401  (registers the system checks)

        log = logging.getLogger("moa.config")
        for warning in settings.MOA_CONFIG.warnings:
            log.warning(warning)
