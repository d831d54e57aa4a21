import os
import sys

from celery import Celery
from celery.signals import worker_init
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def announce_eager_mode() -> None:
    """Say aloud that jobs run inline, so nobody mistakes it for a working broker."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        print(
            "Quorum: no CELERY_BROKER_URL configured - Celery tasks run eagerly "
            "(inline, in the web process).",
            file=sys.stderr,
        )


def enqueue_long_job(task, *args) -> None:
    """Queue a job that can run for minutes (a simulation). With a broker it goes to the
    workers; without one, eager mode would run it inside the request that asked for it,
    so it is left queued for the in-process periodic runner (``run_periodic_jobs``),
    whose sweep of queued jobs picks it up."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        task.delay(*args)


@worker_init.connect
def refuse_eager_worker(**_kwargs) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        raise RuntimeError("A Celery worker needs CELERY_BROKER_URL; none is configured.")
