from django.conf import settings
from django.db import models


class SimulationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Simulation(models.Model):
    """A requested simulation and, once done, its report. Nothing else of a run is kept:
    the sandbox it ran in was rolled back (simulation/sandbox.py)."""

    organization = models.ForeignKey("marketplace.Organization", on_delete=models.CASCADE,
                                     related_name="+")
    project = models.ForeignKey("marketplace.Project", on_delete=models.CASCADE,
                                related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    params = models.JSONField(help_text="The crowd and sample asked for, seed included")
    status = models.CharField(max_length=16, choices=SimulationStatus.choices,
                              default=SimulationStatus.QUEUED)
    report = models.JSONField(null=True, blank=True)
    detail = models.JSONField(null=True, blank=True,
                              help_text="Per spammer and per sweep variant figures")
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"])]
