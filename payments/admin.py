"""Django admin for money: payouts with run / retry / mark-paid / mark-failed / export
actions (each calls a service), and read-only views of the ledger and its causes.
Nothing here edits a balance, a journal or an entry."""
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from config.csv_export import csv_text
from config.errors import ApiError
from flows import payouts as payouts_flow

from . import selectors, services
from .enums import PayoutStatus
from .models import (
    Bonus,
    Earning,
    Entry,
    Journal,
    LedgerAccount,
    ManualCredit,
    PaymentAuditEvent,
    Payout,
    PayoutAccount,
    PayoutRun,
    StripeEvent,
    TopUp,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money records change only through services; the admin shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReasonForm(forms.Form):
    _selected_action = forms.CharField(widget=forms.MultipleHiddenInput)
    reason = forms.CharField(widget=forms.Textarea, required=True)


class ReferenceForm(forms.Form):
    _selected_action = forms.CharField(widget=forms.MultipleHiddenInput)
    reference = forms.CharField(max_length=255, required=True,
                                help_text="The bank transfer's reference")


def _each(modeladmin, request, queryset, apply, *, title: str) -> None:
    done = 0
    for payout in queryset.select_related("payout_account"):
        try:
            apply(payout)
            done += 1
        except ApiError as exc:
            modeladmin.message_user(request, f"Payout {payout.pk}: {exc.detail}",
                                    messages.ERROR)
    modeladmin.message_user(request, f"{title}: {done} done.")


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ("id", "worker", "amount_cents", "status", "provider", "provider_reference",
                    "transfer_attempts", "created_at", "settled_at")
    list_filter = ("status", "provider")
    search_fields = ("id", "provider_reference", "worker__pseudonym")
    raw_id_fields = ("worker", "payout_account", "run", "settled_by")
    actions = ["retry", "mark_paid", "mark_failed", "export_csv"]

    def get_urls(self):
        return [
            path("run/", self.admin_site.admin_view(self.run_view), name="payments_payout_run"),
            path("export/", self.admin_site.admin_view(self.export_view),
                 name="payments_payout_export"),
        ] + super().get_urls()

    def run_view(self, request):
        if request.method == "POST":
            run = payouts_flow.start_run(actor=request.user)
            self.message_user(request, f"Payout run {run.pk} started.")
            return redirect("admin:payments_payout_changelist")
        return render(request, "admin/payments/payout/run_confirm.html", {
            "min_payout_cents": settings.MIN_PAYOUT_CENTS, "opts": self.model._meta,
            "title": "Run payouts now"})

    def export_view(self, request):
        return self._csv(Payout.objects.filter(status=PayoutStatus.IN_FLIGHT,
                                               provider="manual"))

    @staticmethod
    def _csv(queryset) -> HttpResponse:
        response = HttpResponse(csv_text(selectors.payouts_csv_rows(queryset.order_by("id"))),
                                content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="payouts.csv"'
        return response

    @admin.action(description="Retry: ask the provider now (same idempotency key)")
    def retry(self, request, queryset):
        _each(self, request, queryset,
              lambda payout: services.payout_retry(payout=payout, actor=request.user),
              title="Retried")

    def _with_text(self, request, queryset, form_class, field: str, apply, *, title: str,
                   explanation: str):
        """An action that first asks for a text (a reference, a reason), then applies
        ``apply(payout, text)`` to each selected payout through the service."""
        if "apply" in request.POST:
            form = form_class(request.POST)
            if form.is_valid():
                text = form.cleaned_data[field]
                _each(self, request, queryset, lambda payout: apply(payout, text),
                      title=title)
                return None
        else:
            form = form_class(initial={"_selected_action": request.POST.getlist(
                admin.helpers.ACTION_CHECKBOX_NAME)})
        return render(request, "admin/quorum_reason.html", {
            "title": title, "objects": queryset, "form": form,
            "action": request.POST.get("action"), "opts": self.model._meta,
            "explanation": explanation})

    @admin.action(description="Mark paid (manual payouts)")
    def mark_paid(self, request, queryset):
        return self._with_text(
            request, queryset, ReferenceForm, "reference",
            lambda payout, reference: services.payout_mark_paid(
                payout=payout, actor=request.user, reference=reference),
            title="Mark paid",
            explanation="The reference is stored on the payout and in the audit log.")

    @admin.action(description="Mark failed, returning the money (manual payouts)")
    def mark_failed(self, request, queryset):
        return self._with_text(
            request, queryset, ReasonForm, "reason",
            lambda payout, reason: services.payout_mark_failed(
                payout=payout, actor=request.user, reason=reason),
            title="Mark failed",
            explanation="The reason is stored on the payout and in the audit log; the "
                        "money returns to the worker's available balance.")

    @admin.action(description="Export as CSV")
    def export_csv(self, request, queryset):
        return self._csv(queryset)


@admin.register(PayoutRun)
class PayoutRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "payouts_created", "payouts_paid", "payouts_failed",
                    "created_by", "created_at", "finished_at")
    list_filter = ("status",)


@admin.register(PayoutAccount)
class PayoutAccountAdmin(ReadOnlyAdmin):
    list_display = ("worker", "provider", "status", "stripe_account_id", "updated_at")
    list_filter = ("provider", "status")
    search_fields = ("stripe_account_id", "worker__pseudonym")


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ("account", "amount_cents")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Journal)
class JournalAdmin(ReadOnlyAdmin):
    list_display = ("id", "key", "kind", "memo", "organization", "project", "worker",
                    "created_at")
    list_filter = ("kind",)
    search_fields = ("key", "memo")
    inlines = [EntryInline]


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("key", "kind", "balance_cents", "organization", "project", "worker")
    list_filter = ("kind",)
    search_fields = ("key",)


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyAdmin):
    list_display = ("id", "organization", "amount_cents", "status", "credited_cents",
                    "stripe_payment_intent_id", "created_at", "succeeded_at")
    list_filter = ("status",)
    search_fields = ("stripe_payment_intent_id",)


@admin.register(ManualCredit)
class ManualCreditAdmin(ReadOnlyAdmin):
    list_display = ("id", "organization", "amount_cents", "reason", "created_by", "created_at")


@admin.register(Earning)
class EarningAdmin(ReadOnlyAdmin):
    list_display = ("id", "worker", "kind", "amount_cents", "fee_cents", "project",
                    "available_at", "released_at")
    list_filter = ("kind",)


@admin.register(Bonus)
class BonusAdmin(ReadOnlyAdmin):
    list_display = ("id", "project", "worker", "amount_cents", "fee_cents", "created_at")


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "outcome", "received_at")
    list_filter = ("type", "outcome")
    search_fields = ("event_id",)


@admin.register(PaymentAuditEvent)
class PaymentAuditEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "actor", "organization", "payout", "created_at")
    list_filter = ("kind",)
