from celery import shared_task
from django.conf import settings

from .services import LOST_JOB_SECONDS, simulation_run, simulations_run_queued


@shared_task(acks_late=True)
def run_simulation(simulation_id: int) -> str | None:
    simulation = simulation_run(simulation_id=simulation_id)
    return simulation.status if simulation else None


@shared_task
def run_queued_simulations() -> int:
    """Periodic: without a broker, every queued simulation is run here (never inside a
    request); with one, only those whose message was lost."""
    older_than = 0 if settings.CELERY_TASK_ALWAYS_EAGER else LOST_JOB_SECONDS
    return simulations_run_queued(older_than_seconds=older_than)
