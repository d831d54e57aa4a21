"""API errors specific to money. Shapes follow config/errors.py."""
from rest_framework import status

from config.errors import ApiError, PaymentRequired


class ApprovalUnfunded(PaymentRequired):
    """Neither the project's escrow nor the organization's balance covers an approval:
    402 to the person approving; the auto-approve sweep (flows.decisions) skips it and
    tries again once funds arrive."""

    default_detail = "The project's escrow and the organization's balance cannot cover " \
                     "this approval."


class ProviderUnavailableError(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "payment_provider_unavailable"
    default_detail = "The payment provider did not answer; try again shortly."


class ProviderNotConfiguredError(ApiError):
    """Not an outage: nobody configured a provider. Its own code and a 409 (the platform's
    state forbids it), never a 503 that would invite retrying."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "payment_provider_not_configured"
    default_detail = ("No payment provider is configured: set STRIPE_SECRET_KEY, or "
                      "PAYMENTS_SANDBOX=true for test money.")


class ProviderDeclinedError(ApiError):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "payment_provider_declined"
    default_detail = "The payment provider refused the request."
