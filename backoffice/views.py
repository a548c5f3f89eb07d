from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET
from strawberry.django.views import GraphQLView as BaseGraphQLView

from backoffice.errors import Code
from backoffice.schema import schema


@method_decorator(ensure_csrf_cookie, name="dispatch")
class GraphQLView(BaseGraphQLView):
    """The GraphQL endpoint. CSRF stays on for session users; bearer-token requests are exempted
    by :class:`backoffice.auth.BearerTokenMiddleware`. Every answer sets the ``csrftoken``
    cookie when the client has none (GET /graphql/ hands it out)."""

    def __init__(self, **kwargs: Any) -> None:
        # strawberry's view takes the schema as an argument (a class attribute is not enough).
        kwargs.setdefault("schema", schema)
        super().__init__(**kwargs)


@require_GET
@never_cache
@ensure_csrf_cookie
def csrf_token(request: HttpRequest) -> JsonResponse:
    """``GET /auth/csrf/``: what a front-end calls first. Sets the ``csrftoken`` cookie and
    returns the token to send back as the ``X-CSRFToken`` header of each session POST."""
    return JsonResponse({"csrfToken": get_token(request)})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a session POST to /graphql/ without a valid CSRF token gets a JSON
    error with a code (HTTP 403); other pages keep Django's page."""
    if request.path != reverse("graphql"):
        return django_csrf_failure(request, reason)
    message = _(
        "CSRF check failed (%(reason)s): GET /auth/csrf/ first (and again after signing in), "
        "then send its token as the X-CSRFToken header with the csrftoken cookie, or use an "
        "API token (Bearer)."
    ) % {"reason": reason}
    error = {"message": message, "extensions": {"code": Code.PERMISSION_DENIED.value}}
    return JsonResponse({"errors": [error]}, status=403)
