import uuid

from django.conf import settings
from django.db import models

from .enums import PrivacyEventKind


class PrivacyEvent(models.Model):
    """Append-only audit of what happened to personal data: sensitivity raised or lowered
    (with the reason), retention runs, erasures. Holds counts and ids, never the data."""

    organization = models.ForeignKey("marketplace.Organization", on_delete=models.CASCADE,
                                     related_name="+")
    project = models.ForeignKey("marketplace.Project", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+")
    item_id = models.BigIntegerField(null=True, blank=True,
                                     help_text="Kept as a number: the item may be erased")
    kind = models.CharField(max_length=32, choices=PrivacyEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["project", "kind"], name="privacy_event_project_idx")]


class ErasureReceipt(models.Model):
    """The answer to a data subject's erasure request: what was deleted where. The
    external ids themselves may be personal data, so only their SHA-256 is kept."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True)
    organization = models.ForeignKey("marketplace.Organization", on_delete=models.CASCADE,
                                     related_name="+")
    project = models.ForeignKey("marketplace.Project", on_delete=models.CASCADE,
                                related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)
    external_id_hashes = models.JSONField(default=list)
    counts = models.JSONField(default=dict, help_text="What was erased, per place")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
