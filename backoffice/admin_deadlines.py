"""Admin of the deadline jobs: their heartbeats and the rows they could not apply."""

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice import jobs
from backoffice.admin_helpers import ReadOnlyAdmin
from backoffice.models import FailedDeadlineItem, JobHeartbeat


@admin.register(JobHeartbeat)
class JobHeartbeatAdmin(ReadOnlyAdmin):
    list_display = (
        "job",
        "schedule",
        "last_started_at",
        "last_finished_at",
        "items_done",
        "failures",
        "last_error",
    )
    search_fields = ("job",)

    @admin.display(description=_("schedule (cron)"))
    def schedule(self, obj: JobHeartbeat) -> str:
        return jobs.deadline_cron(obj.job)


@admin.register(FailedDeadlineItem)
class FailedDeadlineItemAdmin(admin.ModelAdmin):
    """Read-only records; staff act on them with the two actions only."""

    list_display = (
        "job",
        "model",
        "object_link",
        "error",
        "attempts",
        "parked",
        "dismissed",
        "first_failed_at",
        "last_failed_at",
    )
    list_filter = ("parked", "dismissed", "job")
    search_fields = ("job", "=object_pk", "error")
    actions = ("retry_now", "dismiss")

    @admin.display(description=_("object"), ordering="object_pk")
    def object_link(self, obj: FailedDeadlineItem) -> str:
        """The row's admin page, when its model has one."""
        app_label, _dot, model_name = obj.model.partition(".")
        try:
            url = reverse(f"admin:{app_label}_{model_name.lower()}_change", args=[obj.object_pk])
        except NoReverseMatch:
            return obj.object_pk
        return format_html('<a href="{}">{}</a>', url, obj.object_pk)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in FailedDeadlineItem._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description=_("Retry now"), permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[FailedDeadlineItem]) -> None:
        with transaction.atomic():
            items = self._change(
                request, queryset, "retry now", attempts=0, parked=False, dismissed=False
            )
            for job in sorted({item.job for item in items}):
                if job in jobs.deadlines.jobs():
                    jobs.defer_after_commit(jobs.deadline_task(job))
        self.message_user(
            request,
            ngettext(
                "%(count)d item will be retried by its job's next run (queued now).",
                "%(count)d items will be retried by their jobs' next run (queued now).",
                len(items),
            )
            % {"count": len(items)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Dismiss (leave the row as it is)"), permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[FailedDeadlineItem]) -> None:
        with transaction.atomic():
            items = self._change(request, queryset, "dismissed", parked=True, dismissed=True)
        self.message_user(
            request,
            ngettext(
                "%(count)d item dismissed: its job no longer takes it.",
                "%(count)d items dismissed: their jobs no longer take them.",
                len(items),
            )
            % {"count": len(items)},
            messages.SUCCESS,
        )

    def _change(
        self,
        request: HttpRequest,
        queryset: QuerySet[FailedDeadlineItem],
        note: str,
        **fields: object,
    ) -> list[FailedDeadlineItem]:
        """Lock the selected items, set ``fields`` on them and log ``note`` on each; the items."""
        items = list(queryset.select_for_update())
        queryset.update(**fields)
        for item in items:
            self.log_change(request, item, note)
        return items
