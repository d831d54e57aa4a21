from celery import shared_task

from .services import simulation_run


@shared_task(acks_late=True)
def run_simulation(simulation_id: int) -> str | None:
    simulation = simulation_run(simulation_id=simulation_id)
    return simulation.status if simulation else None
