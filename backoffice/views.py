from strawberry.django.views import GraphQLView as BaseGraphQLView

from backoffice.schema import schema


class GraphQLView(BaseGraphQLView):
    """The GraphQL endpoint. CSRF stays on for session users; bearer-token requests are exempted
    by :class:`backoffice.auth.BearerTokenMiddleware`."""

    schema = schema
