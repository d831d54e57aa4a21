"""Reads the worker pages need beyond what the API selectors return as they are."""
from marketplace.enums import PayModel
from marketplace.models import Project
from marketplace.selectors import claimable_tasks, routable_projects
from payments.selectors import effective_hourly_cents


def project_cards(*, worker) -> list[dict]:
    """The projects routing would serve this worker a task of now, with what they pay: the
    rate and the effective hourly rate measured so far, from which the minutes per task
    follow."""
    routable = routable_projects(worker=worker)
    with_work = set(claimable_tasks(worker=worker, project_ids=routable.values("pk"))
                    .values_list("project_id", flat=True).distinct())
    projects = routable.filter(pk__in=with_work).order_by("-priority", "id")
    cards = []
    for project in projects:
        effective = effective_hourly_cents(project=project)
        minutes = None
        if project.pay_model == PayModel.PER_TASK and effective and project.reward_cents:
            minutes = max(1, round(project.reward_cents * 60 / effective))
        cards.append({"project": project, "effective_hourly_cents": effective,
                      "estimated_minutes": minutes})
    return cards


def project_names(*, ids) -> dict[int, str]:
    return dict(Project.objects.filter(pk__in=set(ids)).values_list("pk", "name"))
