from .models import User


def me_describe(*, user: User) -> dict:
    """What /me shows: identity, and the organization or worker profile behind it."""
    description = {"id": user.pk, "email": user.email, "role": user.role,
                   "is_staff": user.is_staff}
    membership = getattr(user, "membership", None)
    if membership is not None:
        description["organization"] = {"id": membership.organization_id,
                                       "name": membership.organization.name}
        description["organization_role"] = membership.role
    profile = getattr(user, "worker_profile", None)
    if profile is not None:
        description["worker_id"] = profile.pk
    return description
