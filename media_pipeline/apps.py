from django.apps import AppConfig


class MediaPipelineConfig(AppConfig):
    """One app, three packages: jobs/ (the engine), videos/ and members/ (its domains,
    which depend on the engine and never on each other), over the shared adapters
    storage/ and sandbox/ (docs/jobs.md, "Where the code is")."""

    name = "media_pipeline"
    verbose_name = "Media pipeline"

    def ready(self) -> None:
        # The one place that knows every kind: the engine reads them from its registry
        # and so imports no domain.
        from media_pipeline.jobs import autoscaling, periodic, registry
        from media_pipeline.jobs import kinds as engine
        from media_pipeline.jobs.metrics import BacklogCollector, MaintenanceCollector
        from media_pipeline.members import kinds as members
        from media_pipeline.videos import kinds as videos
        from media_pipeline.videos.actions import videos_erase_of_owner
        from project import metrics
        from project.accounts.maintenance import erasers_register

        registry.register(*videos.KINDS, *members.KINDS, *engine.KINDS,
                          periodic=(*periodic.TASKS, *videos.PERIODIC))
        # After the kinds: the backlog publisher runs on every channel they declared.
        registry.register(chores=autoscaling.chores())
        # A purged account's videos leave storage with it (accounts import no app).
        erasers_register(videos_erase_of_owner)
        # Every role serves the backlog and the schedule: the web role's scrape still
        # reports a channel whose workers are all gone.
        metrics.register_collector(BacklogCollector())
        metrics.register_collector(MaintenanceCollector())
