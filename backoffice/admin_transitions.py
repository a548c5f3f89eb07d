"""Admin buttons, bulk actions and add views that go through services.

django-fsm's admin mixin runs any posted transition name and saves without our services
(STYLE.md, "Known sharp edges"), so it is not used. Instead a ModelAdmin declares
``object_actions``: an explicit whitelist from a name (usually the transition's) to the service
that performs it. A name outside that dict is a 404. The service is always the authority; the
admin only hides what the viewer clearly cannot use (model permission) and explains the rest.

    class OrderAdmin(TransitionAdminMixin, admin.ModelAdmin):
        service_id_arg = "order_id"
        object_actions = {"ship": ObjectAction("Ship", order_ship, "orders.transition_order",
                                               form=ShipForm)}
        actions = [bulk_action("ship", "Ship selected orders", carrier="...")]
"""

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_list import _boolean_icon
from django.contrib.admin.utils import (
    display_for_field,
    label_for_field,
    lookup_field,
    quote,
    unquote,
)
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.contenttypes.admin import GenericInlineModelAdmin, GenericTabularInline
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, models
from django.db.models import QuerySet
from django.forms.models import _get_foreign_key
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import linebreaksbr
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django_fsm import FSMFieldMixin

from backoffice.admin_helpers import ReadOnlyMixin
from backoffice.audit import TransitionLog
from backoffice.errors import RACE_LOST, error_text
from backoffice.forms import DECIMAL_OVERRIDES
from backoffice.fsm import TransitionCheck, state_field, transition_checks
from backoffice.models import FieldChange

APPLY = "_apply"  # the submit button of an intermediate form; without it a POST shows the form
CONFIRM = "_confirm"  # the submit button of a money move's confirmation page
SERVICE_ERRORS = (ValidationError, PermissionDenied)


class LabelledSplitDateTime(AdminSplitDateTime):
    """The admin's date and time inputs, each with its own accessible name (one ``<label>``
    names only the first: axe reports the other as unlabelled)."""

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs)
        self.widgets[0].attrs["aria-label"] = _("Date")
        self.widgets[1].attrs["aria-label"] = _("Time")


@dataclass(frozen=True)
class ObjectAction:
    """One operation offered on an object: a change-page button and the target of bulk actions.

    ``form``'s cleaned data are passed to ``service`` as keyword arguments, next to the object's
    id and ``actor``. ``check`` says whether the viewer may run it now (``None``: not offered on
    this object); by default it is the FSM check of the transition with the same name.
    """

    label: str
    service: Callable[..., Any]
    perm: str
    form: type[forms.Form] | None = None
    check: Callable[[Any, Any], TransitionCheck | None] | None = None
    initial: Callable[[Any], dict[str, Any]] | None = None
    # Moves money: ``effect(obj, data)`` says what moves ("USD 89.00 escrow -> available of
    # Sunrise Gadgets"); a confirmation page shows it before the service runs.
    effect: Callable[[Any, dict[str, Any]], str] | None = None
    # Staff act for someone else (the buyer, the seller): a note saying why is required.
    note_required: bool = False

    def form_class(self) -> type[forms.Form]:
        """The action's form, with a note field when it moves money (required when staff act
        for someone else)."""
        base = self.form or forms.Form
        if self.effect is None:
            return base
        note = copy.deepcopy(base.base_fields.get("note")) or forms.CharField(
            label=_("Note"),
            required=False,
            widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
            help_text=_("Kept in the history with your name."),
        )
        if self.note_required:
            note.required = True
            note.help_text = _("Why you act for them; kept in the history with your name.")
        return type(base.__name__, (base,), {"note": note})


@dataclass(frozen=True)
class Button:
    name: str
    label: str
    allowed: bool
    reason: str
    url: str
    needs_input: bool


def bulk_action(name: str, description: str, *, key: str | None = None, **kwargs: Any) -> Callable:
    """A changelist action running ``object_actions[name]`` on each selected object."""

    def action(
        modeladmin: "TransitionAdminMixin", request: HttpRequest, queryset: QuerySet
    ) -> HttpResponse | None:
        return modeladmin.run_bulk(request, queryset, name, **kwargs)

    action.__name__ = f"bulk_{key or name}"
    action.short_description = description  # type: ignore[attr-defined]
    action.object_action = name  # type: ignore[attr-defined]
    return action


def bulk_note_form(spec: ObjectAction) -> type[forms.Form]:
    """The bulk confirmation's form: the note only (the other input comes from the action)."""
    note = spec.form_class().base_fields["note"]
    return type("BulkNoteForm", (forms.Form,), {"note": note})


def names_a_field(form: forms.Form, exc: ValidationError | PermissionDenied) -> bool:
    """Whether the refusal names a field the form shows (``reserveRate`` is ``reserve_rate``)."""
    if not isinstance(exc, ValidationError) or not hasattr(exc, "error_dict"):
        return False
    shown = {name for name, field in form.fields.items() if not field.widget.is_hidden}
    return any(re.sub(r"(?<!^)(?=[A-Z])", "_", f).lower() in shown for f in exc.error_dict)


def add_service_error(form: forms.Form, exc: ValidationError | PermissionDenied) -> None:
    """Show a service's refusal on the form: next to the field it names when the form shows that
    field (services name fields as GraphQL does: ``reserveRate`` is ``reserve_rate``), else
    above the form."""
    if not isinstance(exc, ValidationError) or not hasattr(exc, "error_dict"):
        form.add_error(None, error_text(exc))
        return
    for field, errors in exc.error_dict.items():
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()
        if name in form.fields and not form.fields[name].widget.is_hidden:
            form.add_error(name, errors)
        else:
            form.add_error(None, error_text(ValidationError({field: errors})))


def has_state(model: type[models.Model]) -> bool:
    return any(isinstance(f, FSMFieldMixin) for f in model._meta.fields)


class TransitionAdminMixin:
    """Mix into a ModelAdmin (before ``admin.ModelAdmin``)."""

    object_actions: dict[str, ObjectAction] = {}
    service_id_arg: str = "id"
    # Read-only inlines (history, field changes) shown on the change page as plain tables read
    # from one query each, without the formset Django builds per request for an inline: the
    # same rows, columns and cells as ``ReadOnlyInline``'s table.
    table_inlines: tuple[type[admin.options.InlineModelAdmin], ...] = ()
    # Set to create objects through a service instead of the ModelForm (see create_object).
    service_add_form: type[forms.Form] | None = None
    change_form_template = "admin/backoffice/change_form.html"
    object_form_template = "admin/backoffice/object_form.html"
    # Any amount a ModelForm edits is read as strictly as the API reads it.
    formfield_overrides = {
        models.DecimalField: DECIMAL_OVERRIDES,
        models.DateTimeField: {"widget": LabelledSplitDateTime},
    }

    # --- the list ---

    def action_checkbox(self, obj: models.Model) -> str:
        """The row's checkbox, the same HTML as Django's, written out instead of rendering the
        checkbox widget's template for every row (a sixth of a 100-order changelist)."""
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )

    # --- URLs and the change page ---

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        view = self.admin_site.admin_view(require_http_methods(["GET", "POST"])(self.action_view))
        return [
            path(
                "<path:object_id>/transition/<str:name>/",
                view,
                name=f"{opts.app_label}_{opts.model_name}_transition",
            ),
            *super().get_urls(),
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict,
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if change and obj is not None:
            context.update(self.change_form_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def change_form_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        """What an existing object's change page adds to its context: the action buttons and
        the read-only tables; a subclass adds its own (a summary card) to these."""
        return {
            "object_buttons": self.object_buttons(request, obj),
            "inline_tables": self.inline_tables(request, obj),
        }

    def inline_tables(self, request: HttpRequest, obj: Any) -> list["InlineTable"]:
        """The ``table_inlines`` the viewer may see, each read once as a plain table."""
        tables = []
        for inline_class in self.table_inlines:
            inline = inline_class(self.model, self.admin_site)
            if inline.has_view_permission(request, obj):
                tables.append(inline_table(inline, request, obj))
        return tables

    def action_checks(self, request: HttpRequest, obj: Any) -> dict[str, TransitionCheck]:
        """The check of every action the viewer holds the permission for, in declared order."""
        fsm = (
            {c.name: c for c in transition_checks(obj, request.user)}
            if has_state(self.model)
            else {}
        )
        checks = {}
        for name, spec in self.object_actions.items():
            if not request.user.has_perm(spec.perm):
                continue
            check = spec.check(obj, request.user) if spec.check else fsm.get(name)
            if check is not None:
                checks[name] = check
        return checks

    def object_buttons(self, request: HttpRequest, obj: Any) -> list[Button]:
        return [
            Button(
                name=name,
                label=self.object_actions[name].label,
                allowed=check.allowed,
                reason=check.reason or "",
                url=self.action_url(obj, name),
                needs_input=self.object_actions[name].form is not None,
            )
            for name, check in self.action_checks(request, obj).items()
        ]

    def action_url(self, obj: Any, name: str) -> str:
        opts = self.model._meta
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_transition",
            args=[quote(obj.pk), name],
            current_app=self.admin_site.name,
        )

    def change_url(self, obj: Any) -> str:
        opts = self.model._meta
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change",
            args=[quote(obj.pk)],
            current_app=self.admin_site.name,
        )

    def object_label(self, obj: Any) -> str:
        return f"{capfirst(self.model._meta.verbose_name)} {obj}"

    # --- one object: GET shows the form, POST with APPLY runs the service ---

    def action_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        spec = self.object_actions.get(name)
        if spec is None:
            raise Http404(f"No action {name!r} here.")
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No {self.model._meta.verbose_name} with id {object_id!r}.")
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        form_class = spec.form_class()
        confirming = False
        if request.method == "POST" and (form_class.base_fields == {} or APPLY in request.POST):
            form = form_class(request.POST)
            if form.is_valid():
                if (
                    spec.effect is not None
                    and CONFIRM not in request.POST
                    and request.user.has_perm(spec.perm)  # else the service refuses below
                ):
                    confirming = True  # valid input: show what moves, ask to confirm
                elif (
                    self.run_object_action(request, obj, name, form.cleaned_data, form=form)
                    is not False
                ):
                    return HttpResponseRedirect(self.change_url(obj))
            elif spec.effect is not None and CONFIRM in request.POST:
                # Only the note is missing: stay on the confirmation, the rest kept hidden.
                confirming = set(form.errors) <= {"note"}
        else:
            check = self.action_checks(request, obj).get(name)
            if check is None or not check.allowed:
                messages.error(
                    request, check.reason if check else "Not available to you on this object."
                )
                return HttpResponseRedirect(self.change_url(obj))
            form = form_class(initial=spec.initial(obj) if spec.initial else None)
            # A money move without input of its own starts at its confirmation.
            confirming = spec.effect is not None and set(form.fields) <= {"note"}
        title = f"{spec.label}: {self.object_label(obj)}"
        effect = None
        if confirming:
            data = form.cleaned_data if form.is_bound else {}
            effect = spec.effect(obj, data)
        return self.render_object_form(
            request, form, obj=obj, title=title, submit_label=spec.label, effect=effect
        )

    def run_object_action(
        self,
        request: HttpRequest,
        obj: Any,
        name: str,
        data: dict,
        form: forms.Form | None = None,
    ) -> bool | None:
        """Run the service as the signed-in user: True when done. A refusal naming a field of
        ``form`` goes beside that field (False: the page comes back with what was typed); any
        other refusal (a permission, the object's state) is a message (None)."""
        spec = self.object_actions[name]
        try:
            result = spec.service(**{self.service_id_arg: obj.pk}, actor=request.user, **data)
        except SERVICE_ERRORS as exc:
            if form is not None and names_a_field(form, exc):
                add_service_error(form, exc)
                return False
            messages.error(request, error_text(exc))
            return None
        text = f"{spec.label}: done for {self.object_label(obj)}."
        if isinstance(result, self.model) and hasattr(result, "get_status_display"):
            text += f" It is now {result.get_status_display().lower()}."
        messages.success(request, text)
        return True

    def render_object_form(
        self,
        request: HttpRequest,
        form: forms.Form,
        *,
        obj: Any,
        title: str,
        submit_label: str,
        effect: str | None = None,
    ) -> TemplateResponse:
        """The action's form; with ``effect``, its confirmation page: what moves, the input as
        hidden fields, and the note (the one field still typed there)."""
        shown = [f for f in form.fields if effect is None or f == "note"]
        fieldsets = [(None, {"fields": shown})]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": obj,
            "title": title,
            "form": form,
            "adminform": helpers.AdminForm(form, fieldsets, {}, model_admin=self),
            "media": self.media + form.media,
            "submit_label": submit_label,
            "apply_name": APPLY,
            "confirm_name": CONFIRM,
            "effect": effect,
            "hidden_fields": [form[f] for f in form.fields if f not in shown],
            "acting_user": request.user,
            "cancel_url": self.change_url(obj) if obj else self.changelist_url(),
            "has_view_permission": self.has_view_permission(request, obj),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.object_form_template, context)

    def changelist_url(self) -> str:
        opts = self.model._meta
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_changelist", current_app=self.admin_site.name
        )

    # --- many objects ---

    def get_actions(self, request: HttpRequest) -> dict:
        """Drop bulk actions whose permission the viewer lacks (the service checks again)."""
        return {
            key: action
            for key, action in super().get_actions(request).items()
            if not hasattr(action[0], "object_action")
            or request.user.has_perm(self.object_actions[action[0].object_action].perm)
        }

    def run_bulk(
        self, request: HttpRequest, queryset: QuerySet, name: str, **kwargs: Any
    ) -> HttpResponse | None:
        """The service once per object, each in its own transaction: one failure stops nothing
        else. Reports the count done, then each failure with the object and the reason. An
        action that moves money first shows what moves for each object and asks to confirm
        (with a note when staff act for someone else)."""
        spec = self.object_actions[name]
        if spec.effect is not None:
            form = bulk_note_form(spec)(request.POST if CONFIRM in request.POST else None)
            if not form.is_valid():
                return self.render_bulk_confirmation(request, queryset, spec, form)
            kwargs = {**kwargs, "note": form.cleaned_data["note"]}
        done, errors = 0, []
        for obj in queryset:
            try:
                spec.service(**{self.service_id_arg: obj.pk}, actor=request.user, **kwargs)
            except SERVICE_ERRORS as exc:
                errors.append(f"{self.object_label(obj)}: {error_text(exc)}")
            else:
                done += 1
        level = messages.SUCCESS if done else messages.WARNING
        messages.add_message(request, level, f"{spec.label}: {done} done, {len(errors)} refused.")
        for error in errors:
            messages.error(request, error)
        return None

    def render_bulk_confirmation(
        self, request: HttpRequest, queryset: QuerySet, spec: ObjectAction, form: forms.Form
    ) -> TemplateResponse:
        objects = list(queryset)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("%(action)s: confirm %(count)s")
            % {"action": spec.label, "count": len(objects)},
            "rows": [(obj, self.object_label(obj), spec.effect(obj, {})) for obj in objects],
            "form": form,
            "adminform": helpers.AdminForm(form, [(None, {"fields": ["note"]})], {}),
            "action": request.POST.get("action", ""),
            "selected_name": helpers.ACTION_CHECKBOX_NAME,
            "confirm_name": CONFIRM,
            "submit_label": spec.label,
            "cancel_url": self.changelist_url(),
            "acting_user": request.user,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/backoffice/bulk_confirm.html", context)

    # --- creating through a service ---

    def create_object(self, request: HttpRequest, data: dict[str, Any]) -> Any:
        raise NotImplementedError("set service_add_form and implement create_object")

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        if self.service_add_form is None:
            return super().add_view(request, form_url, extra_context)
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = self.service_add_form(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                created = self.create_object(request, form.cleaned_data)
            except SERVICE_ERRORS as exc:
                add_service_error(form, exc)
            except IntegrityError:
                form.add_error(None, RACE_LOST)
            else:
                return self.response_created(request, created)
        name = self.model._meta.verbose_name
        return self.render_object_form(
            request,
            form,
            obj=None,
            title=gettext("Add %(name)s") % {"name": name},
            submit_label=gettext("Save"),
        )

    def response_created(self, request: HttpRequest, obj: Any) -> HttpResponse:
        self.log_addition(request, obj, [{"added": {}}])
        messages.success(
            request, gettext("%(object)s was added.") % {"object": self.object_label(obj)}
        )
        return HttpResponseRedirect(self.change_url(obj))

    # --- editing the plain fields: write only what changed, never the state ---

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        if not change:
            return super().save_model(request, obj, form, change)
        concrete = {f.name for f in obj._meta.concrete_fields}
        fields = [f for f in form.changed_data if f in concrete]
        if fields:
            auto = [f.name for f in obj._meta.concrete_fields if getattr(f, "auto_now", False)]
            obj.save(update_fields=[*fields, *auto])
        return None


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    """Rows shown as a plain table on the parent's page: nobody adds, edits or deletes them."""

    template = "admin/backoffice/readonly_inline.html"
    extra = 0
    can_delete = False


@dataclass(frozen=True)
class InlineTable:
    """A read-only inline's rows as its table shows them: ``prefix`` is the formset's (the
    group's id), ``columns`` (name, label), each row its (name, cell) pairs, escaped."""

    prefix: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[list[tuple[str, SafeString]]]


def _parent_filter(inline: Any, obj: models.Model) -> tuple[str, dict[str, Any]]:
    """The formset prefix of ``inline`` on ``obj``'s page and the filter of its rows."""
    if isinstance(inline, GenericInlineModelAdmin):
        ct = ContentType.objects.get_for_model(obj)  # as generic_inlineformset_factory: concrete
        opts = inline.model._meta
        prefix = f"{opts.app_label}-{opts.model_name}-{inline.ct_field}-{inline.ct_fk_field}"
        return prefix, {inline.ct_field: ct, inline.ct_fk_field: obj.pk}
    fk = _get_foreign_key(inline.parent_model, inline.model, fk_name=inline.fk_name)
    return fk.remote_field.get_accessor_name(model=inline.model).replace("+", ""), {fk.name: obj}


def _cell(inline: Any, name: str, row: models.Model) -> SafeString:
    """One cell, as Django's read-only field shows it (``AdminReadonlyField.contents``, for
    the plain fields and display methods these inlines have)."""
    try:
        field, attr, value = lookup_field(name, row, inline)
    except (AttributeError, ValueError, ObjectDoesNotExist):
        return conditional_escape(inline.get_empty_value_display())
    if field is None:
        if getattr(attr, "boolean", False):
            return _boolean_icon(value)
        return conditional_escape(value if hasattr(value, "__html__") else linebreaksbr(value))
    shown = display_for_field(value, field, inline.get_empty_value_display())
    return conditional_escape(linebreaksbr(shown))


def inline_table(inline: Any, request: HttpRequest, obj: models.Model) -> InlineTable:
    """``inline``'s rows of ``obj`` (one query) as its read-only table shows them."""
    prefix, parent = _parent_filter(inline, obj)
    names = list(inline.get_fields(request, obj))
    columns = [(name, capfirst(label_for_field(name, inline.model, inline))) for name in names]
    rows = inline.get_queryset(request).filter(**parent)
    return InlineTable(
        prefix=prefix,
        title=capfirst(inline.verbose_name_plural),
        columns=columns,
        rows=[[(name, _cell(inline, name, row)) for name in names] for row in rows],
    )


class _ObjectHistory:
    """What the two history inlines share: rows with their actor (``by``: who, or the system),
    shown to whoever may see the object."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("actor")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        parent = self.admin_site.get_model_admin(self.parent_model)
        return parent.has_view_or_change_permission(request, obj)

    @admin.display(description=_("by"))
    def by(self, row: TransitionLog | FieldChange) -> str:
        return row.actor.get_username() if row.actor_id else gettext("system")


class HistoryInline(_ObjectHistory, ReadOnlyInline):
    """The audit rows of an object (``obj.history``), for whoever may see the object."""

    model: type[TransitionLog]
    fields = ("transition", "change", "by", "at", "note")
    readonly_fields = fields
    verbose_name = _("history entry")
    verbose_name_plural = _("history")

    @admin.display(description=_("from → to"))
    def change(self, row: TransitionLog) -> str:
        labels = dict(state_field(self.parent_model).choices)
        return f"{labels.get(row.source, row.source)} → {labels.get(row.target, row.target)}"


class FieldChangeInline(_ObjectHistory, ReadOnlyMixin, GenericTabularInline):
    """The field-level history of an object (:mod:`backoffice.field_history`): which field, old
    and new value, who and when; read-only, for whoever may see the object."""

    model = FieldChange
    template = ReadOnlyInline.template
    extra = 0
    can_delete = False
    fields = ("field", "old_value", "new_value", "by", "at", "note")
    readonly_fields = fields
    verbose_name = _("field change")
    verbose_name_plural = _("field changes")


def validate_with(form: forms.ModelForm, cleaner: Callable[..., Any], fields: list[str]) -> None:
    """Check the admin's edits of ``fields`` with the service's own validation (``cleaner``)
    and show a refusal next to the field, so that the Save through the service cannot fail on
    them."""
    try:
        cleaner(**{f: form.cleaned_data.get(f) for f in fields if f in form.cleaned_data})
    except ValidationError as exc:
        add_service_error(form, exc)
