"""manage.py simulate PROJECT_ID [options]: run a simulation now and print its report."""
import json

from django.core.management.base import BaseCommand, CommandError

from marketplace.management.commands.seed_demo import PROJECT_NAME as DEMO_PROJECT_NAME
from marketplace.models import Project
from simulation.api.serializers import SimulationInput
from simulation.services import simulate


class Command(BaseCommand):
    help = "Simulate a project's settings on a virtual crowd (no trace) and print the report."

    def add_arguments(self, parser):
        parser.add_argument("project_id", type=int, nargs="?")
        parser.add_argument("--demo", action="store_true",
                            help="simulate the project seed_demo creates (make demo)")
        parser.add_argument("--workers", type=int, default=20)
        parser.add_argument("--accuracy", type=float, default=0.8)
        parser.add_argument("--accuracy-sd", type=float, default=0.08)
        parser.add_argument("--spammer-share", type=float, default=0.1)
        parser.add_argument("--spammer-kind", choices=["random", "constant"], default="random")
        parser.add_argument("--seconds", type=float, default=60.0, help="mean seconds per task")
        parser.add_argument("--seconds-sd", type=float, default=20.0)
        parser.add_argument("--items", type=int, default=None, help="sample size (default all)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--no-sweep", action="store_true",
                            help="skip the overlap / gold share sweep (no recommendations)")
        parser.add_argument("--detail", action="store_true",
                            help="also print per-spammer and per-variant figures")

    def handle(self, *args, **options):
        if options["demo"]:
            project = Project.objects.filter(name=DEMO_PROJECT_NAME).order_by("pk").first()
        elif options["project_id"] is not None:
            project = Project.objects.filter(pk=options["project_id"]).first()
        else:
            raise CommandError("Name a PROJECT_ID (or --demo).")
        if project is None:
            raise CommandError("No such project (for --demo, run seed_demo first).")
        payload = SimulationInput(data={
            "workers": options["workers"],
            "accuracy": {"mean": options["accuracy"], "sd": options["accuracy_sd"]},
            "spammer_share": options["spammer_share"], "spammer_kind": options["spammer_kind"],
            "seconds_per_task": {"mean": options["seconds"], "sd": options["seconds_sd"]},
            "items": options["items"], "seed": options["seed"],
            "sweep": not options["no_sweep"]})
        if not payload.is_valid():
            raise CommandError(json.dumps(payload.errors))
        report, detail = simulate(project=project, params=payload.validated_data)
        out = {"report": report, "detail": detail} if options["detail"] else report
        self.stdout.write(json.dumps(out, indent=2, ensure_ascii=False))
