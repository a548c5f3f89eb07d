"""``Authorization: Bearer <token>`` authentication with personal API tokens."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from accounts.services import api_token_authenticate


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
            request._dont_enforce_csrf_checks = True
        return self.get_response(request)
