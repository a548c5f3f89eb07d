"""The GraphQL endpoint, hardened against malformed requests.

Whatever a client sends, the answer is JSON: a request GraphQL cannot even start on (a body
that is not a JSON object, bytes that are not UTF-8, JSON nested too deeply, ``variables``
that are not an object, a mutation over GET, an unsupported content type, a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE``) is ``{"errors": [{"message": ..., "extensions": {"code":
"invalid"}}]}`` with a 4xx status, never a 500 or an HTML page.
"""

import json
from collections.abc import Iterator
from typing import Any

from cross_web import DjangoHTTPRequestAdapter, HTTPException, SyncHTTPRequestAdapter
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import csrf as django_csrf
from django.views import defaults as django_defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET
from strawberry.django.views import GraphQLView as BaseGraphQLView
from strawberry.http import GraphQLRequestData

from backoffice.composition.schema import schema
from backoffice.errors import Code


def error_response(message: str, *, status: int = 400) -> JsonResponse:
    """A request-level refusal in the shape of a GraphQL response, with the contract's code."""
    code = Code.NOT_FOUND if status == 404 else Code.INVALID
    error = {"message": message, "extensions": {"code": code.value}}
    return JsonResponse({"errors": [error]}, status=status)


def _is_graphql(request: HttpRequest) -> bool:
    return request.path_info.startswith("/graphql/")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a JSON 403 on /graphql/ (``permission_denied``), Django's page
    elsewhere. A session POST needs the ``csrftoken`` cookie's value in ``X-CSRFToken``."""
    if not _is_graphql(request):
        return django_csrf.csrf_failure(request, reason=reason)
    message = _(
        "CSRF check failed (%(reason)s): GET /auth/csrf/ first (and again after signing in), "
        "then send its token as the X-CSRFToken header with the csrftoken cookie, or use an "
        "API token (Bearer)."
    )
    error = {"message": message % {"reason": reason}, "extensions": {"code": "permission_denied"}}
    return JsonResponse({"errors": [error]}, status=403)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: what Django refuses before the view (e.g. a form body over the size limit
    read by the CSRF check) is JSON on /graphql/ too."""
    if not _is_graphql(request):
        return django_defaults.bad_request(request, exception)
    return error_response(_("Bad request."))


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a bug is still JSON on /graphql/ (the details go to the log, not the client)."""
    if not _is_graphql(request):
        return django_defaults.server_error(request)
    return JsonResponse({"errors": [{"message": _("Internal server error.")}]}, status=500)


def _children(value: object) -> Iterator[object]:
    if isinstance(value, dict):
        yield from value.keys()
        yield from value.values()
    elif isinstance(value, list):
        yield from value


def check_json(value: object, *, max_depth: int, what: str) -> None:
    """Refuse JSON nested deeper than ``max_depth`` (``{}`` and ``[]`` are one level) or with a
    string that is not Unicode text (a lone surrogate such as ``"\\ud800"``, which JSON allows
    and no database stores). Iterative: a hostile document cannot exhaust the stack."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise HTTPException(400, _("%s holds a string that is not text.") % what) from None
        elif isinstance(item, dict | list):
            if depth + 1 > max_depth:
                message = _("%(what)s is nested deeper than %(max)d levels.")
                raise HTTPException(400, message % {"what": what, "max": max_depth})
            stack.extend((child, depth + 1) for child in _children(item))


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


class RawBodyRequestAdapter(DjangoHTTPRequestAdapter):
    """Hands the body over as bytes: cross_web decodes it itself, and a body that is not
    UTF-8 then escapes as a UnicodeDecodeError (a 500). ``decode_json`` decodes it strictly."""

    @property
    def body(self) -> bytes:
        return self.request.body


@method_decorator(ensure_csrf_cookie, name="dispatch")
class GraphQLView(BaseGraphQLView):
    """The GraphQL endpoint. CSRF stays on for session users; bearer-token requests are exempted
    by :class:`accounts.auth.BearerTokenMiddleware`. Every answer sets the ``csrftoken``
    cookie when the client has none (GET /graphql/ hands it out)."""

    request_adapter_class = RawBodyRequestAdapter

    def __init__(self, **kwargs: Any) -> None:
        # strawberry's view takes the schema as an argument (a class attribute is not enough).
        kwargs.setdefault("schema", schema)
        super().__init__(**kwargs)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return self.run(request=request)
        except HTTPException as exc:  # strawberry's and ours: plain text there, JSON here
            return error_response(str(exc.reason), status=exc.status_code)
        except RequestDataTooBig:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return error_response(
                _("The request body is larger than %(limit)d bytes.") % {"limit": limit},
                status=413,
            )

    def decode_json(self, data: str | bytes) -> object:
        """Strict JSON: UTF-8 only, no ``NaN``/``Infinity``, an object (or a list: a batch, which
        strawberry then refuses), bounded nesting. Used for the body and for GET's
        ``variables``/``extensions`` parameters."""
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                raise HTTPException(400, _("The request body is not UTF-8 text.")) from None
        try:
            value = json.loads(data, parse_constant=_refuse_constant)
        except RecursionError:
            raise HTTPException(400, _("The request's JSON is nested too deeply.")) from None
        except ValueError:  # JSONDecodeError, and numbers past Python's digit limit
            raise HTTPException(400, _("The request's JSON is not valid.")) from None
        if not isinstance(value, dict | list):
            raise HTTPException(400, _("The request's JSON must be an object."))
        # The body wraps the variables in one more level than they have themselves.
        check_json(value, max_depth=settings.GRAPHQL_MAX_VARIABLE_DEPTH + 1, what=_("The JSON"))
        return value

    def parse_http_body(
        self, request: SyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            limit = settings.GRAPHQL_MAX_VARIABLE_DEPTH
            check_json(item.variables or {}, max_depth=limit, what="variables")
            check_json(item.extensions or {}, max_depth=limit, what="extensions")
            if item.operation_name is not None and not isinstance(item.operation_name, str):
                raise HTTPException(400, _("operationName must be a string."))
        return data

    def render_graphql_ide(self, request: HttpRequest) -> HttpResponse:
        """GraphiQL from our own static files (backoffice/static/graphiql/): no CDN needed.
        Read per request, so that GRAPHIQL_ENABLED can be changed without a new URLconf."""
        if not settings.GRAPHIQL_ENABLED:
            raise HTTPException(404, _("GraphiQL is not enabled on this server."))
        get_token(request)  # the page sends the csrftoken cookie back as X-CSRFToken
        return HttpResponse(render_to_string("graphql/graphiql.html", request=request))


@require_GET
@never_cache
@ensure_csrf_cookie
def csrf_token(request: HttpRequest) -> JsonResponse:
    """``GET /auth/csrf/``: what a front-end calls first. Sets the ``csrftoken`` cookie and
    returns the token to send back as the ``X-CSRFToken`` header of each session POST."""
    return JsonResponse({"csrfToken": get_token(request)})
