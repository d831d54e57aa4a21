"""A worker's routable projects, cached between claims.

Every claim needs the projects routing may serve the worker: ``selectors
.routable_projects`` (eligibility from workers.selectors minus quality suspensions: the one
definition, shared with the availability explanation). That answer changes rarely and costs
a query of six anti-joins, so it is kept in the Django cache (Redis in production) as
``[(project id, priority, automation mode)]`` and dropped when anything it depends on
changes.

Guarantee: an entry never outlives a committed change of its inputs
(config/versioned_cache.py). Entries are tagged with two version tokens: the worker's
(bumped on a change of that worker's profile, skills, exam attempts, blocks, quality
suspensions) and the projects' (bumped on a change of any project, its skill or exam
requirements, exams, skills' domains or automation settings: which workers a project
change concerns is not known, so every entry goes). Entries also expire after
ROUTING_CACHE_SECONDS, a bound on a change no signal saw (a queryset ``update()`` or
``bulk_create`` bypasses signals: the services use neither on these rows; keep it so, or
bump here).

The claim re-checks the project's status and the task's slot in its own statement, so a
stale entry could at worst offer a project the worker stopped qualifying for during the
bound above, never a task that is not open.
"""
from django.conf import settings
from django.db.models.signals import post_delete, post_save

from config.versioned_cache import bump_now_and_after_commit, cached

from workers.models import WorkerProfile

from .selectors import routable_projects

ENTRY_VERSION = 2  # bump when the entry's shape changes: old entries are then ignored


def _projects_key() -> str:
    # The confidentiality terms version is a setting, read by eligibility: a deploy that
    # changes it must not be served entries computed under the old terms.
    return f"routing:v:projects:{settings.CONFIDENTIALITY_TERMS_VERSION}"


def _worker_key(worker_id: int) -> str:
    return f"routing:v:worker:{worker_id}"


def _entry_key(worker_id: int) -> str:
    return f"routing:e{ENTRY_VERSION}:{worker_id}"


def cache_keys(worker_id: int) -> list[str]:
    """The keys ``routable_project_list`` reads, for a request to fetch ahead."""
    return [_projects_key(), _worker_key(worker_id), _entry_key(worker_id)]


def routable_project_list(*, worker: WorkerProfile) -> list[tuple[int, int, str]]:
    """``[(project id, priority, automation mode)]`` routing may serve this worker,
    highest priority first: from the cache, or computed and cached."""
    def compute() -> list[tuple[int, int, str]]:
        # Read the worker afresh: the caller's copy was loaded when the request began,
        # before the tokens were read, and eligibility reads its status and clearance in
        # Python.
        fresh = WorkerProfile.objects.get(pk=worker.pk)
        return [(pk, priority, mode or "off") for pk, priority, mode in
                routable_projects(worker=fresh)
                .order_by("-priority", "pk")
                .values_list("pk", "priority", "automation_settings__mode")]

    *tokens, entry = cache_keys(worker.pk)
    projects = cached(tokens=tokens, entry=entry, compute=compute,
                      timeout=settings.ROUTING_CACHE_SECONDS)
    return [tuple(row) for row in projects]


# --- invalidation ----------------------------------------------------------------------------

def projects_changed(**_kwargs) -> None:
    bump_now_and_after_commit(_projects_key())


def worker_changed(*, worker_id: int) -> None:
    bump_now_and_after_commit(_worker_key(worker_id))


def _worker_row_changed(sender, instance, **_kwargs) -> None:
    worker_changed(worker_id=instance.pk if sender is WorkerProfile else instance.worker_id)


# What eligibility (workers.selectors.eligible_projects), suspensions (qa.selectors) and
# the automation mode read. Lazy "app.Model" senders: no import of those apps' models here.
WORKER_SIDE = ("workers.WorkerProfile", "workers.WorkerSkill", "workers.ExamAttempt",
               "workers.WorkerBlock", "qa.QualityAction")
PROJECT_SIDE = ("marketplace.Project", "marketplace.ProjectSkillRequirement",
                "workers.ProjectExamRequirement", "workers.QualificationExam",
                "workers.Skill", "automation.AutomationSettings")


def connect_signals() -> None:
    """Called once from MarketplaceConfig.ready()."""
    for name, signal in (("save", post_save), ("delete", post_delete)):
        for sender in WORKER_SIDE:
            signal.connect(_worker_row_changed, sender=sender,
                           dispatch_uid=f"routing_cache:{name}:{sender}")
        for sender in PROJECT_SIDE:
            signal.connect(projects_changed, sender=sender,
                           dispatch_uid=f"routing_cache:{name}:{sender}")
