"""Registration: an account and what its role needs, in one transaction. A requester
gets a new organization and owns it; a worker gets a profile (status applicant)."""
from django.db import transaction

from accounts import services as accounts
from accounts.enums import Role
from accounts.models import User
from marketplace import services as marketplace
from workers import services as workers


def register(*, email: str, password: str, role: str,
             organization_name: str = "") -> tuple[User, accounts.IssuedToken]:
    with transaction.atomic():
        user = accounts.user_create(email=email, password=password, role=role)
        if role == Role.REQUESTER:
            name = organization_name.strip() or f"{user.email.split('@')[0]}'s organization"
            marketplace.organization_create(name=name, owner=user)
        else:
            workers.worker_profile_create(user=user)
        return user, accounts.token_issue(user=user)
