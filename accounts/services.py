from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from knox.models import AuthToken

from config.errors import InvalidInput
from marketplace.services import organization_create
from workers.services import worker_profile_create

from .enums import Role
from .models import User


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def token_issue(*, user: User) -> IssuedToken:
    instance, token = AuthToken.objects.create(user=user)
    return IssuedToken(token=token, expires_at=instance.expiry)


def token_revoke(*, token: AuthToken) -> None:
    token.delete()


def _email_taken() -> InvalidInput:
    return InvalidInput("An account with this email already exists.", code="email_taken",
                        fields={"email": ["An account with this email already exists."]})


def user_register(*, email: str, password: str, role: str,
                  organization_name: str = "") -> tuple[User, IssuedToken]:
    """Create an account; a requester gets a new organization and owns it."""
    email = User.objects.normalize_email(email).lower()
    if role not in (Role.REQUESTER, Role.WORKER):
        raise InvalidInput(fields={"role": ["Must be 'requester' or 'worker'."]})
    if role == Role.REQUESTER and not organization_name.strip():
        organization_name = f"{email.split('@')[0]}'s organization"
    candidate = User(email=email, username=email, role=role)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise InvalidInput("The password is too weak.", fields={"password": exc.messages})
    if User.objects.filter(email=email).exists():
        raise _email_taken()
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, role=role)
            if role == Role.REQUESTER:
                organization_create(name=organization_name.strip(), owner=user)
            else:
                worker_profile_create(user=user)
            issued = token_issue(user=user)
    except IntegrityError:
        # Two registrations raced for the same email; the unique index decided.
        raise _email_taken()
    return user, issued


def user_login(*, email: str, password: str, request=None) -> tuple[User, IssuedToken]:
    user = authenticate(request, username=User.objects.normalize_email(email).lower(),
                        password=password)
    if user is None:
        raise InvalidInput("Wrong email or password.", code="invalid_credentials",
                           fields={"non_field_errors": ["Wrong email or password."]})
    return user, token_issue(user=user)
