"""Every write to seller accounts, their users and API tokens."""

import hashlib
import secrets
import unicodedata
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from axes.helpers import get_cool_off
from axes.utils import reset as axes_reset
from django import forms
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import ApiToken, Notice, SellerAccount, StoreHold, User
from accounts.notices import notify
from accounts.selectors import freeze_info, lifted_by_text
from backoffice import clock
from backoffice.db import lock
from backoffice.errors import Code, PermissionDenied, invalid, not_found
from backoffice.field_history import record_field_changes, snapshot
from backoffice.fsm import run_transition
from backoffice.money import Currency, clean_fraction
from backoffice.permissions import require_staff_perm
from backoffice.text import clean_text, column_length
from orders.services import cancel_unpaid_on_closure
from payouts import collection
from payouts import services as payouts_services

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
    commission_rate: Any = None,
) -> SellerAccount:
    require_staff_perm(actor, "accounts.add_selleraccount")
    if commission_rate is not None:
        commission_rate = clean_fraction(commission_rate, field="commissionRate")
    platform_store_id = clean_text(
        platform_store_id,
        field="storeId",
        max_length=column_length(SellerAccount, "platform_store_id"),
    )
    name = clean_text(name, field="name", max_length=column_length(SellerAccount, "name"))
    if not platform_store_id:
        raise invalid(_("The platform store id is required."), field="storeId")
    if not name:
        raise invalid(_("The store name is required."), field="name")
    if settlement_currency not in (Currency.USD, Currency.CNY):
        raise invalid(_("The settlement currency must be USD or CNY."), field="settlementCurrency")
    if SellerAccount.objects.filter(platform_store_id=platform_store_id).exists():
        raise invalid(
            _("A store with id %(platform_store_id)s exists already.")
            % {"platform_store_id": platform_store_id},
            field="storeId",
            code=Code.ALREADY_EXISTS,
        )
    return SellerAccount.objects.create(
        platform_store_id=platform_store_id,
        name=name,
        opened_at=clock.resolve(opened_at),
        settlement_currency=settlement_currency,
        commission_rate=commission_rate,
    )


# What staff may edit on a store: everything else is state that moves through transitions.
EDITABLE_FIELDS = ("name", "settlement_currency", "opened_at", "commission_rate", "language")
# ``commission_rate=DEFAULT_RATE``: the store pays the platform's COMMISSION_RATE again.
DEFAULT_RATE = ""
RATE_PLACES = Decimal("0.0001")


def _clean_commission_rate(value: Any) -> Decimal | None:
    """A store's own commission rate (0 to below 1, 4 decimals), or ``None`` for the platform
    default when ``DEFAULT_RATE`` is given. A new rate applies to releases from then on."""
    if value == DEFAULT_RATE:
        return None
    return clean_fraction(value, field="commissionRate").quantize(RATE_PLACES)


def clean_account_fields(**fields: Any) -> dict[str, Any]:
    """The editable fields given (``None``: not given), validated as the API validates them."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable on a store: {sorted(unknown)}")
    cleaned = {k: v for k, v in fields.items() if v is not None}
    if "commission_rate" in cleaned:
        cleaned["commission_rate"] = _clean_commission_rate(cleaned["commission_rate"])
    if "name" in cleaned:
        length = column_length(SellerAccount, "name")
        cleaned["name"] = clean_text(cleaned["name"], field="name", max_length=length)
        if not cleaned["name"]:
            raise invalid(_("The store name is required."), field="name")
    currency = cleaned.get("settlement_currency")
    if currency is not None and currency not in (Currency.USD, Currency.CNY):
        raise invalid(_("The settlement currency must be USD or CNY."), field="settlementCurrency")
    if "opened_at" in cleaned:
        cleaned["opened_at"] = clock.resolve(cleaned["opened_at"])
    if cleaned.get("language") and cleaned["language"] not in dict(settings.LANGUAGES):
        raise invalid(_("Unknown language."), field="language")
    return cleaned


@transaction.atomic
def seller_account_update(
    *, account_id: int, actor: Any, note: str = "", **fields: Any
) -> SellerAccount:
    """Changes a store's editable fields (:data:`EDITABLE_FIELDS`; ``None``: unchanged), saves
    only those that differ and records each with its old and new value and who
    (:mod:`backoffice.field_history`). Nothing differs: nothing is written.

    A new ``commission_rate`` is taken by every release of escrow from then on (the rate in
    force at the release); what earlier releases took stays, and their refunds return a share
    of what was actually taken (:func:`payouts.services.refund`)."""
    require_staff_perm(actor, "accounts.change_selleraccount")
    cleaned = clean_account_fields(**fields)
    note = clean_text(note, field="note", multiline=True)
    account = lock(SellerAccount, account_id)
    before = snapshot(account, cleaned)
    changed = [name for name, value in cleaned.items() if getattr(account, name) != value]
    if not changed:
        return account
    for name in changed:
        setattr(account, name, cleaned[name])
    account.save(update_fields=[*changed, "updated_at"])
    record_field_changes(account, before, snapshot(account, cleaned), actor, note=note)
    return account


def _reason(reason: str) -> str:
    if reason not in SellerAccount.FreezeReason.values:
        choices = ", ".join(SellerAccount.FreezeReason.values)
        raise invalid(
            _("Unknown freeze reason %(reason)r; use one of %(choices)s.")
            % {"reason": reason, "choices": choices},
            field="reason",
        )
    return reason


@transaction.atomic
def seller_account_freeze(
    *, account_id: int, actor: Any, reason: str, note: str = "", at: datetime | None = None
) -> SellerAccount:
    """Places a hold for ``reason``: an active store becomes frozen, a frozen one stays frozen
    for one more reason (one hold per reason)."""
    reason = _reason(reason)
    account = lock(SellerAccount, account_id)
    at = clock.resolve(at)
    account.placing = reason
    run_transition(account, "freeze", actor=actor, at=at, note=note, reason=reason)
    note = clean_text(note, field="note", multiline=True)
    hold = StoreHold.objects.create(
        store=account,
        reason=reason,
        note=note,
        placed_at=at,
        placed_by=actor if getattr(actor, "pk", None) else None,
    )
    _save_state(account, "freeze_reason", "frozen_at")
    info = freeze_info(account)
    held = next(h for h in info.holds if h.reason == reason)
    notify(
        account,
        Notice.Kind.FREEZE,
        at=at,
        title=gettext_lazy("Your store is frozen"),
        body=lambda: (
            _(
                "Reason: %(reason)s. Promotions stop and payouts are blocked; orders, shipping and "
                "disputes carry on. What lifts it: %(lifted_by)s"
            )
            % {"reason": hold.get_reason_display(), "lifted_by": lifted_by_text(reason, held.owed)}
        ),
    )
    return account


def _hold_to_lift(account: SellerAccount, reason: str | None) -> str | None:
    """The reason whose hold is lifted: the one given; else the only hold, or the only one
    other than arrears (which its payment lifts); ``None`` leaves the guard to refuse."""
    if reason is not None:
        return _reason(reason)
    reasons = account.active_reasons()
    if len(reasons) <= 1:
        return reasons[0] if reasons else None
    others = [r for r in reasons if r != SellerAccount.FreezeReason.ARREARS]
    if len(others) == 1:
        return others[0]
    labels = ", ".join(str(SellerAccount.FreezeReason(r).label) for r in reasons)
    raise invalid(
        _("The store is frozen for several reasons (%(labels)s): say which hold to lift.")
        % {"labels": labels},
        field="reason",
    )


@transaction.atomic
def seller_account_unfreeze(
    *,
    account_id: int,
    actor: Any,
    reason: str | None = None,
    note: str = "",
    at: datetime | None = None,
) -> SellerAccount:
    """Lifts the hold for ``reason`` (see :func:`_hold_to_lift` when none is given); the store
    is active again once no hold is left."""
    account = lock(SellerAccount, account_id)
    at = clock.resolve(at)
    if account.status == SellerAccount.Status.FROZEN:
        account.lifting = _hold_to_lift(account, reason)
    holds = account.active_holds()
    lifted = [h for h in holds if h.reason == account.lifting]
    remaining = [h for h in holds if h.reason != account.lifting]
    run_transition(account, "unfreeze", actor=actor, at=at, note=note, remaining=remaining)
    for hold in lifted:
        hold.lifted_at = at
        hold.lifted_by = actor if getattr(actor, "pk", None) else None
        hold.lift_note = clean_text(note, field="note", multiline=True)
        hold.save(update_fields=["lifted_at", "lifted_by", "lift_note"])
    _save_state(account, "freeze_reason", "frozen_at")
    if account.status == SellerAccount.Status.ACTIVE:
        notify(
            account,
            Notice.Kind.UNFREEZE,
            at=at,
            title=gettext_lazy("Your store is active again"),
            body=gettext_lazy("Promotions and payouts are open again."),
        )
    else:
        lifted_reason = lifted[0].reason if lifted else reason
        notify(
            account,
            Notice.Kind.UNFREEZE,
            at=at,
            title=gettext_lazy("A hold on your store is lifted"),
            body=lambda: (
                _("The hold for %(lifted)s is lifted; the store stays frozen for: %(left)s.")
                % {
                    "lifted": SellerAccount.FreezeReason(lifted_reason).label,
                    "left": ", ".join(str(h.get_reason_display()) for h in remaining),
                }
            ),
        )
    return account


def _lift_all_holds(account: SellerAccount, *, actor: Any, at: datetime) -> None:
    """A closed store is not frozen any more: its holds end with the closure."""
    account.holds.filter(lifted_at__isnull=True).update(
        lifted_at=at,
        lifted_by=actor if getattr(actor, "pk", None) else None,
        lift_note="store closed",
    )


@transaction.atomic
def seller_account_close(
    *, account_id: int, actor: Any, reason: str, note: str = "", at: datetime | None = None
) -> SellerAccount:
    if reason not in SellerAccount.CloseReason.values:
        choices = ", ".join(SellerAccount.CloseReason.values)
        raise invalid(
            _("Unknown close reason %(reason)r; use one of %(choices)s.")
            % {"reason": reason, "choices": choices},
            field="reason",
        )
    account = lock(SellerAccount, account_id)
    at = clock.resolve(at)
    run_transition(account, "close", actor=actor, at=at, note=note, reason=reason)
    _save_state(account, "close_reason", "closed_at")
    _lift_all_holds(account, actor=actor, at=at)
    payouts_services.schedule_release_on_closure(account)
    cancelled = cancel_unpaid_on_closure(account, actor=actor, at=at)
    collection.settle_closed_store(account, at=at)
    notify(
        account,
        Notice.Kind.CLOSE,
        at=at,
        title=gettext_lazy("Your store is closed"),
        body=lambda: (
            _(
                "Reason: %(reason)s. It takes no new orders and no payments%(cancelled)s; what "
                "it is owed is settled and each order's reserve is released %(days)s days after "
                "it shipped."
            )
            % {
                "reason": account.get_close_reason_display(),
                "cancelled": ngettext(
                    " (%(count)d unpaid order was cancelled)",
                    " (%(count)d unpaid orders were cancelled)",
                    cancelled,
                )
                % {"count": cancelled}
                if cancelled
                else "",
                "days": settings.RESERVE_RELEASE_ON_CLOSE_DAYS,
            }
        ),
    )
    return account


@transaction.atomic
def seller_user_create(*, actor: Any, account_id: int, username: str, password: str) -> User:
    """A seller user of one store (not staff: it sees that store only)."""
    require_staff_perm(actor, "accounts.add_user")
    account = lock(SellerAccount, account_id)
    if User.objects.filter(username=username).exists():
        raise invalid(
            _("The username %(username)r is taken.") % {"username": username}, field="username"
        )
    return User.objects.create_user(username=username, password=password, store=account)


# What the user admin's Save records (the password never: only that it was set, by Django).
USER_AUDITED_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "is_active",
    "is_staff",
    "is_superuser",
    "store",
)
USER_AUDITED_RELATIONS = ("groups", "user_permissions")


def _user_snapshot(user: User) -> dict[str, str]:
    return snapshot(user, USER_AUDITED_FIELDS) | {
        "groups": ", ".join(sorted(user.groups.values_list("name", flat=True))),
        "user_permissions": ", ".join(
            sorted(user.user_permissions.values_list("codename", flat=True))
        ),
    }


@transaction.atomic
def user_save(*, actor: Any, user: User, save_relations: Callable[[], None] = lambda: None) -> User:
    """The user admin's Save (a new user or changes to one, its roles and permissions
    included): the add or change permission, the row locked, each changed field recorded with
    its old and new value and who (:mod:`backoffice.field_history`; a new user's fields against
    empty ones). ``save_relations`` writes the many-to-many fields (the admin form's
    ``save_m2m``) once the user has its id. The database refuses a seller user that is staff."""
    adding = user.pk is None
    require_staff_perm(actor, "accounts.add_user" if adding else "accounts.change_user")
    fields = (*USER_AUDITED_FIELDS, *USER_AUDITED_RELATIONS)
    before = dict.fromkeys(fields, "") if adding else _user_snapshot(lock(User, user.pk))
    user.save()
    save_relations()
    note = "created" if adding else ""
    record_field_changes(user, before, _user_snapshot(user), actor, note=note)
    return user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def has_control_characters(text: str) -> bool:
    """Any character of Unicode category C (control, format, unassigned, private use)."""
    return any(unicodedata.category(char).startswith("C") for char in text)


def _token_name(name: str) -> str:
    name = (name or "").strip()
    limit = ApiToken._meta.get_field("name").max_length
    if not name:
        raise invalid(_("Give the token a name."), field="name")
    if len(name) > limit:
        raise invalid(_("A token name has at most %(n)d characters.") % {"n": limit}, field="name")
    if has_control_characters(name):
        raise invalid(_("A token name cannot contain control characters."), field="name")
    return name


@transaction.atomic
def api_token_create(*, actor: Any, name: str) -> tuple[ApiToken, str]:
    """A token for the acting user. Returns the row and the token text, shown only once.

    A user holds at most ``API_TOKENS_MAX_LIVE`` live (not revoked) tokens; the user's row is
    locked so that two requests at once cannot both take the last place."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied(_("Sign in to create an API token."))
    name = _token_name(name)
    lock(User, actor.pk, what="User")
    limit = settings.API_TOKENS_MAX_LIVE
    if ApiToken.objects.filter(user_id=actor.pk, revoked_at__isnull=True).count() >= limit:
        raise invalid(
            _("You hold %(n)d live API tokens, the most allowed: revoke one first.") % {"n": limit}
        )
    prefix = secrets.token_hex(4)
    plaintext = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(user=actor, name=name, prefix=prefix, key_hash=_hash(plaintext))
    return token, plaintext


@transaction.atomic
def api_token_revoke(*, actor: Any, token_id: int) -> ApiToken:
    token = lock(ApiToken, token_id, what="API token")
    if actor is None or not (token.user_id == actor.pk or actor.is_superuser):
        raise not_found(_("API token"))  # do not reveal other users' tokens
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


# --- signing in and out on the Django session, passwords ---
#
# Not atomic: django-axes records a failed sign-in in the database, and that record must stay
# when the sign-in is refused.


def is_bearer_request(request: HttpRequest) -> bool:
    """Whether the request's user comes from an API token (accounts.auth.BearerTokenMiddleware):
    no session and no cookies, so nothing to sign in or out of."""
    return getattr(request, "bearer_token", False)


def _require_session(request: HttpRequest) -> None:
    if is_bearer_request(request):
        raise PermissionDenied(
            _(
                "Signing in and out and changing the password are for browser sessions; an API "
                "token needs none of them (revoke it with apiTokenRevoke)."
            )
        )


def _username(username: str) -> str:
    limit = User._meta.get_field("username").max_length
    if not username:
        raise invalid(_("Enter the username."), field="username")
    if len(username) > limit or has_control_characters(username):
        raise invalid(_("Wrong username or password."), field="username")
    return username


def cool_off_minutes(request: HttpRequest) -> int | None:
    """How long a sign-in lockout lasts (AXES_COOLOFF_MINUTES); None: until staff unlock it."""
    cool_off = get_cool_off(request)
    return max(1, round(cool_off.total_seconds() / 60)) if cool_off else None


def lockout_message(request: HttpRequest) -> str:
    minutes = cool_off_minutes(request)
    if minutes:
        wait = _("try again in %(n)d minutes") % {"n": minutes}
    else:
        wait = _("ask staff to unlock it")
    return _(
        "Too many failed sign-in attempts: signing in as this user from here is locked; "
        "%(wait)s. Staff can unlock it at once."
    ) % {"wait": wait}


def session_login(*, request: HttpRequest, username: str, password: str) -> User:
    """Signs ``username`` in on the request's session (a new session key and CSRF token).

    The refusal does not say whether the username exists or the account is disabled. Too many
    failures for one username from one address lock that pair out (django-axes sees the attempt
    through ``authenticate(request=...)``); the answer then says so, without checking the
    password."""
    _require_session(request)
    username = _username(username)
    if not password:
        raise invalid(_("Enter the password."), field="password")
    user = auth.authenticate(request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):
        request.lockout_answered = True  # accounts.auth.lockout_response: keep our answer
        raise PermissionDenied(lockout_message(request))
    if user is None:
        raise PermissionDenied(_("Wrong username or password."))
    auth.login(request, user)
    return user


def session_logout(*, request: HttpRequest) -> None:
    """Ends the request's session (whoever was signed in; nothing to do when nobody was)."""
    _require_session(request)
    auth.logout(request)


def _form_refusal(form: forms.Form, fields: dict[str, str]) -> ValidationError:
    """A bound form's errors as ``invalid``, keyed by our input names (``fields`` maps them)."""
    errors: dict[str, list[ValidationError]] = {}
    for name, found in form.errors.as_data().items():
        for error in found:
            for message in error.messages:
                errors.setdefault(fields.get(name, name), []).append(
                    ValidationError(message, code="invalid")
                )
    return ValidationError(errors)


NEW_PASSWORD = {"new_password1": "new_password", "new_password2": "new_password"}


def password_change(*, request: HttpRequest, old_password: str, new_password: str) -> User:
    """The signed-in user's new password (Django's validators); the session stays signed in,
    the user's other sessions end."""
    _require_session(request)
    user = request.user
    if not (user.is_authenticated and user.is_active):
        raise PermissionDenied(_("Sign in to change your password."))
    data = {"old_password": old_password, "new_password1": new_password}
    form = PasswordChangeForm(user, data={**data, "new_password2": new_password})
    if not form.is_valid():
        raise _form_refusal(form, NEW_PASSWORD)
    form.save()
    auth.update_session_auth_hash(request, user)
    return user


def password_reset_request(*, request: HttpRequest, email: str) -> None:
    """E-mails a reset link to each active user with this address. The answer is the same
    whether or not one exists (the caller cannot learn which addresses have accounts)."""
    form = PasswordResetForm(data={"email": email})
    if not form.is_valid():
        raise _form_refusal(form, {})
    form.save(request=request, use_https=request.is_secure())


def _user_of_uid(uid: str) -> User | None:
    if len(uid) > 64:
        return None
    try:
        return User.objects.get(pk=urlsafe_base64_decode(uid).decode())
    except (TypeError, ValueError, OverflowError, User.DoesNotExist, ValidationError):
        return None


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Sets a new password from an e-mailed link's ``uid`` and ``token`` (single use: the token
    dies with the old password), and lifts the user's sign-in lockouts."""
    user = _user_of_uid(uid)
    if user is None or not user.is_active or not default_token_generator.check_token(user, token):
        raise invalid(
            _("This password reset link is invalid or was used already: ask for a new one."),
            field="token",
        )
    data = {"new_password1": new_password, "new_password2": new_password}
    form = SetPasswordForm(user, data=data)
    if not form.is_valid():
        raise _form_refusal(form, NEW_PASSWORD)
    form.save()
    axes_reset(username=user.get_username())
    return user
