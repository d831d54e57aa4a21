"""One simulated run of a project's settings on a simulated crowd, through the real flows.

Inside the sandbox (sandbox.py) it builds an isolated copy of the project (a sandbox
organization funded by a sandbox credit, the project's settings with the run's overrides,
a sample of its items, all its gold, its quality settings), registers simulated workers
qualified for it, launches it, and then plays the crowd event by event on a simulated
clock: claim (marketplace.services.assignment_claim) -> heartbeats -> submit
(flows.work.submit) -> grading and aggregation (flows.results, which production runs in the
Celery job enqueued after commit; the sandbox never commits, so they are called here in
the same order) -> auto-approval (flows.decisions.auto_approve_due) once its time comes.
Everything measured is read back before the sandbox rolls back; only numbers leave it.
"""
import heapq
import math
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings

from accounts.enums import Role
from accounts.models import User
from config.errors import Conflict
from flows import decisions, projects as projects_flow, results as results_flow, work
from marketplace import task_types
from marketplace.enums import ProjectStatus
from marketplace.models import Answer, Assignment, Item, Project, Task
from marketplace.services import (
    assignment_claim,
    assignment_heartbeat,
    items_import,
    organization_create,
    project_create,
)
from marketplace.uploads import UploadRow
from payments import selectors as payment_selectors
from payments.services import organization_credit
from qa.models import QualitySettings
from qa.selectors import live_suspensions, quality_settings_for
from qa.services import gold_judge
from workers.enums import SkillSource, WorkerStatus
from workers.models import Skill
from workers.services import (
    worker_clearance_grant,
    worker_profile_create,
    worker_skill_set,
    worker_status_set,
    worker_terms_accept,
)

from . import crowd
from .sandbox import SimulatedClock, sandbox, wall_clock

# The sandbox holds its locks (among them the shared platform-fee and funding ledger
# accounts) until it ends: a run is kept to a sample of at most this many items.
MAX_ITEMS = 1000
# Enough for any launch estimate: the sandbox's money is created by a sandbox credit and
# vanishes with it; the project's own budget_cents still applies.
SANDBOX_CREDIT_CENTS = 10 ** 12
HEARTBEAT_SECONDS = 55
IDLE_RETRY = timedelta(minutes=10)
# A run stops when nothing happened for this long (every worker idle or suspended) or
# when the simulated time runs out.
MAX_IDLE = timedelta(hours=6)
MAX_SIMULATED = timedelta(days=60)
COPIED_FIELDS = ["instructions", "task_type", "label_config", "sensitivity", "pay_model",
                 "reward_cents", "hourly_rate_cents", "max_seconds_per_assignment",
                 "items_per_task", "gold_per_task", "overlap", "max_overlap",
                 "confidence_target", "min_gold_accuracy", "assignment_duration_seconds",
                 "auto_approve_seconds", "budget_cents"]
QUALITY_FIELDS = [f.name for f in QualitySettings._meta.fields
                  if f.name not in ("id", "project")]


@dataclass
class SpammerRecord:
    labels_before_stop: int = 0
    stopped_after_hours: float | None = None
    paid_cents: int = 0


@dataclass
class Outcome:
    overrides: dict
    cost_cents: int = 0
    hours_to_finish: float | None = None
    items_total: int = 0
    items_final: int = 0
    correct: int = 0
    base_labels: int = 0
    extra_labels: int = 0
    effective_hourly_cents: int | None = None
    spammers: list = field(default_factory=list)
    submissions: int = 0
    expired: int = 0

    @property
    def spammer_labels_before_stop(self) -> int:
        return sum(s.labels_before_stop for s in self.spammers)

    @property
    def spammer_paid_cents(self) -> int:
        return sum(s.paid_cents for s in self.spammers)

    def mean_labels_to_stop(self) -> float | None:
        stopped = [s.labels_before_stop for s in self.spammers if s.stopped_after_hours is not None]
        return sum(stopped) / len(stopped) if stopped else None


def sample_items(project: Project, count: int | None, seed: int) -> list[Item]:
    """``count`` of the project's (non-gold) items, drawn by the seed, in import order."""
    items = list(Item.objects.filter(project=project, is_gold=False).order_by("pk"))
    if count is None or count >= len(items):
        return items
    picked = sorted(crowd.rng_for(seed, "sample").choice(len(items), size=count,
                                                         replace=False).tolist())
    return [items[i] for i in picked]


def _project_fields(project: Project, overrides: dict) -> dict:
    fields = {name: getattr(project, name) for name in COPIED_FIELDS}
    fields["name"] = f"Simulation of {project.name}"[:200]
    fields["required_skills"] = [
        {"skill": r.skill.slug, "min_level": r.min_level}
        for r in project.skill_requirements.select_related("skill")]
    fields["domain"] = project.domain.slug if project.domain_id else None
    fields.update(overrides)
    if fields["max_overlap"] < fields["overlap"]:
        fields["max_overlap"] = fields["overlap"]
    return {k: v for k, v in fields.items() if v is not None}


class Run:
    def __init__(self, *, project: Project, spec: crowd.CrowdSpec, items: list[Item],
                 overrides: dict, progress=None):
        self.source = project
        self.spec = spec
        self.items = items
        self.overrides = overrides
        self.progress = progress or (lambda fraction: None)
        self.crowd = crowd.draw_crowd(spec)
        self.truth: dict[str, object] = {}

    # --- the sandbox copy ---------------------------------------------------------------

    def _build(self, tag: str):
        requester = User.objects.create_user(
            email=f"requester-{tag}@simulation.invalid", password=None, role=Role.REQUESTER)
        organization = organization_create(name=f"Simulation {tag}", owner=requester)
        organization_credit(organization=organization, actor=None,
                            amount_cents=SANDBOX_CREDIT_CENTS, reason="Simulation sandbox",
                            key=f"simulation:{tag}")
        copy = project_create(organization=organization, actor=requester,
                              fields=_project_fields(self.source, self.overrides))
        quality = quality_settings_for(project=self.source)
        QualitySettings.objects.create(project=copy, **{
            name: getattr(quality, name) for name in QUALITY_FIELDS})
        rows = [UploadRow(row=i + 1, external_id=item.external_id or f"item-{item.pk}",
                          data=item.data, answer=None, has_answer=False)
                for i, item in enumerate(self.items)]
        items_import(project=copy, actor=requester, rows=rows, is_gold=False)
        gold = list(Item.objects.filter(project=self.source, is_gold=True).order_by("pk"))
        if gold:
            items_import(project=copy, actor=requester, is_gold=True, rows=[
                UploadRow(row=i + 1, external_id=item.external_id or f"gold-{item.pk}",
                          data=item.data, answer=item.gold_answer, has_answer=True)
                for i, item in enumerate(gold)])
        # Truth: the gold answer where the project has one, the generating truth otherwise.
        for item in Item.objects.filter(project=copy):
            self.truth[item.external_id] = item.gold_answer if item.is_gold else \
                crowd.truth_for(copy.task_type, copy.label_config, item.data,
                                seed=self.spec.seed, item_key=item.external_id)
        projects_flow.launch(project=copy, actor=requester)
        copy.refresh_from_db()
        return requester, copy

    def _workers(self, tag: str, project: Project, actor: User) -> list:
        skills = [(r.skill, r.min_level) for r in project.skill_requirements.select_related("skill")]
        if project.domain_id and not any(s.domain_id == project.domain_id for s, _ in skills):
            skills.append((Skill.objects.filter(domain_id=project.domain_id).first(), 0))
        profiles = []
        for worker in self.crowd:
            user = User.objects.create_user(email=f"worker-{worker.index}-{tag}@simulation.invalid",
                                            password=None, role=Role.WORKER)
            profile = worker_profile_create(user=user)
            for skill, _minimum in skills:
                if skill is not None:
                    worker_skill_set(worker=profile, skill=skill, level=100,
                                     source=SkillSource.ADMIN)
            if project.sensitivity != "public":
                worker_clearance_grant(worker=profile, actor=actor,
                                       clearance=project.sensitivity, reason="Simulation")
            worker_terms_accept(worker=profile, version=settings.CONFIDENTIALITY_TERMS_VERSION)
            profiles.append(worker_status_set(worker=profile, status=WorkerStatus.ACTIVE))
        return profiles

    # --- the crowd at work --------------------------------------------------------------

    def _answers(self, worker, assignment, project) -> tuple[list, int]:
        served = list(Answer.objects.filter(assignment=assignment).select_related("item")
                      .order_by("position"))
        answers = []
        for slot in served:
            key = slot.item.external_id
            answers.append({"item_id": slot.pk, "value": crowd.answer(
                worker, seed=self.spec.seed, spammer_kind=self.spec.spammer_kind,
                task_type=project.task_type, config=project.label_config,
                data=slot.item.data, truth=self.truth[key], item_key=key)})
        return answers, sum(1 for slot in served if not slot.is_gold)

    def play(self) -> Outcome:
        self.outcome = Outcome(overrides=self.overrides)
        tag = secrets.token_hex(6)
        self.start = wall_clock().replace(microsecond=0)
        self.clock = SimulatedClock(self.start)
        with sandbox(), self.clock.installed(self.spec.seed):
            requester, self.project = self._build(tag)
            self.profiles = self._workers(tag, self.project, requester)
            self.records = {w.index: SpammerRecord() for w in self.crowd if w.spammer}
            self.queue = []  # (time, sequence, worker index, action, assignment id, due)
            self.sequence = 0
            self.claims = {w.index: 0 for w in self.crowd}
            self.stopped: set[int] = set()
            self.last_activity = self.start
            self.finished_at = None
            for worker in self.crowd:
                # Workers arrive over the first quarter hour, at times fixed by the seed.
                offset = int(crowd.rng_for(self.spec.seed, "arrival", worker.index).integers(900))
                self._schedule(self.start + timedelta(seconds=offset), worker.index, "claim")
            self._work()
            # Work nobody reviewed is approved once its time has come.
            self.clock.set(self.clock.now + timedelta(
                seconds=self.project.auto_approve_seconds + 1))
            decisions.auto_approve_due(now=self.clock.now)
            if self.finished_at is not None and task_types.is_categorical(self.project.task_type):
                # Production enqueues this after the completing commit; the sandbox never
                # commits, so it runs here.
                results_flow.refine_project(project_id=self.project.pk)
            self._measure()
        return self.outcome

    def _schedule(self, moment, index, action, assignment_id=None, due=None) -> None:
        self.sequence += 1
        heapq.heappush(self.queue, (moment, self.sequence, index, action, assignment_id, due))

    def _work(self) -> None:
        next_sweep = self.start + timedelta(hours=1)
        handlers = {"claim": self._claim, "heartbeat": self._heartbeat, "submit": self._submit}
        while self.queue:
            moment, _, index, action, assignment_id, due = heapq.heappop(self.queue)
            if moment - self.start > MAX_SIMULATED or moment - self.last_activity > MAX_IDLE:
                return
            self.clock.set(moment)
            if moment >= next_sweep:
                decisions.auto_approve_due(now=moment)
                next_sweep = moment + timedelta(hours=1)
            handlers[action](moment, index, assignment_id, due)

    def _claim(self, moment, index, _assignment_id, _due) -> None:
        if index in self.stopped:
            return
        worker, profile = self.crowd[index], self.profiles[index]
        assignment = assignment_claim(worker=profile, project_id=self.project.pk)
        if assignment is None:
            if live_suspensions(worker=profile).filter(project=self.project).exists():
                self.stopped.add(index)
                if index in self.records:
                    self.records[index].stopped_after_hours = round(
                        (moment - self.start).total_seconds() / 3600, 2)
            elif Project.objects.filter(pk=self.project.pk,
                                        status=ProjectStatus.ACTIVE).exists():
                # Nothing free now; slots reopen as overlap rises or leases expire.
                self._schedule(moment + IDLE_RETRY, index, "claim")
            return
        self.last_activity = moment
        self.claims[index] += 1
        submit_at = moment + timedelta(seconds=worker.seconds_for(self.spec.seed,
                                                                  self.claims[index]))
        self._next_step(moment, index, assignment.pk, submit_at)

    def _next_step(self, moment, index, assignment_id, submit_at) -> None:
        beat = moment + timedelta(seconds=HEARTBEAT_SECONDS)
        if beat < submit_at:
            self._schedule(beat, index, "heartbeat", assignment_id, submit_at)
        else:
            self._schedule(submit_at, index, "submit", assignment_id)

    def _heartbeat(self, moment, index, assignment_id, submit_at) -> None:
        try:
            assignment_heartbeat(assignment_id=assignment_id, worker=self.profiles[index])
        except Conflict:  # the lease ran out before the worker was done
            self.outcome.expired += 1
            self._schedule(moment, index, "claim")
            return
        self._next_step(moment, index, assignment_id, submit_at)

    def _submit(self, moment, index, assignment_id, _due) -> None:
        self.last_activity = moment
        assignment = Assignment.objects.get(pk=assignment_id)
        answers, labels = self._answers(self.crowd[index], assignment, self.project)
        try:
            work.submit(assignment_id=assignment_id, worker=self.profiles[index],
                        answers=answers)
        except Conflict:  # expired
            self.outcome.expired += 1
            self._schedule(moment, index, "claim")
            return
        self.outcome.submissions += 1
        if index in self.records:
            self.records[index].labels_before_stop += labels
        # What the Celery job enqueued after the submit's commit does (flows.results).
        results_flow.grade_submission(assignment_id=assignment_id)
        results_flow.aggregate_task(task_id=assignment.task_id)
        if self.finished_at is None and Project.objects.filter(
                pk=self.project.pk, status=ProjectStatus.COMPLETED).exists():
            self.finished_at = moment
        done = Item.objects.filter(project=self.project, is_gold=False,
                                   finalized_at__isnull=False).count()
        self.progress(done / len(self.items) if self.items else 1.0)
        self._schedule(moment, index, "claim")

    def _measure(self) -> None:
        """Read what the run produced, before the sandbox rolls it back."""
        outcome, project, start, finished_at = (self.outcome, self.project, self.start,
                                                self.finished_at)
        project.refresh_from_db()
        organization = project.organization
        outcome.cost_cents = payment_selectors.organization_balance(
            organization=organization)["spent_cents"]
        outcome.hours_to_finish = round((finished_at - start).total_seconds() / 3600, 2) \
            if finished_at else None
        judge = gold_judge(project=project)
        items = list(Item.objects.filter(project=project, is_gold=False))
        outcome.items_total = len(items)
        for item in items:
            if item.result is None:
                continue
            outcome.items_final += 1
            outcome.correct += bool(judge(item.result, self.truth[item.external_id]))
        tasks = Task.objects.filter(project=project)
        outcome.base_labels = tasks.count() * project.overlap * project.items_per_task
        # Extra labels: the slots dynamic overlap added, times the items of their task.
        outcome.extra_labels = sum(
            (task.overlap - project.overlap) * task.items.count()
            for task in tasks.filter(overlap__gt=project.overlap))
        outcome.effective_hourly_cents = payment_selectors.effective_hourly_cents(project=project)
        for index, record in self.records.items():
            earnings = payment_selectors.worker_earnings(worker=self.profiles[index])
            record.paid_cents = earnings["pending_cents"] + earnings["available_cents"]
        outcome.spammers = [self.records[i] for i in sorted(self.records)]


def clamp_items(count: int | None) -> int | None:
    return None if count is None else max(1, min(MAX_ITEMS, int(count)))


def wilson_interval(correct: int, total: int, z: float = 1.96) -> list[float] | None:
    if total == 0:
        return None
    p = correct / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return [round(max(0.0, centre - margin), 4), round(min(1.0, centre + margin), 4)]
