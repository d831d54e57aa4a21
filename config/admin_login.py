"""The Django admin login is throttled by django-axes: failures are recorded per
(username, client address) as AccessAttempt and AccessFailureLog rows (the audit of failed
staff logins, browsable in the admin), and after ``AXES_FAILURE_LIMIT`` failures that pair
is refused with 429 for ``AXES_COOLOFF_TIME``.

The API login has its own per-client throttle (``THROTTLE_AUTH_RATE``); axes is limited to
the admin site (``AXES_ONLY_ADMIN_SITE``)."""
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler


class AdminLoginGuardBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        # Code that authenticates without a request (management commands, older callers)
        # is not a login form: nothing to throttle, and axes would refuse to run.
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class AdminOnlyDatabaseHandler(AxesDatabaseHandler):
    """axes' database handler, blind to logins outside the admin site: its login signals
    fire for the API login too, and AXES_ONLY_ADMIN_SITE only stops the lockout there,
    not the recording."""

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        if request is not None and self.is_admin_request(request):
            super().user_login_failed(sender, credentials, request, **kwargs)

    def user_logged_in(self, sender, request, user, **kwargs):
        if request is not None and self.is_admin_request(request):
            super().user_logged_in(sender, request, user, **kwargs)

    def user_logged_out(self, sender, request, user, **kwargs):
        if request is not None and self.is_admin_request(request):
            super().user_logged_out(sender, request, user, **kwargs)
