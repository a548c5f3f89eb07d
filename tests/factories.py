"""Test data, created through the services wherever a state is involved."""

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import SellerAccount, User
from accounts.services import seller_account_close, seller_account_create, seller_account_freeze
from backoffice.models import ImportJob
from disputes.models import Dispute
from disputes.services import dispute_open
from orders.models import Order
from orders.services import (
    order_cancel,
    order_confirm_receipt,
    order_create,
    order_mark_paid,
    order_ship,
)

_seq = itertools.count(1)
T0 = datetime.fromisoformat("2026-03-01T12:00:00+00:00")


def store(*, status: str = "active", name: str | None = None, **kwargs) -> SellerAccount:
    n = next(_seq)
    account = seller_account_create(
        actor=None,
        platform_store_id=kwargs.pop("platform_store_id", f"{2_000_000 + n}"),
        name=name or f"Store {n}",
        opened_at=kwargs.pop("opened_at", T0 - timedelta(days=400)),
        **kwargs,
    )
    if status == "frozen":
        seller_account_freeze(account_id=account.pk, actor=None, reason="risk")
    elif status == "closed":
        seller_account_close(account_id=account.pk, actor=None, reason="risk")
    account.refresh_from_db()
    return account


def staff(role: str | None = None, *, username: str | None = None) -> User:
    user = User.objects.create_user(
        username=username or f"staff{next(_seq)}", password="pw", is_staff=True
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def superuser() -> User:
    return User.objects.create_superuser(username=f"root{next(_seq)}", password="pw")


def seller(account: SellerAccount, *, username: str | None = None) -> User:
    return User.objects.create_user(
        username=username or f"seller{next(_seq)}", password="pw", store=account
    )


def order(
    account: SellerAccount | None = None,
    *,
    status: str = "unpaid",
    amount: str = "100.00",
    at: datetime = T0,
    **kwargs,
) -> Order:
    """An order walked to ``status`` through the services, one day per step from ``at``."""
    account = account or store()
    o = order_create(
        actor=None,
        store_id=account.pk,
        order_number=str(8_000_000_000_000_000 + next(_seq)),
        amount=Decimal(amount),
        buyer_name=kwargs.pop("buyer_name", "Ana Souza"),
        buyer_country="BR",
        placed_at=at,
        **kwargs,
    )
    step = iter(at + timedelta(days=d) for d in itertools.count(1))
    if status == "cancelled":
        order_cancel(order_id=o.pk, actor=None, reason="buyer_cancel", at=next(step))
    if status in {"paid", "shipped", "completed", "refunded", "disputed"}:
        order_mark_paid(order_id=o.pk, actor=None, payment_method="credit_card", at=next(step))
    if status == "refunded":
        order_cancel(order_id=o.pk, actor=None, reason="out_of_stock", at=next(step))
    if status in {"shipped", "completed", "disputed"}:
        order_ship(
            order_id=o.pk, actor=None, carrier="Cainiao", tracking_number="LP001CN", at=next(step)
        )
    if status == "completed":
        order_confirm_receipt(order_id=o.pk, actor=None, at=next(step))
    if status == "disputed":
        dispute_open(
            order_id=o.pk,
            actor=None,
            reason="not_received",
            requested_refund=o.amount,
            at=next(step),
        )
    o.refresh_from_db()
    assert o.status == status
    return o


def dispute(
    o: Order | None = None,
    *,
    reason: str = "not_received",
    requested: str | None = None,
    at: datetime | None = None,
    **order_kwargs,
) -> Dispute:
    """An open dispute on a shipped order (one is made when ``o`` is not given)."""
    o = o or order(status="shipped", **order_kwargs)
    return dispute_open(
        order_id=o.pk,
        actor=None,
        reason=reason,
        requested_refund=Decimal(requested) if requested else o.amount,
        at=at or (o.shipped_at or o.paid_at) + timedelta(days=1),
    )


def import_job(
    *, created_by: User, status: str = "queued", done: int = 0, total: int | None = None
) -> ImportJob:
    """An import job as a worker left it (its stages are not run)."""
    now = timezone.now()
    return ImportJob.objects.create(
        file_name="orders.csv",
        sha256="0" * 64,
        tz="America/Los_Angeles",
        status=status,
        rows_done=done,
        rows_total=total,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
