"""Money: an append-only double-entry ledger, early-payout terms, reserve holds, refunds,
payouts and exchange rates.

Sign convention: a store account's balance is what the platform owes the store (escrow,
available, reserve, promotion) — positive in normal operation. ``debt`` is negative while
the store owes the platform. Platform accounts mirror the other side, so every posting sums to
zero per currency and the whole ledger always sums to zero.
"""

from decimal import Decimal
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import FSMField, FSMModelMixin, transition

from accounts.models import SellerAccount, StoreHold
from backoffice.audit import TransitionLog
from backoffice.fields import user_link
from backoffice.fsm import guard
from backoffice.models import ImportedRecord
from backoffice.money import Currency, fits_column, quantize
from backoffice.permissions import allow
from orders.models import Order


class Account(models.TextChoices):
    # per store
    ESCROW = "escrow", gettext_lazy("Escrow")
    AVAILABLE = "available", gettext_lazy("Available")
    RESERVE = "reserve", gettext_lazy("Reserve")
    PROMOTION = "promotion", gettext_lazy("Promotion wallet")
    DEBT = "debt", gettext_lazy("Debt")
    # platform
    BUYER_FUNDS = "buyer_funds", gettext_lazy("Buyer funds (platform)")
    PROTECTION_FUND = "protection_fund", gettext_lazy("After-sales protection fund (platform)")
    PAYOUT_CLEARING = "payout_clearing", gettext_lazy("Payout clearing (platform)")
    PAID_OUT = "paid_out", gettext_lazy("Paid out to sellers (platform)")
    FX = "fx", gettext_lazy("Currency exchange (platform)")
    PROMOTION_FUNDING = "promotion_funding", gettext_lazy("Promotion top-ups received (platform)")
    PROMOTION_REVENUE = "promotion_revenue", gettext_lazy("Promotion revenue (platform)")
    COMMISSION = "commission", gettext_lazy("Commission revenue (platform)")


STORE_ACCOUNTS = (
    Account.ESCROW,
    Account.AVAILABLE,
    Account.RESERVE,
    Account.PROMOTION,
    Account.DEBT,
)


class Posting(models.Model):
    """One balanced movement of money. Its ``reference`` is unique: a retry never posts twice."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", gettext_lazy("Buyer payment into escrow")
        RELEASE = "release", gettext_lazy("Escrow released on confirmation")
        EARLY_RELEASE = "early_release", gettext_lazy("Early payout release")
        REFUND = "refund", gettext_lazy("Refund to the buyer")
        RESERVE_RELEASE = "reserve_release", gettext_lazy("Reserve released")
        PAYOUT = "payout", gettext_lazy("Payout requested")
        PAYOUT_PAID = "payout_paid", gettext_lazy("Payout paid")
        PAYOUT_FAILED = "payout_failed", gettext_lazy("Payout failed, money returned")
        PROMOTION_TOP_UP = "promotion_top_up", gettext_lazy("Promotion top-up")
        PROMOTION_CHARGE = "promotion_charge", gettext_lazy("Promotion charge")
        PROMOTION_ADJUSTMENT = "promotion_adjustment", gettext_lazy("Promotion adjustment")
        PROMOTION_SET_OFF = (
            "promotion_set_off",
            gettext_lazy("Promotion arrears set off against available"),
        )
        PROMOTION_RETURN = (
            "promotion_return",
            gettext_lazy("Prepaid promotion returned to available"),
        )
        COMMISSION_RETURN = "commission_return", gettext_lazy("Commission returned on a refund")
        REVERSAL = "reversal", gettext_lazy("Reversal")

    reference = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    store = models.ForeignKey(
        SellerAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    payout = models.ForeignKey(
        "Payout", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    refund = models.ForeignKey(
        "Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    promotion = models.ForeignKey(
        "PromotionMovement",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="postings",
    )
    memo = models.CharField(max_length=300, blank=True)
    actor = user_link()
    at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("posting")
        verbose_name_plural = gettext_lazy("postings")
        ordering = ("at", "id")
        indexes = [models.Index(fields=["order", "kind"], name="posting_order_kind")]

    def __str__(self) -> str:
        return self.reference


class LedgerEntry(models.Model):
    """One leg of a posting. Never updated or deleted (database triggers refuse it)."""

    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="entries")
    account = models.CharField(max_length=24, choices=Account.choices)
    store = models.ForeignKey(
        SellerAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    order = models.ForeignKey(
        Order,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
        help_text=gettext_lazy(
            "The order this leg belongs to (escrow and reserve are tracked per order)."
        ),
    )
    currency = models.CharField(max_length=3, choices=Currency.CHOICES)
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    at = models.DateTimeField()

    class Meta:
        verbose_name = gettext_lazy("ledger entry")
        verbose_name_plural = gettext_lazy("ledger entries")
        ordering = ("at", "id")
        permissions = [("export_ledgerentry", "Can export ledger entries (CSV, XLSX)")]
        indexes = [
            models.Index(
                fields=["store", "account", "currency", "at"], name="entry_store_account_at"
            ),
            models.Index(fields=["order", "account"], name="entry_order_account"),
        ]
        constraints = [
            fits_column("amount", max_digits=16, decimal_places=2, name="entry_amount_fits"),
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero"),
            models.CheckConstraint(
                condition=Q(store__isnull=False)
                | ~Q(account__in=[a.value for a in STORE_ACCOUNTS]),
                name="entry_store_account_has_store",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.currency} {self.amount:+}"


class DailyBalance(models.Model):
    """The running total of one store account in one currency: its balance at the end of
    ``day`` (UTC), counting every entry dated that day or before. Written by
    :func:`payouts.ledger.post` in the posting's transaction, under the store's row lock; one
    row per day with movements (the balance on a day without a row is the previous row's). The
    current balance is the latest row; a balance at any instant is the row before its day plus
    that day's entries up to the instant. Derived data: ``manage.py check_ledger`` proves it
    equals the entries."""

    store = models.ForeignKey(
        SellerAccount, on_delete=models.PROTECT, related_name="daily_balances"
    )
    account = models.CharField(max_length=24, choices=Account.choices)
    currency = models.CharField(max_length=3, choices=Currency.CHOICES)
    day = models.DateField()
    balance = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = gettext_lazy("daily balance")
        verbose_name_plural = gettext_lazy("daily balances")
        ordering = ("store", "account", "currency", "day")
        constraints = [
            fits_column("balance", max_digits=18, decimal_places=2, name="daily_balance_fits"),
            models.UniqueConstraint(
                fields=["store", "account", "currency", "day"], name="daily_balance_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.account} {self.currency} {self.day}: {self.balance}"


class LedgerCheck(models.Model):
    """One run of the ledger's checks (payouts.checks): what it found. The latest run is the
    ``Ledger`` line of ``/health/``."""

    finished_at = models.DateTimeField()
    problems = models.PositiveIntegerField(
        help_text=gettext_lazy("Offending rows found (0: the books hold).")
    )
    report = models.TextField(
        blank=True, help_text=gettext_lazy("The offending rows (the first 1,000).")
    )

    class Meta:
        verbose_name = gettext_lazy("ledger check")
        verbose_name_plural = gettext_lazy("ledger checks")
        ordering = ("-finished_at", "-id")
        get_latest_by = ("finished_at", "id")

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M}: {self.problems} problems"


class EarlyPayoutTerms(models.Model):
    """Whether a store receives order money early (shipped + delay) and what reserve it holds.
    Decided by the platform's evaluation or a staff override; every decision is kept in
    :class:`EarlyPayoutDecision`."""

    store = models.OneToOneField(
        SellerAccount, on_delete=models.CASCADE, related_name="early_payout", primary_key=True
    )
    eligible = models.BooleanField(default=False)
    reserve_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0"))
    reason = models.CharField(max_length=300, blank=True)
    since = models.DateTimeField()
    source = models.CharField(
        max_length=16,
        choices=[
            ("override", gettext_lazy("Staff override")),
            ("evaluation", gettext_lazy("Evaluation")),
        ],
        default="override",
    )
    evaluated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=gettext_lazy("The last daily evaluation, whatever it decided."),
    )

    class Meta:
        verbose_name = gettext_lazy("early payout terms")
        verbose_name_plural = gettext_lazy("early payout terms")
        constraints = [
            models.CheckConstraint(
                condition=Q(reserve_rate__gte=0) & Q(reserve_rate__lt=1),
                name="terms_reserve_rate_fraction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}: {'eligible' if self.eligible else 'not eligible'}"


class EarlyPayoutDecision(models.Model):
    store = models.ForeignKey(
        SellerAccount, on_delete=models.CASCADE, related_name="early_payout_decisions"
    )
    eligible = models.BooleanField()
    reserve_rate = models.DecimalField(max_digits=5, decimal_places=4)
    reason = models.CharField(max_length=300, blank=True)
    source = models.CharField(
        max_length=16,
        choices=[
            ("override", gettext_lazy("Staff override")),
            ("evaluation", gettext_lazy("Evaluation")),
        ],
    )
    figures = models.JSONField(default=dict, blank=True)
    decided_by = user_link()
    decided_at = models.DateTimeField()

    class Meta:
        verbose_name = gettext_lazy("early payout decision")
        verbose_name_plural = gettext_lazy("early payout decisions")
        ordering = ("-decided_at", "-id")
        constraints = [
            fits_column(
                "reserve_rate",
                max_digits=5,
                decimal_places=4,
                name="decision_reserve_rate_fits",
                minimum=Decimal("0"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}: {'eligible' if self.eligible else 'not eligible'} ({self.source})"


class ReserveHold(models.Model):
    """The reserve share held back from one order's early payout. What is left of it is the
    sum of the order's reserve ledger legs; ``release_at`` is set when the store loses
    eligibility (notice + 180 days) or closes (shipment + 180 days)."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="reserve_hold")
    store = models.ForeignKey(SellerAccount, on_delete=models.PROTECT, related_name="reserve_holds")
    held = models.DecimalField(max_digits=16, decimal_places=2)
    held_at = models.DateTimeField()
    release_at = models.DateTimeField(null=True, blank=True, db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("reserve hold")
        verbose_name_plural = gettext_lazy("reserve holds")
        ordering = ("held_at", "id")
        constraints = [
            fits_column("held", max_digits=16, decimal_places=2, name="reserve_hold_held_fits"),
        ]

    def __str__(self) -> str:
        return f"Reserve of order {self.order_id}: {self.held}"


# A refund's amount and where it came from (the waterfall, or the protection fund).
REFUND_AMOUNTS = (
    "amount",
    "from_escrow",
    "from_available",
    "from_reserve",
    "to_debt",
    "from_protection_fund",
)


class Refund(models.Model):
    """A refund to the buyer and where its money came from (the refund waterfall)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    store = models.ForeignKey(SellerAccount, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    from_escrow = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    from_available = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    from_reserve = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    to_debt = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    from_protection_fund = models.DecimalField(
        max_digits=16, decimal_places=2, default=Decimal("0")
    )
    reason = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=120, unique=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = gettext_lazy("refund")
        verbose_name_plural = gettext_lazy("refunds")
        ordering = ("at", "id")
        constraints = [
            *(
                fits_column(field, max_digits=16, decimal_places=2, name=f"refund_{field}_fits")
                for field in REFUND_AMOUNTS
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} on order {self.order_id}"

    @property
    def owner_store_id(self) -> int:
        return self.store_id


class ExchangeRate(ImportedRecord):
    """CNY for one unit of ``currency`` on ``date``."""

    date = models.DateField()
    currency = models.CharField(max_length=3, default=Currency.USD)
    rate_to_cny = models.DecimalField(max_digits=12, decimal_places=6)
    set_by = user_link()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("exchange rate")
        verbose_name_plural = gettext_lazy("exchange rates")
        ordering = ("-date", "currency")
        constraints = [
            fits_column(
                "rate_to_cny", max_digits=12, decimal_places=6, name="rate_rate_to_cny_fits"
            ),
            models.UniqueConstraint(fields=["date", "currency"], name="rate_unique_per_day"),
            models.CheckConstraint(condition=Q(rate_to_cny__gt=0), name="rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.currency}/CNY {self.rate_to_cny}"


@guard("{obj.held_reason}")
def payout_not_held(payout: "Payout") -> bool:
    """A payout is not paid while its store owes the platform or is frozen for a risk reason
    (settings.PAYOUT_HOLD_FREEZE_REASONS); it is payable again once that is settled."""
    return not payout.held_reason


def _exact(total: Any) -> Decimal:
    return quantize(Decimal(str(total))) if total is not None else Decimal("0.00")


# What Payout.held_reason reads, annotated on a page of payouts (payouts.selectors).
HELD_ATTRS = ("held_promotion", "held_debt", "held_freeze")


def payout_held_reason(promotion: Decimal, debt: Decimal, freeze: str | None) -> str:
    """Why a store's requested payouts are held, in words; empty when they are payable."""
    causes = []
    if promotion < 0:
        causes.append(
            _("the store owes CNY %(owed)s of promotion arrears") % {"owed": f"{-promotion:,.2f}"}
        )
    if debt < 0:
        causes.append(
            _("the store owes USD %(owed)s of refunds it could not cover")
            % {"owed": f"{-debt:,.2f}"}
        )
    if freeze:
        label = SellerAccount.FreezeReason(freeze).label
        causes.append(_("the store is frozen (%(reason)s)") % {"reason": label})
    if not causes:
        return ""
    return _("The payout is held: %(causes)s. It becomes payable once that is settled.") % {
        "causes": "; ".join(causes)
    }


class Payout(FSMModelMixin, models.Model):
    """A withdrawal of a store's available balance (USD) to its bound account, in USD or in
    CNY at that day's rate."""

    class Status(models.TextChoices):
        REQUESTED = "requested", gettext_lazy("Requested")
        PAID = "paid", gettext_lazy("Paid")
        FAILED = "failed", gettext_lazy("Failed")

    store = models.ForeignKey(SellerAccount, on_delete=models.PROTECT, related_name="payouts")
    amount = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        help_text=gettext_lazy("Taken from the available balance, in USD."),
    )
    currency = models.CharField(max_length=3, choices=Currency.CHOICES, default=Currency.USD)
    rate = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=gettext_lazy("USD/CNY rate of the request day (CNY payouts only)."),
    )
    payout_amount = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        help_text=gettext_lazy("What the store receives, in ``currency``."),
    )
    status = FSMField(
        max_length=16, choices=Status.choices, default=Status.REQUESTED, protected=True
    )
    requested_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    requested_by = user_link()

    class Meta:
        verbose_name = gettext_lazy("payout")
        verbose_name_plural = gettext_lazy("payouts")
        ordering = ("-requested_at", "-id")
        permissions = [
            ("request_payout", "Can request payouts for any store"),
            ("settle_payout", "Can mark payouts paid or failed"),
            ("record_bank_transfer", "Can record promotion top-ups for any store"),
            ("charge_promotion", "Can post the ad system's promotion charges"),
            ("adjust_promotion", "Can adjust promotion wallets"),
            ("set_promotion_threshold", "Can set stores' promotion low-balance thresholds"),
            ("export_payout", "Can export payouts (CSV, XLSX)"),
        ]
        constraints = [
            fits_column("amount", max_digits=16, decimal_places=2, name="payout_amount_fits"),
            fits_column(
                "rate", max_digits=12, decimal_places=6, name="payout_rate_fits", nullable=True
            ),
            fits_column(
                "payout_amount", max_digits=16, decimal_places=2, name="payout_payout_amount_fits"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(
                condition=Q(currency="USD") | Q(rate__isnull=False), name="payout_cny_has_rate"
            ),
        ]

    def __str__(self) -> str:
        return f"Payout {self.pk} {self.currency} {self.payout_amount}"

    @property
    def owner_store_id(self) -> int:
        return self.store_id

    @cached_property
    def held_reason(self) -> str:
        """Why this requested payout may not be paid now (empty: it may). Read from the
        ``HELD_ATTRS`` annotations when a page loaded them, else from the store's ledger and
        holds."""
        if self.status != self.Status.REQUESTED:
            return ""
        if hasattr(self, HELD_ATTRS[0]):
            promotion, debt = _exact(self.held_promotion), _exact(self.held_debt)
            freeze = self.held_freeze
        else:
            totals = dict(
                LedgerEntry.objects.filter(
                    store_id=self.store_id, account__in=[Account.PROMOTION, Account.DEBT]
                )
                .values("account")
                .annotate(total=Sum("amount"))
                .values_list("account", "total")
            )
            promotion = _exact(totals.get(Account.PROMOTION))
            debt = _exact(totals.get(Account.DEBT))
            freeze = (
                StoreHold.objects.filter(
                    store_id=self.store_id,
                    lifted_at__isnull=True,
                    reason__in=settings.PAYOUT_HOLD_FREEZE_REASONS,
                )
                .order_by("placed_at", "id")
                .values_list("reason", flat=True)
                .first()
            )
        return payout_held_reason(promotion, debt, freeze)

    @transition(
        field=status,
        source=Status.REQUESTED,
        target=Status.PAID,
        conditions=[payout_not_held],
        permission=allow("payouts.settle_payout"),
    )
    def mark_paid(self, *, at) -> None:
        self.paid_at = at

    @transition(
        field=status,
        source=Status.REQUESTED,
        target=Status.FAILED,
        permission=allow("payouts.settle_payout"),
    )
    def mark_failed(self, *, at, reason: str) -> None:
        self.failed_at = at
        self.failure_reason = reason


class PayoutTransition(TransitionLog):
    payout = models.ForeignKey(Payout, on_delete=models.CASCADE, related_name="history")

    class Meta(TransitionLog.Meta):
        verbose_name = gettext_lazy("payout history entry")
        verbose_name_plural = gettext_lazy("payout history")


class PromotionMovement(ImportedRecord):
    """A movement of a store's promotion (pay-per-click ads) wallet, in CNY: a top-up, the ad
    system's daily charge, or an adjustment by finance. ``reference`` (the statement line or
    payment id) is unique, so re-importing a statement changes nothing."""

    class Kind(models.TextChoices):
        TOP_UP = "top_up", gettext_lazy("Top-up")
        CHARGE = "charge", gettext_lazy("Ad charge")
        ADJUSTMENT = "adjustment", gettext_lazy("Adjustment")
        SET_OFF = (
            "set_off",
            gettext_lazy("Arrears set off against the available balance (store closed)"),
        )
        CLOSURE_RETURN = (
            "closure_return",
            gettext_lazy("Returned to the available balance (store closed)"),
        )

    class Method(models.TextChoices):
        ALIPAY = "alipay", gettext_lazy("Alipay")
        CREDIT_CARD = "credit_card", gettext_lazy("Credit card")
        BANK_TRANSFER = "bank_transfer", gettext_lazy("Offline bank transfer (recorded by finance)")

    store = models.ForeignKey(
        SellerAccount, on_delete=models.PROTECT, related_name="promotion_movements"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        help_text=gettext_lazy("CNY; signed as it moves the wallet (charges are negative)."),
    )
    method = models.CharField(max_length=16, choices=Method.choices, blank=True)
    reference = models.CharField(max_length=100, unique=True)
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(db_index=True)
    actor = user_link()

    class Meta:
        verbose_name = gettext_lazy("promotion movement")
        verbose_name_plural = gettext_lazy("promotion movements")
        ordering = ("at", "id")
        constraints = [
            fits_column("amount", max_digits=16, decimal_places=2, name="promotion_amount_fits"),
            models.CheckConstraint(condition=~Q(amount=0), name="promotion_amount_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} CNY {self.amount} ({self.reference})"

    @property
    def owner_store_id(self) -> int:
        return self.store_id


class PromotionWallet(models.Model):
    """The seller's own settings of its promotion wallet (the balance is in the ledger)."""

    store = models.OneToOneField(
        SellerAccount,
        on_delete=models.CASCADE,
        related_name="promotion_wallet",
        primary_key=True,
    )
    low_balance_threshold = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        default=Decimal("0.00"),
        help_text=gettext_lazy("CNY; a balance below it raises a notice (0: no notices)."),
    )
    low_balance_noticed = models.BooleanField(
        default=False,
        help_text=gettext_lazy("A notice went out and the balance has not recovered since."),
    )

    class Meta:
        verbose_name = gettext_lazy("promotion wallet")
        verbose_name_plural = gettext_lazy("promotion wallets")
        constraints = [
            fits_column(
                "low_balance_threshold",
                max_digits=16,
                decimal_places=2,
                name="wallet_low_balance_threshold_fits",
                minimum=Decimal("0"),
            ),
        ]

    def __str__(self) -> str:
        return f"Promotion wallet of {self.store_id}"


class ArrearsEpisode(models.Model):
    """A stretch of time during which the promotion wallet was below zero. The open episode
    (``cleared_at`` empty) drives the freeze and close policy; past ones count against the
    store's health."""

    store = models.ForeignKey(
        SellerAccount, on_delete=models.CASCADE, related_name="arrears_episodes"
    )
    started_at = models.DateTimeField(db_index=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    peak = models.DecimalField(
        max_digits=16, decimal_places=2, help_text=gettext_lazy("Most owed, CNY.")
    )

    class Meta:
        verbose_name = gettext_lazy("arrears episode")
        verbose_name_plural = gettext_lazy("arrears episodes")
        ordering = ("-started_at", "-id")
        constraints = [
            fits_column("peak", max_digits=16, decimal_places=2, name="arrears_peak_fits"),
            models.UniqueConstraint(
                fields=["store"],
                condition=Q(cleared_at__isnull=True),
                name="arrears_one_open_episode",
            ),
        ]

    def __str__(self) -> str:
        return f"Arrears of {self.store_id} since {self.started_at:%Y-%m-%d}"


class IdempotencyRecord(models.Model):
    """The first result of a money-moving request made with an idempotency key."""

    key = models.CharField(max_length=100)
    operation = models.CharField(max_length=50)
    user = user_link(on_delete=models.CASCADE)
    request_hash = models.CharField(max_length=64)
    result_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("idempotency record")
        verbose_name_plural = gettext_lazy("idempotency records")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "operation", "key"], name="idempotency_unique_key"
            ),
            # NULLs are distinct in a unique index: system requests need their own.
            models.UniqueConstraint(
                fields=["operation", "key"],
                condition=Q(user__isnull=True),
                name="idempotency_unique_system_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation}:{self.key}"


class Receivable(SellerAccount):
    """A closed store that still owes the platform after the set-off (promotion arrears in CNY,
    refund debt in USD): reported to finance (payouts.selectors.receivables). Computed from the
    ledger, so a debt collected later (a reserve release) leaves the list by itself."""

    class Meta:
        verbose_name_plural = gettext_lazy("receivables (closed store)")
        proxy = True
        verbose_name = gettext_lazy("receivable (closed store)")
