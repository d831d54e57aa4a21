from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

from .enums import Role


class QuorumUserManager(UserManager):
    """Email is the login; ``username`` mirrors it so Django's admin keeps working."""

    def _create_user(self, username, email, password, **extra_fields):
        email = self.normalize_email(email or username).lower()
        return super()._create_user(email, email, password, **extra_fields)

    def create_user(self, email=None, password=None, **extra_fields):
        return super().create_user(email, email, password, **extra_fields)

    def create_superuser(self, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(email, email, password, **extra_fields)


class User(AbstractUser):
    email = models.EmailField(unique=True)
    role = models.CharField(max_length=16, choices=Role.choices,
                            help_text="requester, worker or admin (staff)")

    objects = QuorumUserManager()

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def clean(self):
        super().clean()
        # The admin's user forms bypass the manager; without this an added user keeps a
        # mixed-case email the login cannot match and an empty, unique username.
        self.email = self.email.lower()
        self.username = self.email

    @property
    def is_requester(self) -> bool:
        return self.role == Role.REQUESTER

    @property
    def is_worker(self) -> bool:
        return self.role == Role.WORKER

    @property
    def is_admin(self) -> bool:
        return self.is_staff

    def __str__(self) -> str:
        return self.email


class IdempotencyRecord(models.Model):
    """The first response to a create request sent with an ``Idempotency-Key`` header.

    The unique (user, key) index is the real guard: a concurrent duplicate blocks on it
    until the first request commits, then replays the stored response.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="uniq_idempotency_key"),
        ]

    def __str__(self) -> str:
        return f"Idempotency record {self.pk}"
