from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from knox.models import AuthToken

from config.errors import InvalidInput
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


def user_create(*, email: str, password: str, role: str) -> User:
    """A new account (in the caller's transaction: registration adds the organization or
    worker profile, flows/accounts.py). Weak passwords and taken emails are a 400."""
    email = User.objects.normalize_email(email).lower()
    if role not in (Role.REQUESTER, Role.WORKER):
        raise InvalidInput(fields={"role": ["Must be 'requester' or 'worker'."]})
    candidate = User(email=email, username=email, role=role)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise InvalidInput("The password is too weak.", fields={"password": exc.messages})
    if User.objects.filter(email=email).exists():
        raise _email_taken()
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, role=role)
    except IntegrityError:
        # Two registrations raced for the same email; the unique index decided.
        raise _email_taken()


def user_anonymize(*, user: User, placeholder_email: str) -> None:
    """Erase what identifies the person behind an account, close it and revoke its
    tokens (a worker's right to erasure); the row stays for the records that cite it."""
    user.email = user.username = placeholder_email
    user.first_name = user.last_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save(update_fields=["email", "username", "first_name", "last_name", "is_active",
                             "password"])
    AuthToken.objects.filter(user=user).delete()


def user_login(*, email: str, password: str, request=None) -> tuple[User, IssuedToken]:
    user = authenticate(request, username=User.objects.normalize_email(email).lower(),
                        password=password)
    if user is None:
        raise InvalidInput("Wrong email or password.", code="invalid_credentials",
                           fields={"non_field_errors": ["Wrong email or password."]})
    return user, token_issue(user=user)
