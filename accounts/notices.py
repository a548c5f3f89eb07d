"""Notices to stores: stored, shown in GraphQL and the admin, and e-mailed to the store's users.

:func:`notify` stores the notice with its recipients and an e-mail status of ``pending`` in the
caller's transaction (a change that is rolled back e-mails nothing). The job
``notices.send_emails`` (registered with the deadlines runner) sends pending e-mails, retries a
failure with exponential backoff and, after ``NOTICE_EMAIL_MAX_ATTEMPTS``, records it as failed:
a notice is marked sent only once the mail server took it.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction

from accounts.models import Notice, SellerAccount
from backoffice.deadlines import register

logger = logging.getLogger(__name__)

EmailStatus = Notice.EmailStatus
DUE = (EmailStatus.PENDING, EmailStatus.RETRYING)


def notify(store: SellerAccount, kind: str, *, title: str, body: str, at: datetime) -> Notice:
    recipients = sorted(
        email
        for email in store.users.filter(is_active=True).values_list("email", flat=True)
        if email
    )
    return Notice.objects.create(
        store=store,
        kind=kind,
        title=title,
        body=body,
        created_at=at,
        emailed_to=recipients,
        email_status=EmailStatus.PENDING if recipients else EmailStatus.NONE,
        email_next_attempt_at=at if recipients else None,
    )


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=settings.NOTICE_EMAIL_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))


@register("notices.send_emails")
def send_due_emails(now: datetime) -> int:
    """Send the notice e-mails due at ``now``; returns how many notices were attempted."""
    done = 0
    while claimed := _claim(now):
        for notice in claimed:
            _send(notice, now)
            done += 1
    return done


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


def _send(notice: Notice, now: datetime) -> None:
    subject = f"[{notice.store.name}] {notice.title}"
    error = ""
    try:
        send_mass_mail(
            [(subject, notice.body, settings.DEFAULT_FROM_EMAIL, [to]) for to in notice.emailed_to],
            fail_silently=False,
        )
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
