"""GraphQL for webhooks: staff only (``backoffice.view_webhookendpoint`` to read, add, change and
delete permissions to write). Sellers see no endpoint and cannot make one: an endpoint makes the
server call a URL, so it is configured by the platform's staff, per store or platform-wide."""

from datetime import datetime
from typing import Any

import strawberry
import strawberry_django
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from strawberry import relay

from backoffice.composition import webhooks
from backoffice.graphql import (
    Connection,
    GlobalId,
    Scoped,
    enum_from_choices,
    max_page_size,
    service_mutation,
)
from backoffice.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from backoffice.permissions import staff_with

VIEW_PERM = "backoffice.view_webhookendpoint"
DeliveryStatus = enum_from_choices("WebhookDeliveryStatus", WebhookDelivery.Status.choices)


def visible(queryset: QuerySet, user: Any) -> QuerySet:
    """Everything for staff who may view endpoints; nothing for anyone else."""
    return queryset if staff_with(user, VIEW_PERM) else queryset.none()


@strawberry_django.type(WebhookAttempt, name="WebhookAttempt")
class WebhookAttemptType(Scoped, relay.Node):
    at: datetime
    status_code: int | None
    duration_ms: int
    error: str

    @staticmethod
    def scope(user: Any, queryset: QuerySet) -> QuerySet:
        return visible(queryset, user).order_by("at", "pk")


@strawberry_django.type(WebhookDelivery, name="WebhookDelivery")
class WebhookDeliveryType(Scoped, relay.Node):
    attempts: int = strawberry_django.field(description="Attempts in its current schedule.")
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
    log: Connection[WebhookAttemptType] = strawberry_django.connection(
        ordering=None, max_results=max_page_size(), description="Every attempt, oldest first."
    )

    @strawberry_django.field(only=["status"])
    def status(self, root: strawberry.Parent[WebhookDelivery]) -> DeliveryStatus:  # type: ignore[valid-type]
        return DeliveryStatus(root.status)

    @strawberry_django.field(only=["event_id"], description="The event's id (X-Webhook-Id).")
    def event_id(self, root: strawberry.Parent[WebhookDelivery]) -> int:
        return root.event_id

    @strawberry_django.field(
        select_related=["event"], only=["event__type"], description="The event's type."
    )
    def event_type(self, root: strawberry.Parent[WebhookDelivery]) -> str:
        return root.event.type

    @staticmethod
    def scope(user: Any, queryset: QuerySet) -> QuerySet:
        return visible(queryset, user).order_by("-pk")


@strawberry_django.type(WebhookEndpoint, name="WebhookEndpoint")
class WebhookEndpointType(Scoped, relay.Node):
    url: str
    description: str
    event_types: list[str] = strawberry_django.field(description="Empty: every event type.")
    active: bool
    failure_count: int = strawberry_django.field(
        description="Deliveries in a row that failed for good."
    )
    disabled_at: datetime | None
    created_at: datetime
    deliveries: Connection[WebhookDeliveryType] = strawberry_django.connection(
        ordering=None, max_results=max_page_size(), description="Its deliveries, newest first."
    )

    @strawberry_django.field(only=["secret"], description="The signing secret, masked.")
    def secret(self, root: strawberry.Parent[WebhookEndpoint]) -> str:
        return root.masked_secret

    @strawberry_django.field(only=["store_id"], description="Its store; null: platform-wide.")
    def store_id(self, root: strawberry.Parent[WebhookEndpoint]) -> relay.GlobalID | None:
        return (
            None if root.store_id is None else relay.GlobalID("SellerAccount", str(root.store_id))
        )

    @staticmethod
    def scope(user: Any, queryset: QuerySet) -> QuerySet:
        return visible(queryset, user).order_by("pk")


@strawberry.type(name="Query")
class Query:
    webhook_endpoints: Connection[WebhookEndpointType] = strawberry_django.connection(
        ordering=None,
        max_results=max_page_size(),
        description="Webhook endpoints; staff with backoffice.view_webhookendpoint only.",
    )


@strawberry.type(description="A new endpoint: `secret` is shown this once and never again.")
class WebhookEndpointCreated:
    secret: str
    webhook_endpoint: WebhookEndpointType


@strawberry.type(description="Deleted; `message` says what.")
class WebhookEndpointDeleted:
    message: str


@strawberry.input
class WebhookEndpointCreateInput:
    url: str
    event_types: list[str] = strawberry.field(default_factory=list)
    store_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this store's events; null: platform-wide."
    )
    description: str = ""


@strawberry.input
class WebhookEndpointUpdateInput:
    id: strawberry.ID
    url: str | None = None
    event_types: list[str] | None = None
    description: str | None = None
    active: bool | None = strawberry.field(
        default=None, description="true turns a disabled endpoint on again (failures cleared)."
    )


@strawberry.input
class WebhookEndpointDeleteInput:
    id: strawberry.ID


@strawberry.input
class WebhookDeliveryRetryInput:
    id: strawberry.ID


ENDPOINT = {"id": GlobalId(WebhookEndpointType, "endpoint_id")}


def _created(endpoint: WebhookEndpoint) -> WebhookEndpointCreated:
    return WebhookEndpointCreated(secret=endpoint.secret, webhook_endpoint=endpoint)  # type: ignore[arg-type]


def _deleted(_nothing: None) -> WebhookEndpointDeleted:
    return WebhookEndpointDeleted(message=_("The webhook endpoint was deleted."))


@strawberry.type(name="Mutation")
class Mutation:
    webhook_endpoint_create = service_mutation(
        webhooks.endpoint_create,
        WebhookEndpointCreateInput,
        WebhookEndpointCreated,
        ids={"store_id": GlobalId("accounts.schema.SellerAccountType", "store_id")},
        result=_created,
    )
    webhook_endpoint_update = service_mutation(
        webhooks.endpoint_update, WebhookEndpointUpdateInput, WebhookEndpointType, ids=ENDPOINT
    )
    webhook_endpoint_delete = service_mutation(
        webhooks.endpoint_delete,
        WebhookEndpointDeleteInput,
        WebhookEndpointDeleted,
        ids=ENDPOINT,
        result=_deleted,
    )
    webhook_delivery_retry = service_mutation(
        webhooks.delivery_retry,
        WebhookDeliveryRetryInput,
        WebhookDeliveryType,
        ids={"id": GlobalId(WebhookDeliveryType, "delivery_id")},
        description="Send a delivery again now, with a fresh retry schedule.",
    )
