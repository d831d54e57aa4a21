from accounts.models import User

from ..enums import MemberRole
from ..models import Membership, Organization


def organization_create(*, name: str, owner: User) -> Organization:
    organization = Organization.objects.create(name=name)
    Membership.objects.create(organization=organization, user=owner, role=MemberRole.OWNER)
    return organization
