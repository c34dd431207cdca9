"""Delete the uploaded originals of videos READY for more than --days; HLS stays."""

from django.core.management.base import BaseCommand, CommandError

from media_pipeline.storage import StorageError
from media_pipeline.videos.actions import videos_purge_originals


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True)
        parser.add_argument("--dry-run", action="store_true",
                            help="list the originals without deleting them")

    def handle(self, *args, days: int, dry_run: bool, **options):
        if days < 1:
            raise CommandError("--days must be at least 1")
        try:
            videos = videos_purge_originals(older_than_days=days, dry_run=dry_run)
        except StorageError as error:  # what was deleted before it stays recorded
            raise CommandError(f"stopped: {error}") from error
        for video in videos:
            self.stdout.write(f"{video.id}\t{video.size}\tready {video.ready_at:%Y-%m-%d}\t"
                              f"{video.title}")
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {len(videos)} original(s) of videos ready over {days} days")
