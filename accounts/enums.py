from django.db import models


class Role(models.TextChoices):
    REQUESTER = "requester", "Requester"
    WORKER = "worker", "Worker"
    ADMIN = "admin", "Admin"
