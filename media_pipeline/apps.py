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
        from media_pipeline.jobs import autoscaling, registry
        from media_pipeline.jobs import kinds as engine
        from media_pipeline.jobs.metrics import BacklogCollector
        from media_pipeline.members import kinds as members
        from media_pipeline.videos import kinds as videos
        from project import metrics

        registry.register(*videos.KINDS, *members.KINDS, *engine.KINDS, chores=videos.CHORES)
        # After the kinds: the backlog publisher runs on every channel they declared.
        registry.register(chores=autoscaling.chores())
        # Every role serves the backlog: the web role's scrape still reports a channel
        # whose workers are all gone.
        metrics.register_collector(BacklogCollector())
