"""Simulations: request one (validated, queued) and run one (the Celery job's body)."""
import logging
import secrets
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.errors import InvalidInput
from marketplace.models import Item, Project

from . import report as reporting
from .crowd import CrowdSpec
from .engine import Run, clamp_items, sample_items
from .models import Simulation, SimulationStatus
from .selectors import progress_key

logger = logging.getLogger(__name__)

PROGRESS_TTL_SECONDS = 24 * 3600
# A simulation still queued this long after it was asked for lost its job message (a
# broker restart); the periodic sweep runs it.
LOST_JOB_SECONDS = 300


def simulation_request(*, project: Project, actor: User | None, params: dict) -> Simulation:
    """Record a simulation of ``project`` (params already validated by the caller's
    serializer); the job runs it. A project without items has nothing to simulate."""
    if not Item.objects.filter(project=project, is_gold=False).exists():
        raise InvalidInput("The project has no items to simulate; upload some first.",
                           fields={"items": ["The project has no items."]})
    params = dict(params)
    if params.get("seed") is None:
        params["seed"] = secrets.randbelow(2 ** 31)
    return Simulation.objects.create(organization=project.organization, project=project,
                                     requested_by=actor, params=params)


def crowd_spec(params: dict) -> CrowdSpec:
    return CrowdSpec(workers=params["workers"], accuracy_mean=params["accuracy"]["mean"],
                     accuracy_sd=params["accuracy"]["sd"],
                     spammer_share=params["spammer_share"],
                     spammer_kind=params["spammer_kind"],
                     seconds_mean=params["seconds_per_task"]["mean"],
                     seconds_sd=params["seconds_per_task"]["sd"], seed=params["seed"])


def simulate(*, project: Project, params: dict, progress=None) -> tuple[dict, dict]:
    """Run the base settings and the sweep; return (report, detail)."""
    progress = progress or (lambda fraction: None)
    spec = crowd_spec(params)
    items = sample_items(project, clamp_items(params.get("items")), spec.seed)
    variants = reporting.sweep_variants(project) if params.get("sweep", True) else []
    runs = 1 + len(variants)
    outcomes = []
    for number, overrides in enumerate([{}] + variants):
        run = Run(project=project, spec=spec, items=items, overrides=overrides,
                  progress=lambda fraction, n=number: progress((n + fraction) / runs))
        outcomes.append(run.play())
    base, swept = outcomes[0], outcomes[1:]
    report = {**reporting.figures(base),
              "recommendations": reporting.recommendations(project, base, swept)}
    return report, reporting.detail(base, swept)


def simulation_run(*, simulation_id: int) -> Simulation | None:
    """The job: queued -> running -> done | failed. Compare-and-swap on the status, so a
    redelivered job does not run it twice."""
    started = Simulation.objects.filter(pk=simulation_id, status=SimulationStatus.QUEUED) \
        .update(status=SimulationStatus.RUNNING)
    if not started:
        return None
    simulation = Simulation.objects.select_related("project").get(pk=simulation_id)

    def progress(fraction: float) -> None:
        cache.set(progress_key(simulation_id), round(min(fraction, 1.0), 3),
                  PROGRESS_TTL_SECONDS)

    try:
        report, detail = simulate(project=simulation.project, params=simulation.params,
                                  progress=progress)
    except Exception as exc:  # the run is reported failed, never left "running"
        Simulation.objects.filter(pk=simulation_id).update(
            status=SimulationStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:300],
            finished_at=timezone.now())
        raise
    with transaction.atomic():
        Simulation.objects.filter(pk=simulation_id).update(
            status=SimulationStatus.DONE, report=report, detail=detail,
            finished_at=timezone.now())
    cache.delete(progress_key(simulation_id))
    simulation.refresh_from_db()
    return simulation


def simulations_run_queued(*, older_than_seconds: int, limit: int = 1) -> int:
    """Run the oldest queued simulations (at most ``limit``, one run can take minutes);
    the compare-and-swap in simulation_run keeps a concurrent job from running one twice."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    queued = list(Simulation.objects.filter(status=SimulationStatus.QUEUED,
                                            created_at__lte=cutoff)
                  .order_by("created_at").values_list("pk", flat=True)[:limit])
    for simulation_id in queued:
        try:
            simulation_run(simulation_id=simulation_id)
        except Exception:  # recorded as failed by simulation_run; the sweep goes on
            logger.exception("simulation %s failed", simulation_id)
    return len(queued)
