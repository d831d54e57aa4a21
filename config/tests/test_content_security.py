"""config.content_security.CSPMiddleware writes exactly the headers django-csp's own
middleware writes, in every case the library distinguishes, while building the settings'
policy only once."""
import re

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONCE, SELF
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as LibraryCSPMiddleware
from django.http import JsonResponse
from django.test import RequestFactory, override_settings

from config import content_security
from config.content_security import CSPMiddleware

REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'none'"], "report-uri": "/csp-report"}}
EXCLUDING_API = {"EXCLUDE_URL_PREFIXES": ["/api/"], "DIRECTIVES": {"default-src": ["'self'"]}}


def _headers(middleware_class, path="/api/v1/worker/tasks/next", view=None, status=200):
    def respond(request):
        if view is not None:
            return view(request)
        return JsonResponse({}, status=status)

    middleware = middleware_class(respond)
    request = RequestFactory().post(path)
    response = middleware(request)
    return {name: response.get(name) for name in (HEADER, HEADER_REPORT_ONLY)}, request


def _same_as_library(**kwargs) -> dict:
    ours, _ = _headers(CSPMiddleware, **kwargs)
    library, _ = _headers(LibraryCSPMiddleware, **kwargs)
    assert ours == library
    return ours


def _updated(request):
    response = JsonResponse({})
    response._csp_update = {"style-src": ["'unsafe-inline'"]}
    return response


def _exempt(request):
    response = JsonResponse({})
    response._csp_exempt = True
    return response


def _with_nonce(request):
    nonce = str(request.csp_nonce)
    return JsonResponse({"nonce": nonce})


def _header_already_set(request):
    response = JsonResponse({})
    response[HEADER] = "default-src 'none'"
    return response


def test_an_api_response_gets_the_settings_policy():
    headers = _same_as_library()
    assert "default-src 'self'" in headers[HEADER] and headers[HEADER_REPORT_ONLY] is None


@pytest.mark.parametrize("view", [_updated, _exempt, _header_already_set],
                         ids=["view-update", "exempt", "header-set-by-view"])
def test_a_response_with_its_own_policy_gets_what_django_csp_gives_it(view):
    headers = _same_as_library(view=view)
    if view is _updated:
        assert "'unsafe-inline'" in headers[HEADER]
    if view is _exempt:
        assert headers[HEADER] is None
    if view is _header_already_set:
        assert headers[HEADER] == "default-src 'none'"


@override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"script-src": [SELF, NONCE]}})
def test_a_request_that_used_its_nonce_gets_it_in_the_header():
    ours, _ = _headers(CSPMiddleware, view=_with_nonce)
    library, _ = _headers(LibraryCSPMiddleware, view=_with_nonce)

    assert re.search(r"script-src 'self' 'nonce-[A-Za-z0-9+/=]+'", ours[HEADER])
    assert re.sub(r"nonce-\S+'", "", ours[HEADER]) == re.sub(r"nonce-\S+'", "", library[HEADER])


@override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY=REPORT_ONLY)
def test_a_report_only_policy_from_the_settings_is_written_too():
    headers = _same_as_library()
    assert "report-uri /csp-report" in headers[HEADER_REPORT_ONLY]


def test_changed_settings_are_read_again():
    _same_as_library()
    with override_settings(CONTENT_SECURITY_POLICY=EXCLUDING_API):
        assert _same_as_library() == {HEADER: None, HEADER_REPORT_ONLY: None}
        assert _same_as_library(path="/app/")[HEADER] == "default-src 'self'"
    assert "frame-ancestors 'none'" in _same_as_library()[HEADER]


@override_settings(DEBUG=True)
def test_debug_error_pages_are_left_alone_as_django_csp_leaves_them():
    assert _same_as_library(status=404) == {HEADER: None, HEADER_REPORT_ONLY: None}


def test_a_nonce_asked_for_after_the_header_was_written_is_an_error():
    _, request = _headers(CSPMiddleware)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_the_settings_policy_is_built_once(monkeypatch):
    content_security._settings_policies.cache_clear()
    built = []
    real_build = content_security.build_policy
    monkeypatch.setattr(content_security, "build_policy",
                        lambda **kwargs: built.append(kwargs) or real_build(**kwargs))
    for _ in range(5):
        _headers(CSPMiddleware)
    assert len(built) == 2  # the policy and the report-only policy, once each
    content_security._settings_policies.cache_clear()
