from django.contrib import admin

from .models import ErasureReceipt, PrivacyEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit rows and receipts are evidence: nobody edits or deletes them by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PrivacyEvent)
class PrivacyEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "organization", "project", "item_id", "actor")
    list_filter = ("kind",)
    search_fields = ("reason",)


@admin.register(ErasureReceipt)
class ErasureReceiptAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "public_id", "organization", "project", "requested_by")
