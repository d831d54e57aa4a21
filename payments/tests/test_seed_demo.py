"""seed_demo funds the demo organization before launching its project, once."""
import io

import pytest
from django.core.management import call_command

from marketplace.models import Project
from payments.models import ManualCredit
from payments.selectors import ledger_check, organization_balance

pytestmark = pytest.mark.django_db


def test_seed_demo_funds_then_launches_and_stays_idempotent(settings):
    settings.PLATFORM_FEE_PERCENT = 20

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())

    project = Project.objects.get(name="Demo: product review sentiment")
    assert project.status == "active"
    assert ManualCredit.objects.count() == 1
    # Reserved from the 50,000 credited: sentiment 40 tasks x overlap 3 x (5 + 1 fee) = 720,
    # the worker app's bounding-box demo 20 tasks x overlap 2 x (8 + 2 fee) = 400.
    assert organization_balance(organization=project.organization) == {
        "available_cents": 50_000 - 720 - 400, "escrow_cents": 720 + 400, "spent_cents": 0,
        "currency": "usd"}
    assert ledger_check()["ok"] is True
