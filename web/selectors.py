"""Reads the worker pages need beyond what the API selectors return as they are."""
from marketplace.enums import PayModel
from marketplace.models import Project
from marketplace.selectors import routable_projects
from payments.selectors import effective_hourly_cents


def project_cards(*, worker) -> list[dict]:
    """The projects routing would serve this worker now, with what they pay: the rate and
    the effective hourly rate measured so far, from which the minutes per task follow."""
    projects = (routable_projects(worker=worker).select_related("domain")
                .order_by("-priority", "id"))
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
