"""Notices to stores: stored, shown in GraphQL and the admin, and e-mailed to the store's users
once the transaction commits (an e-mail is never sent for a change that was rolled back)."""

from datetime import datetime

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction

from accounts.models import Notice, SellerAccount


def notify(store: SellerAccount, kind: str, *, title: str, body: str, at: datetime) -> Notice:
    recipients = sorted(
        email
        for email in store.users.filter(is_active=True).values_list("email", flat=True)
        if email
    )
    notice = Notice.objects.create(
        store=store, kind=kind, title=title, body=body, created_at=at, emailed_to=recipients
    )
    if recipients:
        subject = f"[{store.name}] {title}"
        transaction.on_commit(
            lambda: send_mass_mail(
                [(subject, body, settings.DEFAULT_FROM_EMAIL, [to]) for to in recipients],
                fail_silently=True,  # a mail outage must not undo a freeze; the notice is stored
            )
        )
    return notice
