"""Notices to stores: stored, shown in GraphQL and the admin, and e-mailed to the store's users.

:func:`notify` stores the notice with its recipients and an e-mail status of ``pending`` in the
caller's transaction (a change that is rolled back e-mails nothing). The job
``notices.send_emails`` (registered with the deadlines runner) sends pending e-mails, retries a
failure with exponential backoff and, after ``NOTICE_EMAIL_MAX_ATTEMPTS``, records it as failed:
a notice is marked sent only once the mail server took it.

Each recipient reads the notice in their language (:func:`backoffice.i18n.language_of`: the
user's, else the store's, else ``LANGUAGE_CODE``). ``title`` and ``body`` are given as texts
that render in the active language: a lazy string (``gettext_lazy``) or a function returning
one (``lambda: _("... %(x)s") % {...}``); :func:`notify` renders them in every language of
``LANGUAGES`` and stores them (``Notice.texts``), the store's language in ``title``/``body``.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import translation
from django.utils.functional import Promise

from accounts.models import Notice, SellerAccount
from backoffice.deadlines import drain, register, retry_delay
from backoffice.i18n import language_of

logger = logging.getLogger(__name__)

EmailStatus = Notice.EmailStatus
DUE = (EmailStatus.PENDING, EmailStatus.RETRYING)


# A text to render in the active language: lazy, a function, or (not translated) a plain str.
Text = str | Promise | Callable[[], str]


def render(text: Text, language: str) -> str:
    with translation.override(language):
        return str(text() if callable(text) else text)


def notify(store: SellerAccount, kind: str, *, title: Text, body: Text, at: datetime) -> Notice:
    users = store.users.filter(is_active=True).exclude(email="").order_by("email", "pk")
    recipient_languages: dict[str, str] = {}
    for user in users:
        recipient_languages.setdefault(user.email, language_of(user, store))
    texts = {
        code: {"title": render(title, code), "body": render(body, code)}
        for code, _name in settings.LANGUAGES
    }
    shown = texts[language_of(None, store)]
    recipients = sorted(recipient_languages)
    return Notice.objects.create(
        store=store,
        kind=kind,
        title=shown["title"],
        body=shown["body"],
        texts=texts,
        recipient_languages=recipient_languages,
        created_at=at,
        emailed_to=recipients,
        email_status=EmailStatus.PENDING if recipients else EmailStatus.NONE,
        email_next_attempt_at=at if recipients else None,
    )


def backoff(attempts: int) -> timedelta:
    return retry_delay(settings.NOTICE_EMAIL_RETRY_BASE_SECONDS, attempts)


@register("notices.send_emails")
def send_due_emails(now: datetime) -> int:
    """Send the notice e-mails due at ``now``; returns how many notices were attempted."""
    return drain(_claim, _send, now)


def _claim(now: datetime) -> list[Notice]:
    """Take a batch of due notices: their next attempt is pushed a few minutes on (a lease), so
    another worker does not take them meanwhile, nor this run twice."""
    with transaction.atomic():
        due = list(
            Notice.objects.filter(email_status__in=DUE, email_next_attempt_at__lte=now)
            .select_related("store")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("email_next_attempt_at", "pk")[: settings.DEADLINES_BATCH_SIZE]
        )
        lease = now + timedelta(minutes=5)
        Notice.objects.filter(pk__in=[n.pk for n in due]).update(email_next_attempt_at=lease)
    return due


def _email(notice: Notice, to: str) -> tuple[str, str, str, list[str]]:
    """The notice's e-mail to ``to``, in the language recorded for that address."""
    language = notice.recipient_languages.get(to) or language_of(None, notice.store)
    title, body = notice.text_in(language)
    return f"[{notice.store.name}] {title}", body, settings.DEFAULT_FROM_EMAIL, [to]


def _send(notice: Notice, now: datetime) -> None:
    error = ""
    try:
        send_mass_mail([_email(notice, to) for to in notice.emailed_to], fail_silently=False)
    except Exception as exc:  # whatever the mail backend raises: recorded, retried
        error = f"{type(exc).__name__}: {exc}"[:1000]
        logger.warning("e-mail of notice %s failed: %s", notice.pk, error)
    with transaction.atomic():
        current = Notice.objects.select_for_update().get(pk=notice.pk)
        current.email_attempts += 1
        current.email_last_error = error
        if not error:
            current.email_status = EmailStatus.SENT
            current.emailed_at = now
            current.email_next_attempt_at = None
        elif current.email_attempts >= settings.NOTICE_EMAIL_MAX_ATTEMPTS:
            current.email_status = EmailStatus.FAILED
            current.email_next_attempt_at = None
        else:
            current.email_status = EmailStatus.RETRYING
            current.email_next_attempt_at = now + backoff(current.email_attempts)
        current.save(
            update_fields=[
                "email_attempts",
                "email_last_error",
                "email_status",
                "emailed_at",
                "email_next_attempt_at",
            ]
        )
