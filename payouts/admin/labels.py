"""The ledger accounts as the admin pages name them, and the currency each store account holds."""

from backoffice.money import Currency
from payouts.models import STORE_ACCOUNTS, Account

ACCOUNT_LABELS = dict(Account.choices)
STORE_CURRENCY = {account: Currency.USD for account in STORE_ACCOUNTS} | {
    Account.PROMOTION: Currency.CNY
}
