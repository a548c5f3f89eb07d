"""Seller accounts (stores), their users, personal API tokens and notices."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from backoffice.audit import TransitionLog
from backoffice.errors import Code
from backoffice.fsm import guard
from backoffice.money import Currency, quantize
from backoffice.permissions import allow

# The name of the promotion balance annotation (payouts.selectors.balance_attr("promotion")).
PROMOTION_ANNOTATION = "ledger_promotion"


@guard("{obj.placing_refusal}")
def reason_not_held(account: "SellerAccount") -> bool:
    """Freezing for a reason the store is already held for is refused (one hold per reason)."""
    return not account.placing_refusal


@guard("{obj.nothing_owed_refusal}", code=Code.NOTHING_OWED)
def arrears_to_hold(account: "SellerAccount") -> bool:
    """The arrears hold waits for arrears to be paid: placing it on a store that owes none is
    refused (nothing would ever lift it by paying; docs/money.md)."""
    return not account.nothing_owed_refusal


@guard("{obj.lifting_refusal}")
def hold_liftable(account: "SellerAccount") -> bool:
    """The hold being lifted (``account.lifting``; when unset, any hold) can be lifted now: the
    arrears hold only once nothing is owed."""
    return not account.lifting_refusal


class SellerAccount(FSMModelMixin, models.Model):
    """One store on the platform."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        FROZEN = "frozen", _("Frozen")
        CLOSED = "closed", _("Closed")

    class FreezeReason(models.TextChoices):
        ARREARS = "arrears", _("Unpaid promotion arrears")
        RISK = "risk", _("Risk review")
        COMPLIANCE = "compliance", _("Compliance")
        OTHER = "other", _("Other")

    class CloseReason(models.TextChoices):
        ARREARS = "arrears", _("Unpaid promotion arrears")
        RISK = "risk", _("Risk decision")
        SELLER_REQUEST = "seller_request", _("Seller request")
        OTHER = "other", _("Other")

    platform_store_id = models.CharField(_("platform store id"), max_length=32, unique=True)
    name = models.CharField(max_length=200)
    opened_at = models.DateTimeField(
        _("opened at"), help_text=_("Start of the store's operating time.")
    )
    settlement_currency = models.CharField(
        max_length=3, choices=Currency.CHOICES, default=Currency.USD
    )
    status = FSMField(
        max_length=16,
        choices=Status.choices,
        default=Status.ACTIVE,
        protected=True,
        db_index=True,
    )
    freeze_reason = models.CharField(
        max_length=16,
        choices=FreezeReason.choices,
        blank=True,
        help_text=_("The reason of the store's oldest active hold (every reason: its holds)."),
    )
    frozen_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Frozen since (the oldest active hold).")
    )
    close_reason = models.CharField(max_length=16, choices=CloseReason.choices, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Of its notices and e-mails to users without a language; empty: the default."),
    )
    commission_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_(
            "Platform commission taken when escrow is released (0 to below 1); empty: "
            "the COMMISSION_RATE setting."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Field-level history (backoffice.field_history): who changed which field, old and new.
    field_changes = GenericRelation("backoffice.FieldChange")

    class Meta:
        verbose_name_plural = _("seller accounts")
        verbose_name = _("seller account")
        ordering = ("name", "id")
        permissions = [
            ("freeze_selleraccount", "Can freeze a seller account"),
            ("unfreeze_selleraccount", "Can unfreeze a seller account"),
            ("close_selleraccount", "Can close a seller account"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(settlement_currency__in=["USD", "CNY"]),
                name="selleraccount_currency_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="frozen") | Q(frozen_at__isnull=False),
                name="selleraccount_frozen_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closed_at__isnull=False),
                name="selleraccount_closed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(commission_rate__isnull=True)
                | (Q(commission_rate__gte=0) & Q(commission_rate__lt=1)),
                name="selleraccount_commission_rate_fraction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.platform_store_id})"

    @property
    def effective_commission_rate(self) -> Decimal:
        """The store's commission rate, or the platform's default (``COMMISSION_RATE``)."""
        if self.commission_rate is not None:
            return self.commission_rate
        return Decimal(str(settings.COMMISSION_RATE))

    @property
    def owner_store_id(self) -> int:
        return self.pk

    @property
    def promotion_balance(self) -> Decimal:
        """The promotion wallet's balance in CNY, from the ledger (negative: arrears).

        A store loaded with the ``ledger_promotion`` annotation (a GraphQL page of stores, see
        payouts.selectors.balance_annotation) reads it from there: no query per store."""
        if hasattr(self, PROMOTION_ANNOTATION):
            total = getattr(self, PROMOTION_ANNOTATION)
            return quantize(Decimal(str(total))) if total is not None else Decimal("0.00")
        if self.pk is None:
            return Decimal("0.00")
        # Through the ledger, so that inside a unit of work (an import's or a deadline job's
        # batch) the postings not yet flushed count too (payouts imports us: a late import).
        from payouts.ledger import balance

        return balance(store_id=self.pk, account="promotion", currency=Currency.CNY)

    @property
    def arrears_owed(self) -> Decimal:
        from payouts.arrears import owed  # the arrears rules' one home (payouts imports us)

        return owed(self.promotion_balance)

    # --- transitions: guards and own fields only; services add locking, audit, money ---

    # --- holds: a frozen store has one active StoreHold per reason it is frozen for ---

    # Set by the services before a transition is checked: the reason being placed or lifted.
    placing: str | None = None
    lifting: str | None = None

    def active_holds(self) -> list["StoreHold"]:
        """Its active holds, oldest first (from ``active_hold_list`` when a page prefetched
        them: see accounts.selectors.ACTIVE_HOLDS)."""
        if hasattr(self, "active_hold_list"):
            return list(self.active_hold_list)
        if self.pk is None:
            return []
        return list(self.holds.filter(lifted_at__isnull=True).order_by("placed_at", "id"))

    def active_reasons(self) -> list[str]:
        return [hold.reason for hold in self.active_holds()]

    @property
    def placing_refusal(self) -> str:
        if self.placing and self.placing in self.active_reasons():
            label = self.FreezeReason(self.placing).label
            return _("The store is already frozen for this reason (%(reason)s).") % {
                "reason": label
            }
        return ""

    @property
    def nothing_owed_refusal(self) -> str:
        if self.placing == self.FreezeReason.ARREARS and not self.arrears_owed:
            return _(
                "The store owes no promotion arrears: an arrears hold waits for arrears to be "
                "paid, so there is nothing for it to wait for. Freeze it for another reason."
            )
        return ""

    @property
    def lifting_refusal(self) -> str:
        reasons = self.active_reasons()
        arrears = self.FreezeReason.ARREARS
        if self.lifting is None:
            blocked = reasons == [arrears] and bool(self.arrears_owed)
        elif self.lifting not in reasons:
            label = self.FreezeReason(self.lifting).label
            return _("The store is not frozen for this reason (%(reason)s).") % {"reason": label}
        else:
            blocked = self.lifting == arrears and bool(self.arrears_owed)
        if blocked:
            return _(
                "The store is frozen for promotion arrears and CNY %(owed)s is still owed: a "
                "top-up of at least that amount must come first."
            ) % {"owed": f"{self.arrears_owed:,.2f}"}
        return ""

    # --- transitions: guards and own fields only; services add locking, audit, money ---

    @transition(
        field=status,
        source=[Status.ACTIVE, Status.FROZEN],
        target=Status.FROZEN,
        conditions=[reason_not_held, arrears_to_hold],
        permission=allow("accounts.freeze_selleraccount"),
    )
    def freeze(self, *, at, reason: str) -> None:
        """Places a hold: an active store becomes frozen; a frozen one gains another reason."""
        if not self.frozen_at:
            self.freeze_reason = reason
            self.frozen_at = at

    @transition(
        field=status,
        source=Status.FROZEN,
        target=RETURN_VALUE(Status.FROZEN, Status.ACTIVE),
        conditions=[hold_liftable],
        permission=allow("accounts.unfreeze_selleraccount"),
    )
    def unfreeze(self, *, at, remaining: list["StoreHold"]) -> str:
        """Lifts a hold; the store is active again once no hold remains (``remaining``: the
        other active holds, oldest first)."""
        if remaining:
            self.freeze_reason = remaining[0].reason
            self.frozen_at = remaining[0].placed_at
            return self.Status.FROZEN
        self.freeze_reason = ""
        self.frozen_at = None
        return self.Status.ACTIVE

    @transition(
        field=status,
        source=[Status.ACTIVE, Status.FROZEN],
        target=Status.CLOSED,
        permission=allow("accounts.close_selleraccount"),
    )
    def close(self, *, at, reason: str) -> None:
        self.close_reason = reason
        self.closed_at = at


class StoreHold(models.Model):
    """One reason a store is frozen. A store is frozen while it has an active (not lifted) hold;
    lifting one leaves the others. Written by accounts.services only."""

    store = models.ForeignKey(SellerAccount, on_delete=models.PROTECT, related_name="holds")
    reason = models.CharField(max_length=16, choices=SellerAccount.FreezeReason.choices)
    note = models.TextField(blank=True)
    placed_at = models.DateTimeField()
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty for the system (the arrears job)."),
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lift_note = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = _("store holds")
        verbose_name = _("store hold")
        ordering = ("placed_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["store", "reason"],
                condition=Q(lifted_at__isnull=True),
                name="storehold_one_active_per_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} since {self.placed_at:%Y-%m-%d}"

    @property
    def owner_store_id(self) -> int:
        return self.store_id


class AccountTransition(TransitionLog):
    selleraccount = models.ForeignKey(
        SellerAccount, on_delete=models.CASCADE, related_name="history"
    )

    class Meta(TransitionLog.Meta):
        verbose_name = _("account history entry")
        verbose_name_plural = _("account history")


class User(AbstractUser):
    """Staff (is_staff, roles as groups) or a seller user, who belongs to exactly one store."""

    store = models.ForeignKey(
        SellerAccount,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        help_text=_("Set for seller users: they see and act on this store only."),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Of the back-office and of notices; empty: the browser's, else the store's."),
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.CheckConstraint(
                condition=Q(store__isnull=True) | Q(is_staff=False, is_superuser=False),
                name="user_seller_is_not_staff",
            ),
        ]

    @property
    def is_seller(self) -> bool:
        return self.store_id is not None


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the token is shown once at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(
        max_length=16, unique=True, help_text=_("Shown to tell tokens apart.")
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = _("API tokens")
        verbose_name = _("API token")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def owner_store_id(self) -> int | None:
        return self.user.store_id


class Notice(models.Model):
    """A message to a store (freeze, close, low balance, eligibility, dispute deadlines), shown
    in the back-office and e-mailed to the store's users."""

    class Kind(models.TextChoices):
        FREEZE = "freeze", _("Store frozen")
        UNFREEZE = "unfreeze", _("Store unfrozen")
        CLOSE = "close", _("Store closed")
        LOW_BALANCE = "low_balance", _("Low promotion balance")
        ELIGIBILITY = "eligibility", _("Early payout")
        DISPUTE_DEADLINE = "dispute_deadline", _("Dispute deadline")
        WEBHOOK_DISABLED = "webhook_disabled", _("Webhook endpoint disabled")

    class EmailStatus(models.TextChoices):
        """Where its e-mail stands (sent by the ``notices.send_emails`` job, with retries)."""

        NONE = "none", _("No recipients")
        PENDING = "pending", _("Pending")
        RETRYING = "retrying", _("Retrying")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    store = models.ForeignKey(SellerAccount, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(db_index=True)
    emailed_to = models.JSONField(
        default=list, blank=True, help_text=_("The addresses it is e-mailed to.")
    )
    texts = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("Its title and body in each language: {language: {title, body}}."),
    )
    recipient_languages = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("The language each address is written in: {address: language}."),
    )
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    email_attempts = models.PositiveIntegerField(default=0)
    email_next_attempt_at = models.DateTimeField(null=True, blank=True)
    email_last_error = models.TextField(blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["email_status", "email_next_attempt_at"], name="notice_email_due")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"

    def text_in(self, language: str) -> tuple[str, str]:
        """Its title and body in ``language`` (as stored when it was made; else as stored)."""
        return self.part_in("title", language), self.part_in("body", language)

    def part_in(self, part: str, language: str) -> str:
        """``title`` or ``body`` in ``language``; reads only that column when it must."""
        text = (self.texts or {}).get(language) or {}
        return text.get(part) or getattr(self, part)

    @property
    def owner_store_id(self) -> int:
        return self.store_id
