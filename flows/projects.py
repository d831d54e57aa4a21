"""A project's status together with its money: launch reserves the estimated cost in
escrow (402 when short), resume reserves what grew while paused and looks again at tasks
left waiting, cancel releases what no work in progress may still cost. Create and update
also carry the project's automation fields (``automation``, ``auto_accept_threshold``,
``spot_check_rate``: the automation app's settings row) in the same transaction.

Lock order (config/lock_order.py): Project -> ledger accounts.
"""
from django.db import transaction

from accounts.models import User
from config.errors import PaymentRequired
from marketplace import services as marketplace
from marketplace.models import Project
from payments import services as payments

from . import automation as automation_flow
from .results import reaggregate_project_job

# Project fields of the API that the automation app stores (API name -> settings field).
AUTOMATION_FIELDS = {"automation": "mode", "auto_accept_threshold": "auto_accept_threshold",
                     "spot_check_rate": "spot_check_rate"}


def _split_automation(fields: dict) -> tuple[dict, dict]:
    own = {name: value for name, value in fields.items() if name not in AUTOMATION_FIELDS}
    automation = {AUTOMATION_FIELDS[name]: value for name, value in fields.items()
                  if name in AUTOMATION_FIELDS}
    return own, automation


def create(*, organization, actor: User, fields: dict) -> Project:
    own, automation = _split_automation(fields)
    with transaction.atomic():
        project = marketplace.project_create(organization=organization, actor=actor,
                                             fields=own)
        if automation:
            automation_flow.update_settings(project=project, fields=automation)
    return project


def update(*, project: Project, actor: User, changes: dict) -> Project:
    own, automation = _split_automation(changes)
    with transaction.atomic():
        # Always: it refuses any change to a closed project, automation fields included.
        project = marketplace.project_update(project=project, actor=actor, changes=own)
        if automation:
            automation_flow.update_settings(project=project, fields=automation)
    return project


def launch(*, project: Project, actor: User) -> Project:
    with transaction.atomic():
        project = marketplace.project_launch(project=project, actor=actor)
        # The pay floor before the money: a project that cannot pay fairly reserves nothing.
        payments.pay_floor_check(project=project)
        payments.escrow_reserve_for_launch(project=project, actor=actor)
    return project


def resume(*, project: Project, actor: User) -> Project:
    with transaction.atomic():
        project = marketplace.project_resume(project=project, actor=actor)
        # Work added while paused (overlap or pay raised, items uploaded) needs escrow.
        if not payments.escrow_reserve_shortfall(project=project):
            raise PaymentRequired("Resuming needs more escrow than the organization has "
                                  "available for this project's current size; top up "
                                  "first.")
        # Tasks that stopped for lack of funds to raise their overlap get another look.
        project_id = project.pk
        transaction.on_commit(lambda: reaggregate_project_job.delay(project_id),
                              robust=True)
    return project


def cancel(*, project: Project, actor: User) -> Project:
    with transaction.atomic():
        project = marketplace.project_cancel(project=project, actor=actor)
        # Unspent escrow goes back (minus what work in progress may still cost).
        payments.escrow_release_unspent(project=project)
    return project
