"""Admin of outbound events and webhooks: endpoints (added and changed through the services, the
secret shown once), deliveries with their attempts and a **Retry** action, and the events."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backoffice import events
from backoffice.admin_helpers import ReadOnlyMixin
from backoffice.composition import webhooks
from backoffice.errors import error_text
from backoffice.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint

RETRY_PERM = "backoffice.change_webhookendpoint"


class WebhookEndpointForm(forms.ModelForm):
    url = forms.CharField(label=_("URL"), max_length=500)  # checked by webhooks.check_url
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in events.TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every type."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "event_types", "store", "active")

    def clean_url(self) -> str:
        return webhooks.check_url(self.cleaned_data["url"], field=None)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "store", "active", "failure_count", "disabled_at", "created_at")
    list_filter = ("active",)
    search_fields = ("url", "description", "=store__platform_store_id")
    list_select_related = ("store",)
    readonly_fields = ("masked_secret", "failure_count", "disabled_at", "created_by")
    autocomplete_fields = ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = ["url", "description", "event_types", "store"]
        if obj is None:
            return fields
        return [*fields, "active", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("store", *self.readonly_fields) if obj is not None else ()

    @admin.display(description=_("secret"))
    def masked_secret(self, endpoint: WebhookEndpoint) -> str:
        return endpoint.masked_secret

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            if change:
                saved = webhooks.endpoint_update(
                    actor=request.user,
                    endpoint_id=obj.pk,
                    url=data["url"],
                    event_types=list(data["event_types"]),
                    description=data["description"],
                    active=data["active"],
                )
            else:
                saved = webhooks.endpoint_create(
                    actor=request.user,
                    url=data["url"],
                    event_types=list(data["event_types"]),
                    store_id=data["store"].pk if data.get("store") else None,
                    description=data["description"],
                )
                self.message_user(
                    request,
                    gettext(
                        "The endpoint's signing secret, shown this once: %(secret)s — keep it "
                        "where the receiver can read it."
                    )
                    % {"secret": saved.secret},
                    messages.WARNING,
                )
        except (ValidationError, PermissionDenied) as exc:  # checked by the form already
            raise PermissionDenied(error_text(exc)) from exc
        obj.pk, obj.secret = saved.pk, saved.secret

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        webhooks.endpoint_delete(actor=request.user, endpoint_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for endpoint in queryset:
            self.delete_model(request, endpoint)


class WebhookAttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = WebhookAttempt
    fields = ("at", "status_code", "duration_ms", "error")
    readonly_fields = fields
    extra = 0


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "event", "endpoint", "status", "attempts", "last_status_code")
    list_display += ("next_attempt_at", "delivered_at")
    list_filter = ("status", ("endpoint", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("event", "endpoint")
    fields = ("event", "endpoint", "status", "attempts", "next_attempt_at", "last_status_code")
    fields += ("last_error", "created_at", "delivered_at")
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = ["retry"]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RETRY_PERM)

    @admin.action(
        description=_("Retry: send the selected deliveries again now"), permissions=["retry"]
    )
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        done, refused = 0, []
        for delivery in queryset:
            try:
                webhooks.delivery_retry(actor=request.user, delivery_id=delivery.pk)
                done += 1
            except (ValidationError, PermissionDenied) as exc:
                refused.append(f"#{delivery.pk}: {error_text(exc)}")
        if done:
            self.message_user(
                request, gettext("%(count)s deliveries will be sent again.") % {"count": done}
            )
        for message in refused:
            self.message_user(request, message, messages.ERROR)


@admin.register(Event)
class EventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "type", "object_type", "object_id", "store", "occurred_at")
    list_filter = ("type",)
    search_fields = ("=store__platform_store_id", "type")
    list_select_related = ("store",)
    fields = ("type", "object_type", "object_id", "store", "payload", "occurred_at", "created_at")
    readonly_fields = fields
    date_hierarchy = "created_at"
