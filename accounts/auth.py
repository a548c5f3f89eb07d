"""``Authorization: Bearer <token>`` authentication with personal API tokens, and what a
locked-out sign-in is answered (django-axes)."""

from collections.abc import Callable
from typing import Any

from axes.helpers import get_failure_limit
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.services import api_token_authenticate, cool_off_minutes

LOCKOUT_TEMPLATE = "registration/locked_out.html"


class BearerTokenMiddleware:
    """Placed after AuthenticationMiddleware. A request with a bearer token is that token's
    user and carries no cookies, so CSRF does not apply to it; a bad token is a 401."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            user = api_token_authenticate(header[7:].strip())
            if user is None:
                return JsonResponse(
                    {
                        "errors": [
                            {
                                "message": "Invalid or revoked API token.",
                                "extensions": {"code": "permission_denied"},
                            }
                        ]
                    },
                    status=401,
                )
            request.user = user
            request.bearer_token = True  # accounts.services.is_bearer_request
            request._dont_enforce_csrf_checks = True
        return self.get_response(request)


def lockout_response(
    request: HttpRequest, response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the admin login and the sign-in page show a page saying the
    sign-in is locked (HTTP 429). A view that answered the lockout itself (the GraphQL login's
    ``OperationInfo``, see :func:`accounts.services.session_login`) keeps its own response."""
    if response is not None and getattr(request, "lockout_answered", False):
        return response
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "cooloff_minutes": cool_off_minutes(request),
    }
    return render(request, LOCKOUT_TEMPLATE, context, status=429)
