"""A project's status together with its money: launch reserves the estimated cost in
escrow (402 when short), resume reserves what grew while paused and looks again at tasks
left waiting, cancel releases what no work in progress may still cost.

Lock order (config/lock_order.py): Project -> ledger accounts.
"""
from django.db import transaction

from accounts.models import User
from config.errors import PaymentRequired
from marketplace import services as marketplace
from marketplace.models import Project
from payments import services as payments

from .results import reaggregate_project_job


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
