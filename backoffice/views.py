from typing import Any

from strawberry.django.views import GraphQLView as BaseGraphQLView

from backoffice.schema import schema


class GraphQLView(BaseGraphQLView):
    """The GraphQL endpoint. CSRF stays on for session users; bearer-token requests are exempted
    by :class:`backoffice.auth.BearerTokenMiddleware`."""

    def __init__(self, **kwargs: Any) -> None:
        # strawberry's view takes the schema as an argument (a class attribute is not enough).
        kwargs.setdefault("schema", schema)
        super().__init__(**kwargs)
