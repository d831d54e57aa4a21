"""Payments API: thin views; every write is one service call."""
import json
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from config.csv_export import csv_text
from config.errors import InvalidInput
from config.idempotency import idempotent
from config.pagination import paginated, paginated_response
from config.query import choice_param
from flows import payouts as payouts_flow
from marketplace.api.views import RequesterView
from marketplace.models import Organization
from workers.api.views import AdminView, WorkerView

from .. import providers, selectors, services
from ..enums import PayoutStatus
from ..models import Bonus, TopUp
from .serializers import (
    BalanceOutput,
    BonusInput,
    BonusOutput,
    CreditInput,
    CreditOutput,
    EarningsOutput,
    MarkPaidInput,
    PayoutAccountOutput,
    PayoutOutput,
    PayoutRunDetailOutput,
    PayoutRunOutput,
    ProgressOutput,
    PayoutFailureInput,
    TopUpInput,
    TopUpListOutput,
    TopUpOutput,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"


PAYOUT_PROVIDERS = ["stripe", "manual"]


class CSVRenderer(BaseRenderer):
    """Lets ``?format=csv`` through DRF's content negotiation (which would answer 404 for
    an unknown format). CSV bodies are built by the views; errors still render as JSON."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, (bytes, str)) else json.dumps(data)


# --- Requesters ----------------------------------------------------------------------------

class BillingBalanceView(RequesterView):
    @extend_schema(responses=BalanceOutput, tags=["billing"])
    def get(self, request):
        return Response(BalanceOutput(
            selectors.organization_balance(organization=self.organization)).data)


class TopUpView(RequesterView):
    @extend_schema(request=TopUpInput, responses={201: TopUpOutput}, tags=["billing"],
                   description="Creates a Stripe PaymentIntent. The balance is credited only "
                   "when Stripe confirms the payment (webhook or reconcile). Honours "
                   "Idempotency-Key: the same key returns the same top-up.")
    def post(self, request):
        # Not @idempotent: that decorator holds a transaction open around the view, and
        # Stripe is never called inside one. The top-up row carries the key instead.
        payload = TopUpInput(data=request.data)
        payload.is_valid(raise_exception=True)
        key = request.headers.get(IDEMPOTENCY_HEADER) or None
        if key and len(key) > 255:
            raise InvalidInput("Idempotency-Key is at most 255 characters.",
                               fields={IDEMPOTENCY_HEADER: ["Too long."]})
        topup = services.topup_create(organization=self.organization, actor=request.user,
                                      amount_cents=payload.validated_data["amount_cents"],
                                      request_key=key)
        return Response(TopUpOutput(topup).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=paginated(TopUpListOutput), tags=["billing"])
    def get(self, request):
        topups = TopUp.objects.filter(organization=self.organization).order_by("-created_at",
                                                                              "-id")
        return paginated_response(request, topups, TopUpListOutput, view=self)


class ProjectProgressView(RequesterView):
    @extend_schema(responses=ProgressOutput, tags=["projects"])
    def get(self, request, project_id):
        project = self.get_project(project_id)
        return Response(ProgressOutput(selectors.project_progress(project=project)).data)


class ProjectBonusesView(RequesterView):
    @extend_schema(request=BonusInput, responses={201: BonusOutput}, tags=["projects"],
                   description="Paid from the organization's available balance (platform "
                   "fee on top); 402 when it is short.")
    @idempotent
    def post(self, request, project_id):
        project = self.get_project(project_id)
        payload = BonusInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        bonus = services.bonus_grant(project=project, actor=request.user,
                                     pseudonym=data["worker_id"],
                                     amount_cents=data["amount_cents"], reason=data["reason"])
        return Response(BonusOutput(bonus).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=paginated(BonusOutput), tags=["projects"])
    def get(self, request, project_id):
        project = self.get_project(project_id)
        bonuses = Bonus.objects.filter(project=project).order_by("-created_at", "-id")
        return paginated_response(request, bonuses, BonusOutput, view=self)


class StripeWebhookView(APIView):
    """Stripe's call. Authenticated by the signature alone (no bearer token)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(request=None, responses={200: dict}, tags=["billing"],
                   description="Stripe-Signature verified with STRIPE_WEBHOOK_SECRET; a bad "
                   "signature answers 400. Each event id is applied once.")
    def post(self, request):
        try:
            event = providers.webhook_event(request.body, request.headers.get("Stripe-Signature"))
        except providers.WebhookSignatureInvalid:
            raise InvalidInput("The Stripe signature is missing or does not verify.",
                               code="invalid_signature")
        except providers.WebhookEventMalformed as exc:
            services.stripe_event_record_malformed(body=request.body, problem=exc.problem,
                                                   event=exc.event)
            raise InvalidInput(f"Signed event not understood: {exc.problem}",
                               code="malformed_event")
        outcome = services.stripe_event_receive(event=event)
        return Response({"received": True, "outcome": outcome})


# --- Workers -------------------------------------------------------------------------------

class WorkerEarningsView(WorkerView):
    @extend_schema(responses=EarningsOutput, tags=["worker"])
    def get(self, request):
        return Response(EarningsOutput(selectors.worker_earnings(worker=self.worker)).data)


def _date_param(request, name: str, default: date) -> datetime:
    raw = request.query_params.get(name)
    if not raw:
        value = default
    else:
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(f"{name} must be a date (YYYY-MM-DD).",
                               fields={name: ["Not a date (YYYY-MM-DD)."]})
    return datetime.combine(value, time.min, tzinfo=dt_timezone.utc)


class WorkerStatementView(WorkerView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(responses=dict, tags=["worker"], parameters=[
        OpenApiParameter("from", str, description="First day (YYYY-MM-DD), default: the "
                         "first of this month"),
        OpenApiParameter("to", str, description="Day after the last (YYYY-MM-DD), default: "
                         "tomorrow"),
        OpenApiParameter("format", str, enum=["json", "csv"])])
    def get(self, request):
        today = datetime.now(dt_timezone.utc).date()
        start = _date_param(request, "from", today.replace(day=1))
        end = _date_param(request, "to", today + timedelta(days=1))
        if end <= start:
            raise InvalidInput("to must be after from.", fields={"to": ["Must be after from."]})
        statement = selectors.worker_statement(worker=self.worker, start=start, end=end)
        if choice_param(request, "format", ["json", "csv"], default="json") != "csv":
            return Response(statement)
        rows = [["date", "journal_id", "kind", "account", "amount_cents", "memo",
                 "project_id", "assignment_id", "payout_id"]]
        rows += [[line["date"].isoformat(), line["journal_id"], line["kind"], line["account"],
                  line["amount_cents"], line["memo"], line["project_id"],
                  line["assignment_id"], line["payout_id"]] for line in statement["lines"]]
        response = HttpResponse(csv_text(rows), content_type="text/csv")
        response["Content-Disposition"] = (f'attachment; filename="statement-{start.date()}-'
                                           f'{end.date()}.csv"')
        return response


class WorkerPayoutAccountView(WorkerView):
    @extend_schema(request=None, responses=PayoutAccountOutput, tags=["worker"],
                   description="Stripe: creates a Connect Express account once and returns "
                   "an onboarding link until transfers are enabled. Manual: active at once.")
    def post(self, request):
        account, url = services.payout_account_setup(worker=self.worker)
        return Response(PayoutAccountOutput({"provider": account.provider,
                                             "status": account.status,
                                             "onboarding_url": url}).data)

    @extend_schema(responses=PayoutAccountOutput, tags=["worker"])
    def get(self, request):
        return Response(PayoutAccountOutput({
            **selectors.payout_account_status(worker=self.worker), "onboarding_url": None}).data)


# --- Admins --------------------------------------------------------------------------------

class AdminPayoutRunView(AdminView):
    @extend_schema(request=None, responses={202: PayoutRunOutput}, tags=["admin"])
    def post(self, request):
        run = payouts_flow.start_run(actor=request.user)
        run.refresh_from_db()
        return Response(PayoutRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class AdminPayoutRunDetailView(AdminView):
    @extend_schema(responses=PayoutRunDetailOutput, tags=["admin"])
    def get(self, request, run_id):
        return Response(PayoutRunDetailOutput(selectors.payout_run_get(run_id=run_id)).data)


class _PayoutBody(PayoutOutput):
    def to_representation(self, instance):
        return super().to_representation(selectors.payout_body(instance))


class AdminPayoutListView(AdminView):
    @extend_schema(responses=paginated(PayoutOutput), tags=["admin"], parameters=[
        OpenApiParameter("status", str, enum=PayoutStatus.values),
        OpenApiParameter("provider", str, enum=PAYOUT_PROVIDERS)])
    def get(self, request):
        payouts = selectors.payout_list(
            status=choice_param(request, "status", PayoutStatus.values),
            provider=choice_param(request, "provider", PAYOUT_PROVIDERS))
        return paginated_response(request, payouts, _PayoutBody, view=self)


class AdminPayoutExportView(AdminView):
    @extend_schema(responses={(200, "text/csv"): str}, tags=["admin"],
                   description="Manual payouts in flight, to pay by bank transfer.")
    def get(self, request):
        payouts = selectors.payout_list(
            status=choice_param(request, "status", PayoutStatus.values,
                                default=PayoutStatus.IN_FLIGHT),
            provider=choice_param(request, "provider", PAYOUT_PROVIDERS, default="manual"))
        response = HttpResponse(csv_text(selectors.payouts_csv_rows(payouts)),
                                content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="payouts.csv"'
        return response


class AdminPayoutMarkPaidView(AdminView):
    @extend_schema(request=MarkPaidInput, responses=PayoutOutput, tags=["admin"])
    def post(self, request, payout_id):
        payout = selectors.payout_get(payout_id=payout_id)
        payload = MarkPaidInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.payout_mark_paid(payout=payout, actor=request.user,
                                  reference=payload.validated_data.get("reference", ""))
        return Response(selectors.payout_body(selectors.payout_get(payout_id=payout.pk)))


class AdminPayoutMarkFailedView(AdminView):
    @extend_schema(request=PayoutFailureInput, responses=PayoutOutput, tags=["admin"])
    def post(self, request, payout_id):
        payout = selectors.payout_get(payout_id=payout_id)
        payload = PayoutFailureInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.payout_mark_failed(payout=payout, actor=request.user,
                                    reason=payload.validated_data["reason"])
        return Response(selectors.payout_body(selectors.payout_get(payout_id=payout.pk)))


class AdminPayoutRetryView(AdminView):
    @extend_schema(request=None, responses=PayoutOutput, tags=["admin"],
                   description="Ask the provider now about a payout in flight, and retry "
                   "the transfer (same idempotency key) if it never happened.")
    def post(self, request, payout_id):
        payout = selectors.payout_get(payout_id=payout_id)
        services.payout_retry(payout=payout, actor=request.user)
        return Response(selectors.payout_body(selectors.payout_get(payout_id=payout.pk)))


class AdminOrganizationCreditView(AdminView):
    @extend_schema(request=CreditInput, responses={201: CreditOutput}, tags=["admin"],
                   description="Credit an invoiced customer's balance; audited. Honours "
                   "Idempotency-Key.")
    @idempotent
    def post(self, request, organization_id):
        try:
            organization = Organization.objects.get(pk=int(organization_id))
        except (Organization.DoesNotExist, ValueError):
            raise Http404
        payload = CreditInput(data=request.data)
        payload.is_valid(raise_exception=True)
        credit = services.organization_credit(organization=organization, actor=request.user,
                                              **payload.validated_data)
        return Response(CreditOutput(credit).data, status=status.HTTP_201_CREATED)


class AdminLedgerCheckView(AdminView):
    @extend_schema(responses=dict, tags=["admin"])
    def get(self, request):
        return Response(selectors.ledger_check())
