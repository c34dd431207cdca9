"""Remove abandoned video uploads and abort orphaned multipart uploads (workers do
it hourly; media_pipeline/videos/upload_sweep.py says what and why)."""

from django.core.management.base import BaseCommand, CommandError

from media_pipeline.videos.upload_sweep import uploads_sweep


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="list what would be removed without removing it")

    def handle(self, *args, dry_run: bool, **options):
        report = uploads_sweep(dry_run=dry_run)
        for video in report.videos:
            self.stdout.write(f"video\t{video.id}\t{video.owner_id}\t"
                              f"{video.created_at:%Y-%m-%d %H:%M}\t{video.title}")
        for key, upload_id in report.orphans:
            self.stdout.write(f"multipart\t{key}\t{upload_id}")
        self.stdout.write(report.summary(dry_run))
        if report.failed:
            raise CommandError("storage refused: " + "; ".join(report.failed))
