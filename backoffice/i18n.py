"""Which language a person reads: the request's, a notice recipient's, the switcher's choice.

A request's language is, first found: the signed-in user's saved ``language``; the language
cookie (set by the admin's switcher, :func:`set_language`); the browser's ``Accept-Language``;
``LANGUAGE_CODE``. Django's LocaleMiddleware does the last three; :class:`UserLanguageMiddleware`
the first. A notice's recipient reads, first found: the user's ``language``, the store's,
``LANGUAGE_CODE`` (:func:`language_of`). Codes, enum values, ISO times and exports do not change
with the language; only the sentences and labels people read do.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import formats, translation
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


def supported(code: str | None) -> str | None:
    """``code`` when it is one of ``LANGUAGES``, else None."""
    return code if code in LANGUAGE_CODES else None


def language_of(user: Any = None, store: Any = None) -> str:
    """The language to write to ``user`` (of ``store``): theirs, the store's, the default."""
    if store is None and user is not None:
        store = getattr(user, "store", None)
    return (
        supported(getattr(user, "language", None))
        or supported(getattr(store, "language", None))
        or settings.LANGUAGE_CODE
    )


TRANSLATED_APPS = ("accounts", "backoffice", "disputes", "orders", "payouts")


def auto_named_fields() -> list[Any]:
    """Our models' fields whose name Django derived from the attribute (no ``verbose_name``)."""
    from django.apps import apps

    return [
        field
        for model in apps.get_models()
        if model._meta.app_label in TRANSLATED_APPS
        for field in model._meta.get_fields()
        if getattr(field, "_verbose_name", "") is None
    ]


def translate_field_names() -> None:
    """Each such field's name becomes lazy (its msgid is in backoffice/field_names.py), so
    forms and the admin label it in the reader's language. Migrations read ``_verbose_name``,
    which stays None: no migration follows."""
    for field in auto_named_fields():
        if isinstance(field.verbose_name, str):
            field.verbose_name = gettext_lazy(field.verbose_name)


class UserLanguageMiddleware:
    """After authentication (session or bearer token): a user who chose a language reads it,
    whatever the browser asks for. Without a saved language, LocaleMiddleware's choice stays."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        chosen = supported(getattr(user, "language", None)) if user is not None else None
        if chosen and chosen != translation.get_language():
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's ``set_language`` (cookie and redirect back) that also saves a signed-in user's
    choice, so that it follows them to other browsers, the API and their notices."""
    response = django_set_language(request)
    code = supported(request.POST.get("language"))
    user = request.user
    if code and user.is_authenticated and user.language != code:
        user.language = code
        user.save(update_fields=["language"])
    return response


def short_date(value: Any) -> str:
    """A day for a narrow admin column: ISO (2026-12-02) in English, the locale's own date in
    other languages (2026年12月2日)."""
    if translation.get_language() in (None, "en", "en-us"):
        return f"{value:%Y-%m-%d}"
    return formats.date_format(value, "DATE_FORMAT")
