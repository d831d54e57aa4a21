"""Run the Celery beat schedule in this process: the zero-setup stand-in for beat.

Only interval schedules (seconds) are supported, which is all the project uses. Each job
is idempotent, so running one late or twice is harmless.
"""
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from config.celery import app


class Command(BaseCommand):
    help = "Run the periodic jobs of CELERY_BEAT_SCHEDULE in-process (no broker needed)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every job once and exit")

    def handle(self, *args, once: bool = False, **options):
        app.loader.import_default_modules()  # registers every app's tasks.py
        schedule = settings.CELERY_BEAT_SCHEDULE
        next_run = {name: 0.0 for name in schedule}
        self.stdout.write(f"Running {len(schedule)} periodic jobs in-process")
        while True:
            now = time.monotonic()
            for name, entry in schedule.items():
                if now < next_run[name]:
                    continue
                task = app.tasks[entry["task"]]
                try:
                    task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}),
                               throw=True)
                except Exception as exc:  # one failing job must not stop the others
                    self.stderr.write(f"{name} failed: {exc!r}")
                next_run[name] = now + float(entry["schedule"])
            if once:
                return
            time.sleep(max(0.5, min(next_run.values()) - time.monotonic()))
