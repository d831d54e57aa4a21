from django.urls import path

from . import views

urlpatterns = [
    # Requesters
    path("billing/balance", views.BillingBalanceView.as_view(), name="billing-balance"),
    path("billing/topups", views.TopUpView.as_view(), name="billing-topups"),
    path("projects/<int:project_id>/progress", views.ProjectProgressView.as_view(),
         name="project-progress"),
    path("projects/<int:project_id>/bonuses", views.ProjectBonusesView.as_view(),
         name="project-bonuses"),
    # Stripe
    path("payments/stripe/webhook", views.StripeWebhookView.as_view(), name="stripe-webhook"),
    # Workers
    path("worker/earnings", views.WorkerEarningsView.as_view(), name="worker-earnings"),
    path("worker/statement", views.WorkerStatementView.as_view(), name="worker-statement"),
    path("worker/payout-account", views.WorkerPayoutAccountView.as_view(),
         name="worker-payout-account"),
    # Admins
    path("admin/payouts", views.AdminPayoutListView.as_view(), name="admin-payouts"),
    path("admin/payouts/run", views.AdminPayoutRunView.as_view(), name="admin-payouts-run"),
    path("admin/payouts/runs/<int:run_id>", views.AdminPayoutRunDetailView.as_view(),
         name="admin-payout-run"),
    path("admin/payouts/export.csv", views.AdminPayoutExportView.as_view(),
         name="admin-payouts-export"),
    path("admin/payouts/<int:payout_id>/mark-paid", views.AdminPayoutMarkPaidView.as_view()),
    path("admin/payouts/<int:payout_id>/mark-failed",
         views.AdminPayoutMarkFailedView.as_view()),
    path("admin/payouts/<int:payout_id>/retry", views.AdminPayoutRetryView.as_view()),
    path("admin/organizations/<int:organization_id>/credit",
         views.AdminOrganizationCreditView.as_view(), name="admin-organization-credit"),
    path("admin/ledger/check", views.AdminLedgerCheckView.as_view(), name="admin-ledger-check"),
]
