"""The root schema: each app's ``Query`` and ``Mutation`` merged, the optimizer, and limits on
what one request may ask (depth, aliases, tokens; page sizes are capped by the connections)."""

import strawberry
import strawberry_django
from django.conf import settings
from strawberry import relay
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry_django.optimizer import DjangoOptimizerExtension

from accounts.schema import Mutation as AccountsMutation
from accounts.schema import Query as AccountsQuery
from backoffice.composition.webhooks_schema import Mutation as WebhooksMutation
from backoffice.composition.webhooks_schema import Query as WebhooksQuery
from backoffice.graphql.errors import ErrorCodes
from backoffice.graphql.introspection import IntrospectionPolicy
from backoffice.graphql.relay import StrictNodeId, max_page_size
from backoffice.graphql.scalars import SCALAR_OVERRIDES
from backoffice.graphql.speed import Schema, speed_up
from disputes.schema import Mutation as DisputesMutation
from disputes.schema import Query as DisputesQuery
from orders.schema import Mutation as OrdersMutation
from orders.schema import Query as OrdersQuery
from payouts.schema import Mutation as PayoutsMutation
from payouts.schema import Query as PayoutsQuery


@strawberry.type(name="Query")
class NodeQuery:
    node: relay.Node | None = strawberry_django.node(
        description="Any object by its global ID; null when it does not exist or is not yours.",
        extensions=[StrictNodeId()],
    )


Query = merge_types(
    "Query",
    (NodeQuery, AccountsQuery, OrdersQuery, DisputesQuery, PayoutsQuery, WebhooksQuery),
)
Mutation = merge_types(
    "Mutation",
    (AccountsMutation, OrdersMutation, DisputesMutation, PayoutsMutation, WebhooksMutation),
)

schema = Schema(
    query=Query,
    mutation=Mutation,
    config=StrawberryConfig(relay_max_results=max_page_size()),
    scalar_overrides=SCALAR_OVERRIDES,
    # Classes or factories: strawberry builds fresh extension instances for each request.
    extensions=[
        ErrorCodes,
        IntrospectionPolicy,
        DjangoOptimizerExtension,
        lambda: QueryDepthLimiter(max_depth=settings.GRAPHQL_MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=settings.GRAPHQL_MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=settings.GRAPHQL_MAX_TOKENS),
    ],
)
speed_up(schema)
