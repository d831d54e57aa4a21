from django.core.cache import cache
from django.http import Http404

from marketplace.models import Organization

from .models import Simulation, SimulationStatus


def progress_key(simulation_id: int) -> str:
    return f"simulation:{simulation_id}:progress"


def simulation_get(*, organization: Organization, simulation_id) -> Simulation:
    """The organization's simulation, or 404 (never a hint that another's exists)."""
    try:
        return Simulation.objects.get(organization=organization, pk=int(simulation_id))
    except (Simulation.DoesNotExist, ValueError, TypeError):
        raise Http404


def simulation_progress(simulation: Simulation) -> float:
    if simulation.status in (SimulationStatus.DONE, SimulationStatus.FAILED):
        return 1.0
    if simulation.status == SimulationStatus.QUEUED:
        return 0.0
    return cache.get(progress_key(simulation.pk), 0.0)
