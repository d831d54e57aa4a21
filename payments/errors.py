"""API errors specific to money. Shapes follow config/errors.py."""
from rest_framework import status

from config.errors import ApiError, Conflict, PaymentRequired


class ApprovalUnfunded(PaymentRequired, Conflict):
    """Neither the project's escrow nor the organization's balance covers an approval.

    402 to the person approving (status and code come from PaymentRequired, first in the
    MRO). It is also a Conflict so the auto-approve sweep, which skips assignments that
    raise Conflict, leaves the assignment submitted and tries again once funds arrive,
    instead of failing the whole sweep.
    """

    default_detail = "The project's escrow and the organization's balance cannot cover " \
                     "this approval."


class ProviderUnavailableError(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "payment_provider_unavailable"
    default_detail = "The payment provider did not answer; try again shortly."


class ProviderDeclinedError(ApiError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "payment_provider_declined"
    default_detail = "The payment provider refused the request."
