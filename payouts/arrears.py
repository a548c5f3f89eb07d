"""Promotion arrears, in one place: a charge that takes the promotion wallet below zero opens an
:class:`~payouts.models.ArrearsEpisode` (:func:`record_balance`, after every wallet movement),
which a top-up or adjustment back to zero or more clears, lifting the arrears hold
(:func:`lift_arrears_hold`: what lifts an arrears freeze). What is owed is :func:`owed`. The
arrears policy acts on the open episode's age and size: the jobs ``payouts.arrears_freeze``
(older than ``ARREARS_GRACE_DAYS``) and ``payouts.arrears_close`` (older than
``ARREARS_CLOSE_DAYS`` or above ``ARREARS_CLOSE_AMOUNT``), and the store's clock
(:func:`store_auto_action`) shows when they will act, from the same periods."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Case, DecimalField, Exists, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.lookups import LessThan
from django.utils.translation import gettext as _

from accounts.models import SellerAccount, StoreHold
from accounts.services import seller_account_close, seller_account_freeze, seller_account_unfreeze
from backoffice.autoaction import AutoAction, first_second_after
from backoffice.db import lock
from backoffice.deadlines import process_due, register
from payouts import ledger
from payouts.models import Account, ArrearsEpisode, LedgerEntry


def owed(balance: Decimal) -> Decimal:
    """What a store account with ``balance`` owes the platform: the promotion wallet's arrears
    (CNY), or the refund debt (USD); 0.00 when not below zero. :func:`owed_expression` is the
    same rule in SQL, for a page of stores."""
    return max(-balance, Decimal("0.00"))


def owed_expression(balance: Any) -> Case:
    """:func:`owed` on a queryset: what an account whose balance is the expression ``balance``
    owes (one expression, so a list or an aggregate over many stores stays one query)."""
    money = DecimalField(max_digits=18, decimal_places=2)
    return Case(
        When(LessThan(balance, 0), then=-balance), default=Value(Decimal("0")), output_field=money
    )


# --- episodes and what lifts the arrears hold ---


def record_balance(store: SellerAccount, now_balance: Decimal, *, at: datetime) -> None:
    """After a wallet movement: open the episode when the balance goes below zero, raise its
    peak while it grows, close it (and lift the arrears hold) once the balance is back at zero
    or more."""
    episode = ArrearsEpisode.objects.filter(store=store, cleared_at__isnull=True).first()
    if now_balance < 0:
        if episode is None:
            ArrearsEpisode.objects.create(store=store, started_at=at, peak=-now_balance)
        elif -now_balance > episode.peak:
            episode.peak = -now_balance
            episode.save(update_fields=["peak"])
    elif episode is not None:
        episode.cleared_at = at
        episode.save(update_fields=["cleared_at"])
    if now_balance >= 0:
        # Arrears paid: the arrears hold goes; any other hold (a risk review) stays.
        lifted = lift_arrears_hold(account_id=store.pk, at=at)
        if lifted is not None and lifted is not store:  # (in a batch: the same instance)
            store.refresh_from_db(fields=["status", "freeze_reason", "frozen_at"])


def clear_episode(store: SellerAccount, *, at: datetime) -> None:
    """A closed store's arrears were set off in full (payouts.collection): its open episode ends
    (a closed store has no hold left to lift)."""
    ArrearsEpisode.objects.filter(store=store, cleared_at__isnull=True).update(cleared_at=at)


def lift_arrears_hold(*, account_id: int, at: datetime) -> SellerAccount | None:
    """The arrears are paid (a top-up or an adjustment cleared them): the system lifts the
    arrears hold, leaving any other; nothing to do without one. In the caller's transaction."""
    account = lock(SellerAccount, account_id)
    if SellerAccount.FreezeReason.ARREARS not in account.active_reasons():
        return None
    return seller_account_unfreeze(
        account_id=account_id,
        actor=None,
        reason=SellerAccount.FreezeReason.ARREARS,
        note="automatic: promotion arrears paid",
        at=at,
    )


# --- the policy's periods and the store's clock ---


def arrears_grace() -> timedelta:
    return timedelta(days=settings.ARREARS_GRACE_DAYS)


def arrears_close_period() -> timedelta:
    return timedelta(days=settings.ARREARS_CLOSE_DAYS)


def store_auto_action(
    status: str,
    *,
    in_arrears_since: datetime | None,
    promotion_balance: Decimal,
    arrears_held: bool | None = None,
) -> AutoAction | None:
    """What the arrears policy does to a store next: close it once its arrears are above
    ``ARREARS_CLOSE_AMOUNT`` (due at once: the next run) or older than ``ARREARS_CLOSE_DAYS``;
    freeze an active one whose arrears are older than ``ARREARS_GRACE_DAYS``, or add the
    arrears hold to a store frozen for another reason only (holds stack; ``arrears_held``:
    whether it has that hold, by default as a frozen store would). Both rules act once *more
    than* the period has passed: the moment shown is the first whole second after it. Nothing
    is automatic for a store without arrears, or a closed one (an unfreeze never is)."""
    if status == "closed" or in_arrears_since is None:
        return None
    if -promotion_balance > settings.ARREARS_CLOSE_AMOUNT:
        return AutoAction(
            in_arrears_since,
            _("close the store (arrears above CNY %(limit)s)")
            % {"limit": f"{settings.ARREARS_CLOSE_AMOUNT:,}"},
        )
    close = AutoAction(
        first_second_after(in_arrears_since + arrears_close_period()),
        _("close the store (arrears unpaid for more than %(days)d days)")
        % {"days": settings.ARREARS_CLOSE_DAYS},
    )
    if arrears_held is None:
        arrears_held = status != "active"
    if arrears_held:
        return close
    if status == "active":
        text = _("freeze the store (arrears unpaid for more than %(days)d days)")
    else:
        text = _("add the arrears hold (arrears unpaid for more than %(days)d days)")
    freeze = AutoAction(
        first_second_after(in_arrears_since + arrears_grace()),
        text % {"days": settings.ARREARS_GRACE_DAYS},
    )
    return freeze if freeze.at < close.at else close  # the close job runs first on a tie


def arrears_held() -> Exists:
    """Annotation on a SellerAccount queryset: whether it has an active arrears hold."""
    return Exists(
        StoreHold.objects.filter(
            store=OuterRef("pk"), reason=SellerAccount.FreezeReason.ARREARS, lifted_at__isnull=True
        )
    )


def open_arrears_since() -> Subquery:
    """Annotation on a SellerAccount queryset: when its open arrears episode began (null when
    the wallet is not in arrears)."""
    episode = ArrearsEpisode.objects.filter(store=OuterRef("pk"), cleared_at__isnull=True)
    return Subquery(episode.order_by().values("started_at")[:1])


# --- the jobs (same periods as the clock: the moment shown is the moment they act) ---


def load_arrears(stores: list[SellerAccount]) -> None:
    """The arrears jobs' load hook: the batch's stores are locked and held (process_due); read
    their wallets (one query, :func:`payouts.ledger.load`) and open episodes as they are under
    that lock. The due query's snapshot may predate a top-up that paid the arrears and then
    released the store's lock, so each store is checked again with these before it is frozen
    or closed."""
    ledger.load(store_ids=[store.pk for store in stores])
    open_since = dict(
        ArrearsEpisode.objects.filter(store__in=stores, cleared_at__isnull=True).values_list(
            "store_id", "started_at"
        )
    )
    for store in stores:
        store.open_arrears_since = open_since.get(store.pk)


def _wallet(store: SellerAccount) -> Decimal:
    return ledger.balance(store_id=store.pk, account=Account.PROMOTION, currency="CNY")


def _still_open(store: SellerAccount) -> bool:
    return store.status != SellerAccount.Status.CLOSED and store.open_arrears_since is not None


@register("payouts.arrears_close")
def arrears_close(now: datetime) -> int:
    """Close stores whose arrears are too large or too old (this runs before the freeze: a
    store past both limits is closed, not frozen first)."""
    too_old = now - arrears_close_period()
    wallet = (
        LedgerEntry.objects.filter(store=OuterRef("pk"), account=Account.PROMOTION, at__lte=now)
        .values("store")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    # Half a cent of slack: SQLite sums decimals as floats (see payouts.ledger.to_cents).
    limit = -(settings.ARREARS_CLOSE_AMOUNT + Decimal("0.005"))
    due = (
        SellerAccount.objects.filter(
            status__in=[SellerAccount.Status.ACTIVE, SellerAccount.Status.FROZEN],
            arrears_episodes__cleared_at__isnull=True,
            arrears_episodes__started_at__lte=now,
        )
        .annotate(wallet=Subquery(wallet))
        .filter(Q(arrears_episodes__started_at__lt=too_old) | Q(wallet__lt=limit))
    )

    def close(store: SellerAccount) -> None:
        owed_now = owed(_wallet(store))
        if not _still_open(store) or not (
            store.open_arrears_since < too_old or owed_now > settings.ARREARS_CLOSE_AMOUNT
        ):
            return  # paid (or closed) since the due query's snapshot
        seller_account_close(
            account_id=store.pk,
            actor=None,
            reason="arrears",
            at=now,
            note=f"automatic: arrears of CNY {owed_now:,.2f}",
        )

    return process_due(due, close, load=load_arrears)


@register("payouts.arrears_freeze")
def arrears_freeze(now: datetime) -> int:
    cutoff = now - arrears_grace()
    # A store frozen for another reason (a risk review) gains the arrears hold as well.
    held = StoreHold.objects.filter(
        store=OuterRef("pk"), reason=SellerAccount.FreezeReason.ARREARS, lifted_at__isnull=True
    )
    due = SellerAccount.objects.filter(
        status__in=[SellerAccount.Status.ACTIVE, SellerAccount.Status.FROZEN],
        arrears_episodes__cleared_at__isnull=True,
        arrears_episodes__started_at__lt=cutoff,
    ).exclude(Exists(held))
    note = f"automatic: promotion arrears unpaid for more than {settings.ARREARS_GRACE_DAYS} days"

    def freeze(store: SellerAccount) -> None:
        if not _still_open(store) or store.open_arrears_since >= cutoff:
            return  # paid (or closed) since the due query's snapshot
        if SellerAccount.FreezeReason.ARREARS in store.active_reasons():
            return
        seller_account_freeze(account_id=store.pk, actor=None, reason="arrears", at=now, note=note)

    return process_due(due, freeze, load=load_arrears)
