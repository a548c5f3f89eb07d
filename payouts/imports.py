"""The appliers of the promotion statement and the exchange rates exports
(``backoffice.imports.appliers``): the wallet services, with the statement's reference
(idempotent), a line at the start of its day in the import's time zone; ``exchange_rate_set``.
Each row runs in a savepoint and every row is tried.
"""

from datetime import datetime, time

from accounts.models import SellerAccount
from backoffice.imports.appliers import Applier, RowProblem, register
from backoffice.imports.choices import PromotionType
from backoffice.imports.headers import Kind
from backoffice.imports.rows import ExchangeRateRow, PromotionRow
from backoffice.money import Currency

from . import promotion as wallet
from .models import ExchangeRate, PromotionMovement
from .services import exchange_rate_set


@register(Kind.PROMOTION)
class PromotionApplier(Applier):
    SERVICE_FIELDS = {"amount": "amount", "reference": "reference", "note": "reference"}
    DEFAULT_FIELD = "type"

    def apply_row(self, row: PromotionRow) -> None:
        store = SellerAccount.objects.filter(platform_store_id=row.store_id).first()
        if store is None:
            raise RowProblem("store_id", f"store {row.store_id} is not in the back-office")
        if row.amount.currency != Currency.CNY:
            raise RowProblem("amount", f"{row.amount}: the promotion wallet is in CNY")
        known = PromotionMovement.objects.filter(reference=row.reference).exists()
        at = datetime.combine(row.date, time(0), tzinfo=self.context.tz)
        common = {"store_id": store.pk, "actor": self.actor, "reference": row.reference, "at": at}
        amount = row.amount.amount
        if row.type == PromotionType.TOP_UP:
            method = PromotionMovement.Method.BANK_TRANSFER  # a statement does not say how
            movement = wallet.promotion_top_up(amount=amount, method=method, **common)
        elif row.type == PromotionType.CHARGE:
            movement = wallet.promotion_charge(amount=amount, **common)
        else:
            note = f"adjustment on the platform statement ({row.reference})"
            movement = wallet.promotion_adjust(amount=amount, note=note, **common)
        if not known:
            self.context.mark(movement, row.line)
        self.context.count(None if known else "new", changed=False)


@register(Kind.EXCHANGE_RATES)
class ExchangeRatesApplier(Applier):
    SERVICE_FIELDS = {"rate": "rate", "currency": "currency"}
    DEFAULT_FIELD = "rate"

    def apply_row(self, row: ExchangeRateRow) -> None:
        known = ExchangeRate.objects.filter(date=row.date, currency=row.currency).first()
        if known is not None and known.rate_to_cny == row.rate:
            self.context.count(None, changed=False)
            return
        rate = exchange_rate_set(
            actor=self.actor, day=row.date, rate=row.rate, currency=row.currency
        )
        self.context.mark(rate, row.line)
        self.context.count("new" if known is None else None, changed=True)
