"""Sessions, the session's user and flash messages: for the pages (the worker web app,
the console, /admin/), not for the API.

The API authenticates each request by its bearer token (accounts/authentication.py) and
keeps no state in cookies, yet Django's SessionMiddleware, AuthenticationMiddleware and
MessageMiddleware ran for every API request: a session store, a lazy user and a message
storage whose cookie part builds a signer, about 28 us a request and 3 % of the
instructions of a worker's next -> submit cycle (bench/cycle_instructions.py). Under
``/api/`` they step aside; everywhere else they are Django's own. (Django's admin checks
accept them: they are subclasses of the classes it looks for.)
"""
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware

API_PREFIX = "/api/"


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


class PageSessionMiddleware(SessionMiddleware):
    def process_request(self, request):
        if not is_api(request):
            super().process_request(request)

    def process_response(self, request, response):
        if not hasattr(request, "session"):
            return response
        return super().process_response(request, response)


class PageAuthenticationMiddleware(AuthenticationMiddleware):
    def process_request(self, request):
        if not is_api(request):
            super().process_request(request)


class PageMessageMiddleware(MessageMiddleware):
    # Its process_response already passes over a request without messages.
    def process_request(self, request):
        if not is_api(request):
            super().process_request(request)
