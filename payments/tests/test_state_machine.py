"""Random sequences of everything that moves money - credits, Stripe top-ups (replayed),
launches (some refused by the pay floor), claims, approvals with fair-pay adjustments,
rejections (some turned into review requests by the ceiling), overturns, auto-approval,
replayed adjustments, bonuses, hold releases, payout runs settled or failed, cancels,
escrow sweeps - and after every step the books prove themselves and the money is where
the model says it is.

Examples share the test's transaction (each builds its own organization and workers), so
the global checks also cover everything earlier examples left behind.
"""
import itertools
from datetime import timedelta

import pytest
from django.db.models import F, Sum
from django.utils import timezone
from hypothesis import HealthCheck, event, settings as hypothesis_settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from config.errors import Conflict, PaymentRequired
from marketplace.enums import AssignmentStatus, ProjectStatus
from marketplace.models import Assignment, Project
from marketplace.services.pseudonyms import worker_pseudonym_for
from payments import ledger
from payments.enums import EarningKind, PayoutStatus
from payments.models import Earning, Payout, TopUp
from payments.selectors import ledger_check
from payments.services import (
    approval_pay,
    assignment_pay,
    bonus_grant,
    earnings_release_due,
    escrow_release_closed_projects,
    fair_pay_adjust,
    organization_credit,
    payout_account_setup,
    payout_fail,
    payout_settle,
    payouts_run,
    stripe_event_receive,
)

from .factories import claim, make_project, make_requester, make_worker, submit
from flows import decisions as decision_flows
from flows import projects as projects_flow

pytestmark = pytest.mark.django_db

_event_ids = itertools.count(1)
FLOOR = 1200
FAR_FUTURE = timedelta(days=365)


class MoneyMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.requester = make_requester()
        self.organization = self.requester.membership.organization
        self.workers = [make_worker() for _ in range(3)]
        for worker in self.workers:
            payout_account_setup(worker=worker)  # manual provider: active at once
        self.funded = 0
        self.projects: list[Project] = []

    # --- money in ---------------------------------------------------------------------

    @initialize(cents=st.integers(2000, 20_000))
    def opening_credit(self, cents):
        self.fund(cents, via_stripe=False, replays=1)

    @rule(cents=st.integers(50, 5000), via_stripe=st.booleans(), replays=st.integers(1, 3))
    def fund(self, cents, via_stripe, replays):
        """An admin credit, or a Stripe top-up whose webhook arrives ``replays`` times."""
        if not via_stripe:
            organization_credit(organization=self.organization, actor=None,
                                amount_cents=cents, reason="invoice")
        else:
            topup = TopUp.objects.create(organization=self.organization,
                                         created_by=self.requester, amount_cents=cents,
                                         stripe_payment_intent_id=f"pi_sm_{next(_event_ids)}")
            event_body = {"id": f"evt_sm_{next(_event_ids)}",
                          "type": "payment_intent.succeeded",
                          "data": {"object": {"id": topup.stripe_payment_intent_id,
                                              "amount": cents, "currency": "usd",
                                              "status": "succeeded"}}}
            outcomes = [stripe_event_receive(event=event_body) for _ in range(replays)]
            assert outcomes == ["credited"] + ["duplicate"] * (replays - 1)
        self.funded += cents

    # --- projects ---------------------------------------------------------------------

    @initialize(items=st.integers(1, 4), overlap=st.integers(1, 2),
                reward=st.integers(1, 300), hourly=st.booleans(),
                estimate=st.one_of(st.none(), st.integers(1, 900)))
    def first_launch(self, items, overlap, reward, hourly, estimate):
        self.launch(items, overlap, reward, hourly, estimate)

    @rule(items=st.integers(1, 4), overlap=st.integers(1, 2), reward=st.integers(1, 300),
          hourly=st.booleans(), estimate=st.one_of(st.none(), st.integers(1, 900)))
    def launch(self, items, overlap, reward, hourly, estimate):
        pay = ({"pay_model": "hourly", "reward_cents": None, "hourly_rate_cents": reward * 10,
                "max_seconds_per_assignment": 600} if hourly
               else {"reward_cents": reward, "estimated_seconds_per_task": estimate})
        project = make_project(self.requester, items=items, overlap=overlap, launch=False,
                               **pay)
        before = self._available()
        try:
            projects_flow.launch(project=project, actor=self.requester)
        except (PaymentRequired, Conflict) as refused:
            event(f"launch refused: {refused.status_code}")
            if isinstance(refused, Conflict):
                assert refused.error_code == "below_pay_floor"
            assert self._available() == before
            assert Project.objects.get(pk=project.pk).status == ProjectStatus.DRAFT
            return
        event("launched")
        project.refresh_from_db()
        self.projects.append(project)

    @precondition(lambda self: self.projects)
    @rule(data=st.data())
    def cancel_and_sweep(self, data):
        project = data.draw(st.sampled_from(self.projects))
        if project.status == ProjectStatus.ACTIVE:
            projects_flow.cancel(project=project, actor=self.requester)
            project.refresh_from_db()
        escrow_release_closed_projects()

    # --- work -------------------------------------------------------------------------

    @precondition(lambda self: self.projects)
    @rule(data=st.data(), decisions=st.lists(
        st.tuples(st.integers(1, 900),
                  st.sampled_from(["approve", "approve", "reject", "leave"])),
        min_size=3, max_size=3))
    def work(self, data, decisions):
        """Each worker claims, submits after some active time, and gets a decision (or
        none yet)."""
        project = data.draw(st.sampled_from(self.projects))
        for worker, (seconds, decision) in zip(self.workers, decisions):
            assignment = claim(worker, project)
            if assignment is None:
                continue
            submit(assignment, worker, active_seconds=seconds)
            if decision == "approve":
                self._approve(lambda: decision_flows.approve(assignment_id=assignment.pk,
                                                         actor=self.requester))
            elif decision == "reject":
                decision_flows.reject(assignment_id=assignment.pk, actor=self.requester, reason="no")

    @rule(data=st.data(), overturn=st.booleans())
    def late_decisions(self, data, overturn):
        """A dispute overturns a rejection, or the auto-approve sweep runs."""
        rejected = list(Assignment.objects.filter(project__organization=self.organization,
                                                  status=AssignmentStatus.REJECTED))
        if overturn and rejected:
            assignment = data.draw(st.sampled_from(rejected))
            self._approve(lambda: decision_flows.overturn(assignment_id=assignment.pk,
                                                      actor=self.requester))
        else:
            self._approve(lambda: decision_flows.auto_approve_due(now=timezone.now() + FAR_FUTURE))

    @rule(data=st.data())
    def replayed_adjustment(self, data):
        """A retried job or a second approval path asks for the adjustment again."""
        approved = list(Assignment.objects.filter(project__organization=self.organization,
                                                  status=AssignmentStatus.APPROVED)
                        .select_related("project")[:20])
        if not approved:
            return
        assignment = data.draw(st.sampled_from(approved))
        before = (self._available(), Earning.objects.count())
        replayed = approval_pay(assignment=assignment)
        assert replayed is None
        assert fair_pay_adjust(assignment=assignment, approval_earning=replayed) is None
        assert (self._available(), Earning.objects.count()) == before

    def _approve(self, action):
        before = (self._available(), Earning.objects.count())
        try:
            action()
            event("approved")
        except PaymentRequired as refused:  # ApprovalUnfunded
            event("approval refused: 402")
            assert refused.status_code == 402
            assert (self._available(), Earning.objects.count()) == before

    @rule(data=st.data(), cents=st.integers(1, 500))
    def bonus(self, data, cents):
        candidates = list(Assignment.objects.filter(project__organization=self.organization)
                          .select_related("project", "worker")[:20])
        if not candidates:
            return
        assignment = data.draw(st.sampled_from(candidates))
        pseudonym = worker_pseudonym_for(project=assignment.project, worker=assignment.worker)
        before = self._available()
        try:
            bonus_grant(project=assignment.project, actor=self.requester, pseudonym=pseudonym,
                        amount_cents=cents, reason="thanks")
            event("bonus paid")
        except PaymentRequired:
            assert self._available() == before

    # --- money out --------------------------------------------------------------------

    @rule(data=st.data(), hold_over=st.booleans(), outcomes=st.lists(st.booleans(),
                                                                     max_size=3))
    def payday(self, data, hold_over, outcomes):
        """Maybe the hold ends; a payout run; some payouts in flight settle or fail."""
        if hold_over:
            earnings_release_due(now=timezone.now() + FAR_FUTURE)
        if payouts_run().payouts_created:
            event("payouts made")
        in_flight = list(Payout.objects.filter(worker__in=self.workers,
                                               status=PayoutStatus.IN_FLIGHT))
        for payout, succeed in zip(in_flight, outcomes):
            if succeed:
                assert payout_settle(payout=payout, reference="bank-ref")
            else:
                assert payout_fail(payout=payout, reason="bank refused")

    # --- invariants -------------------------------------------------------------------

    def _available(self) -> int:
        return ledger.balance_of(ledger.organization_available(self.organization.pk))

    @invariant()
    def books_prove_themselves(self):
        report = ledger_check()
        assert report["ok"], report

    @invariant()
    def organization_money_is_conserved(self):
        escrow = sum(ledger.balance_of(ledger.project_escrow(p)) for p in self.projects)
        spent = (Earning.objects.filter(organization=self.organization)
                 .aggregate(total=Sum(F("amount_cents") + F("fee_cents")))["total"] or 0)
        assert self._available() + escrow + spent == self.funded

    @invariant()
    def every_approved_assignment_is_paid_exactly_once(self):
        assignments = Assignment.objects.filter(project__organization=self.organization)
        approved = set(assignments.filter(status=AssignmentStatus.APPROVED)
                       .values_list("pk", flat=True))
        paid = list(Earning.objects.filter(assignment__in=assignments)
                    .values_list("assignment_id", flat=True))
        assert len(paid) == len(set(paid))
        # Zero-pay work (a 0-cent reward, or under half a cent of hourly time) has no row.
        assert set(paid) <= approved
        unpaid = approved - set(paid)
        for assignment in Assignment.objects.filter(pk__in=unpaid).select_related("project"):
            assert assignment_pay(assignment=assignment, project=assignment.project)[0] == 0

    @invariant()
    def fair_pay_is_once_per_approval_and_tops_up_to_the_floor(self):
        adjustments = list(Earning.objects.filter(
            organization=self.organization, kind=EarningKind.FAIR_PAY)
            .select_related("adjusted_assignment__project"))
        adjusted = [earning.adjusted_assignment_id for earning in adjustments]
        assert len(adjusted) == len(set(adjusted))
        for earning in adjustments:
            assignment = earning.adjusted_assignment
            assert assignment.status == AssignmentStatus.APPROVED
            base = Earning.objects.get(assignment=assignment).amount_cents
            seconds = min(assignment.active_seconds,
                          assignment.project.assignment_duration_seconds)
            # Reward plus adjustment is exactly the floor's pay for the measured time.
            assert base + earning.amount_cents == -(-FLOOR * seconds // 3600)
            assert earning.amount_cents > 0

    @invariant()
    def worker_money_is_conserved(self):
        for worker in self.workers:
            earned = Earning.objects.filter(worker=worker).aggregate(
                total=Sum("amount_cents"))["total"] or 0
            paid = Payout.objects.filter(worker=worker, status=PayoutStatus.PAID).aggregate(
                total=Sum("amount_cents"))["total"] or 0
            held = sum(ledger.balance_of(ref(worker.pk)) for ref in (
                ledger.worker_pending, ledger.worker_available, ledger.payout_in_flight))
            assert held + paid == earned


def test_random_money_movements_keep_every_invariant(settings):
    settings.PAYOUT_PROVIDER = "manual"
    settings.MIN_PAYOUT_CENTS = 100
    settings.PLATFORM_FEE_PERCENT = 20
    settings.EARNINGS_HOLD_SECONDS = 3600
    settings.MIN_EFFECTIVE_HOURLY_CENTS = FLOOR
    run_state_machine_as_test(MoneyMachine, settings=hypothesis_settings(
        max_examples=15, stateful_step_count=30, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
