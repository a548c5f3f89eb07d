"""Notice e-mails go through an outbox: stored as pending with the notice, sent by the
``notices.send_emails`` job, retried after a failure and never recorded as sent unless sent."""

import socket
from datetime import timedelta

from django.core import mail
from django.utils import timezone

from accounts.models import Notice
from accounts.notices import notify, send_due_emails
from tests import factories as f


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_failed_e_mail_is_recorded_as_failed_then_retried_until_sent(settings):
    settings.NOTICE_EMAIL_MAX_ATTEMPTS = 3
    settings.NOTICE_EMAIL_RETRY_BASE_SECONDS = 60
    store = f.store()
    f.seller(store).__class__.objects.filter(store=store).update(email="owner@example.com")
    now = timezone.now()
    notice = notify(store, Notice.Kind.FREEZE, title="Frozen", body="...", at=now)
    assert (notice.email_status, mail.outbox) == ("pending", [])

    # the mail server is down: an SMTP connection to a closed port of 127.0.0.1
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    assert send_due_emails(now) == 1
    notice.refresh_from_db()
    assert (notice.email_status, notice.email_attempts, notice.emailed_at) == ("retrying", 1, None)
    assert "ConnectionRefusedError" in notice.email_last_error
    assert notice.email_next_attempt_at == now + timedelta(seconds=60)
    assert send_due_emails(now + timedelta(seconds=59)) == 0  # not due yet

    # back up: the retry sends it
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_due_emails(now + timedelta(seconds=60)) == 1
    notice.refresh_from_db()
    assert (notice.email_status, notice.email_attempts, notice.email_last_error) == ("sent", 2, "")
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]
    assert send_due_emails(now + timedelta(days=1)) == 0  # sent once


def test_an_e_mail_that_keeps_failing_is_failed_never_sent(settings):
    settings.NOTICE_EMAIL_MAX_ATTEMPTS = 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    store = f.store()
    f.seller(store).__class__.objects.filter(store=store).update(email="owner@example.com")
    now = timezone.now()
    notice = notify(store, Notice.Kind.CLOSE, title="Closed", body="...", at=now)
    send_due_emails(now)
    send_due_emails(now + timedelta(days=1))
    notice.refresh_from_db()
    assert (notice.email_status, notice.email_attempts) == ("failed", 2)
    assert notice.emailed_at is None and notice.email_next_attempt_at is None


def test_a_notice_without_recipients_has_nothing_to_send():
    store = f.store()
    notice = notify(store, Notice.Kind.FREEZE, title="Frozen", body="...", at=timezone.now())
    assert notice.email_status == "none"
    assert send_due_emails(timezone.now()) == 0
