"""Every write to seller accounts, their users and API tokens."""

import hashlib
import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import ApiToken, Notice, SellerAccount, User
from accounts.notices import notify
from accounts.selectors import freeze_info
from backoffice import clock
from backoffice.db import lock
from backoffice.errors import PermissionDenied, invalid, not_found
from backoffice.fsm import run_transition
from backoffice.money import Currency
from backoffice.permissions import require_staff_perm
from backoffice.text import clean_text, column_length
from payouts import services as money

TOKEN_PREFIX = "bo"


def _save_state(account: SellerAccount, *fields: str) -> None:
    account.save(update_fields=["status", *fields, "updated_at"])


@transaction.atomic
def seller_account_create(
    *,
    actor: Any,
    platform_store_id: str,
    name: str,
    opened_at: datetime | None = None,
    settlement_currency: str = Currency.USD,
) -> SellerAccount:
    require_staff_perm(actor, "accounts.add_selleraccount")
    platform_store_id = clean_text(
        platform_store_id,
        field="storeId",
        max_length=column_length(SellerAccount, "platform_store_id"),
    )
    name = clean_text(name, field="name", max_length=column_length(SellerAccount, "name"))
    if not platform_store_id:
        raise invalid("The platform store id is required.", field="storeId")
    if not name:
        raise invalid("The store name is required.", field="name")
    if settlement_currency not in (Currency.USD, Currency.CNY):
        raise invalid("The settlement currency must be USD or CNY.", field="settlementCurrency")
    if SellerAccount.objects.filter(platform_store_id=platform_store_id).exists():
        raise invalid(f"A store with id {platform_store_id} exists already.", field="storeId")
    return SellerAccount.objects.create(
        platform_store_id=platform_store_id,
        name=name,
        opened_at=clock.resolve(opened_at),
        settlement_currency=settlement_currency,
    )


@transaction.atomic
def seller_account_freeze(
    *, account_id: int, actor: Any, reason: str, note: str = "", at: datetime | None = None
) -> SellerAccount:
    if reason not in SellerAccount.FreezeReason.values:
        choices = ", ".join(SellerAccount.FreezeReason.values)
        raise invalid(f"Unknown freeze reason {reason!r}; use one of {choices}.", field="reason")
    account = lock(SellerAccount, account_id)
    at = clock.resolve(at)
    run_transition(account, "freeze", actor=actor, at=at, note=note, reason=reason)
    _save_state(account, "freeze_reason", "frozen_at")
    info = freeze_info(account)
    notify(
        account,
        Notice.Kind.FREEZE,
        at=at,
        title="Your store is frozen",
        body=f"Reason: {info.reason_label}. Promotions stop and payouts are blocked; orders, "
        f"shipping and disputes carry on. What lifts it: {info.lifted_by}",
    )
    return account


@transaction.atomic
def seller_account_unfreeze(
    *, account_id: int, actor: Any, note: str = "", at: datetime | None = None
) -> SellerAccount:
    account = lock(SellerAccount, account_id)
    at = clock.resolve(at)
    run_transition(account, "unfreeze", actor=actor, at=at, note=note)
    _save_state(account, "freeze_reason", "frozen_at")
    notify(
        account,
        Notice.Kind.UNFREEZE,
        at=at,
        title="Your store is active again",
        body="Promotions and payouts are open again.",
    )
    return account


@transaction.atomic
def seller_account_close(
    *, account_id: int, actor: Any, reason: str, note: str = "", at: datetime | None = None
) -> SellerAccount:
    if reason not in SellerAccount.CloseReason.values:
        choices = ", ".join(SellerAccount.CloseReason.values)
        raise invalid(f"Unknown close reason {reason!r}; use one of {choices}.", field="reason")
    account = lock(SellerAccount, account_id)
    at = clock.resolve(at)
    run_transition(account, "close", actor=actor, at=at, note=note, reason=reason)
    _save_state(account, "close_reason", "closed_at")
    money.schedule_release_on_closure(account)
    notify(
        account,
        Notice.Kind.CLOSE,
        at=at,
        title="Your store is closed",
        body=f"Reason: {account.get_close_reason_display()}. It takes no new orders; what it "
        "is owed is settled and each order's reserve is released "
        f"{settings.RESERVE_RELEASE_ON_CLOSE_DAYS} days after it shipped.",
    )
    return account


@transaction.atomic
def seller_user_create(*, actor: Any, account_id: int, username: str, password: str) -> User:
    """A seller user of one store (not staff: it sees that store only)."""
    require_staff_perm(actor, "accounts.add_user")
    account = lock(SellerAccount, account_id)
    if User.objects.filter(username=username).exists():
        raise invalid(f"The username {username!r} is taken.", field="username")
    return User.objects.create_user(username=username, password=password, store=account)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, actor: Any, name: str) -> tuple[ApiToken, str]:
    """A token for the acting user. Returns the row and the token text, shown only once."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied("Sign in to create an API token.")
    name = (name or "").strip()
    if not name:
        raise invalid("Give the token a name.", field="name")
    prefix = secrets.token_hex(4)
    plaintext = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=actor, name=name[:100], prefix=prefix, key_hash=_hash(plaintext)
    )
    return token, plaintext


@transaction.atomic
def api_token_revoke(*, actor: Any, token_id: int) -> ApiToken:
    token = lock(ApiToken, token_id, what="API token")
    if actor is None or not (token.user_id == actor.pk or actor.is_superuser):
        raise not_found("API token")  # do not reveal other users' tokens
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(plaintext: str) -> User | None:
    """The active user behind a bearer token, or None. Marks the token as used."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(plaintext), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = clock.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
