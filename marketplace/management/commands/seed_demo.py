"""Demo data for `make run`: an admin, a requester organization, three vetted workers and
a sentiment project with 200 items and 20 gold items. Safe to run again: existing rows are
found by their natural keys and nothing is added twice."""
import random

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import demo_token_for
from accounts.enums import Role
from accounts.models import User
from marketplace.enums import ProjectStatus
from flows import projects as projects_flow
from marketplace.models import Project
from marketplace.services import items_import, organization_create, project_create
from marketplace.uploads import UploadRow
from payments.services import organization_credit
from web.demo import PROJECT_NAME as BBOX_PROJECT_NAME
from web.demo import create_bbox_demo_project
from workers.enums import SkillSource, WorkerStatus
from workers.models import Skill
from workers.services import worker_profile_create, worker_skill_set, worker_status_set

DEMO_PASSWORD = "quorum-demo-pass"
ADMIN_EMAIL = "admin@quorum.example"
REQUESTER_EMAIL = "requester@acme.example"
ORGANIZATION_NAME = "Acme AI"
PROJECT_NAME = "Demo: product review sentiment"
DEMO_CREDIT_CENTS = 50_000
WORKERS = [
    ("ana@workers.example", {"sentiment-en": 90, "translation-de": 70}),
    ("ben@workers.example", {"sentiment-en": 75, "content-moderation": 80}),
    ("chen@workers.example", {"sentiment-en": 60, "python-code-review": 85}),
]
SENTIMENT_CHOICES = ["positive", "negative", "neutral"]
PHRASES = {
    "positive": ["Absolutely love it", "Works perfectly", "Best purchase this year",
                 "Exceeded my expectations", "Great value for money"],
    "negative": ["Broke after two days", "Total waste of money", "Would not recommend",
                 "Arrived damaged", "Customer service never answered"],
    "neutral": ["It is a phone case", "Arrived on Tuesday", "Does what the box says",
                "Average, nothing special", "Color is as pictured"],
}
PRODUCTS = ["headphones", "blender", "backpack", "desk lamp", "keyboard", "kettle",
            "running shoes", "phone case", "coffee grinder", "monitor"]


def _review(rng: random.Random, index: int) -> tuple[str, str]:
    sentiment = SENTIMENT_CHOICES[index % 3]
    text = f"{rng.choice(PHRASES[sentiment])} - the {rng.choice(PRODUCTS)}."
    return sentiment, text


class Command(BaseCommand):
    help = "Create demo accounts and a demo project (idempotent) and print their tokens."

    def handle(self, *args, **options):
        with transaction.atomic():
            admin, requester, workers, project = self._seed()
        # Launching reserves escrow in a transaction of its own (flows.projects.launch);
        # a draft left by an interrupted run is launched by the next one.
        if project.status == ProjectStatus.DRAFT:
            projects_flow.launch(project=project, actor=requester)

        self.stdout.write("Demo accounts (password for all: %s)" % DEMO_PASSWORD)
        for label, user in [("admin", admin), ("requester", requester)] + [
                (f"worker {i + 1}", w) for i, w in enumerate(workers)]:
            self.stdout.write(f"  {label:<10} {user.email:<26} token: {demo_token_for(user)}")
        self.stdout.write("Use: Authorization: Bearer <token>   Docs: /api/docs/")
        self.stdout.write(f"Worker app: http://127.0.0.1:8000/  sign in as {workers[0].email} "
                          f"/ {DEMO_PASSWORD}")

    def _seed(self):
        admin = User.objects.filter(email=ADMIN_EMAIL).first()
        if admin is None:
            admin = User.objects.create_superuser(email=ADMIN_EMAIL, password=DEMO_PASSWORD)

        requester = User.objects.filter(email=REQUESTER_EMAIL).first()
        if requester is None:
            requester = User.objects.create_user(email=REQUESTER_EMAIL, password=DEMO_PASSWORD,
                                                 role=Role.REQUESTER)
            organization_create(name=ORGANIZATION_NAME, owner=requester)
        organization = requester.membership.organization
        # Launch reserves escrow, so the demo organization is funded first (once: the
        # fixed key makes a second run a no-op).
        organization_credit(organization=organization, actor=admin,
                            amount_cents=DEMO_CREDIT_CENTS, reason="Demo funds",
                            key="seed_demo:initial-credit")

        workers = []
        for email, skills in WORKERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email=email, password=DEMO_PASSWORD,
                                                role=Role.WORKER)
                profile = worker_profile_create(user=user)
                for slug, level in skills.items():
                    worker_skill_set(worker=profile, skill=Skill.objects.get(slug=slug),
                                     level=level, source=SkillSource.ADMIN)
                worker_status_set(worker=profile, status=WorkerStatus.ACTIVE)
            workers.append(user)

        project = Project.objects.filter(organization=organization, name=PROJECT_NAME).first()
        if project is None:
            project = self._create_project(organization, requester)
        # The worker web app's demo: pictures drawn locally for a bounding-box project.
        if not Project.objects.filter(organization=organization,
                                      name=BBOX_PROJECT_NAME).exists():
            create_bbox_demo_project(organization=organization, requester=requester)
        return admin, requester, workers, project

    def _create_project(self, organization, requester) -> None:
        project = project_create(organization=organization, actor=requester, fields={
            "name": PROJECT_NAME,
            "instructions": "Read the product review and choose its overall sentiment.\n\n"
                            "- **positive**: the reviewer is happy\n"
                            "- **negative**: the reviewer is unhappy\n"
                            "- **neutral**: facts only, no opinion",
            "task_type": "single_choice",
            "label_config": {"choices": SENTIMENT_CHOICES},
            "required_skills": [{"skill": "sentiment-en", "min_level": 50}],
            "domain": "languages",
            "sensitivity": "public",
            "pay_model": "per_task",
            "reward_cents": 5,
            "items_per_task": 5,
            "gold_per_task": 1,
            "overlap": 3,
            "max_overlap": 5,
            "confidence_target": 0.8,
            "min_gold_accuracy": 0.7,
        })
        rng = random.Random(42)
        items = []
        for index in range(200):
            _sentiment, text = _review(rng, index)
            items.append(UploadRow(row=index + 1, external_id=f"review-{index + 1:04d}",
                                   data={"text": text}, answer=None, has_answer=False))
        items_import(project=project, actor=requester, rows=items, is_gold=False)
        gold = []
        for index in range(20):
            sentiment, text = _review(rng, index)
            gold.append(UploadRow(row=index + 1, external_id=f"gold-{index + 1:03d}",
                                  data={"text": text}, answer=sentiment, has_answer=True))
        items_import(project=project, actor=requester, rows=gold, is_gold=True)
        return project
