"""GraphQL for seller accounts, the viewer and personal API tokens. Thin: services decide."""

from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

import strawberry
import strawberry_django
from django.db.models import Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from strawberry import UNSET, Info, relay

from accounts import services
from accounts.models import AccountTransition, ApiToken, Notice, SellerAccount
from accounts.selectors import (
    ACTIVE_HOLDS,
    HoldInfo,
    api_tokens_visible_to,
    freeze_info,
    notices_visible_to,
    sees_all_notices,
    seller_accounts_visible_to,
)
from backoffice.graphql import (
    AvailableTransition,
    ChoiceFilter,
    Connection,
    FieldChangeEntry,
    GlobalId,
    HistoryEntry,
    Money,
    Scoped,
    SettlementCurrency,
    StableOrder,
    aware,
    changes_field,
    choice,
    enum_from_choices,
    history_field,
    http_request,
    max_page_size,
    mutation,
    require_user,
    service_mutation,
    transitions_field,
    viewer,
)
from backoffice.graphql.actors import BY, actor_name
from backoffice.money import Currency
from payouts.schema_types import (
    PROMOTION_ATTR,
    STORE_CLOCK_ANNOTATIONS,
    ArrearsEpisodeType,
    Balances,
    EarlyPayout,
    PromotionMovementType,
    PromotionWalletType,
    ReserveHoldType,
    StatementType,
    StoreHealthType,
    arrears_history_field,
    balances_field,
    commission_rate_field,
    commission_taken_field,
    early_payout_field,
    health_field,
    promotion_field,
    promotion_movements_field,
    reserve_schedule_field,
    statement_field,
    store_auto_action_of,
)
from payouts.selectors import balance_annotation

SellerAccountStatus = enum_from_choices("SellerAccountStatus", SellerAccount.Status.choices)
FreezeReason = enum_from_choices("FreezeReason", SellerAccount.FreezeReason.choices)
CloseReason = enum_from_choices("CloseReason", SellerAccount.CloseReason.choices)
NoticeKind = enum_from_choices("NoticeKind", Notice.Kind.choices)

# What the unfreeze guard reads (the freeze reason and, for arrears, the promotion balance),
# loaded with the page so that no store costs a query of its own.
PROMOTION_BALANCE = {PROMOTION_ATTR: lambda info: balance_annotation("promotion")}


@strawberry.type(
    name="StoreHold",
    description="One reason a store is frozen: lifting it leaves the store's other holds.",
)
class StoreHoldInfo:
    reason: FreezeReason = strawberry.field(  # type: ignore[valid-type]
        description="ARREARS (unpaid promotion arrears), RISK, COMPLIANCE or OTHER."
    )
    reason_label: str
    since: datetime
    by: str | None = strawberry.field(description=BY)
    note: str
    owed: Money | None = strawberry.field(
        description="The arrears hold: the promotion arrears still owed (CNY); null for others."
    )
    lifted_by: str = strawberry.field(description="What lifts this hold, in words.")


@strawberry.type(
    description="Why a store is frozen: each hold (reason, since when, by whom, what lifts it). "
    "`reason`, `owed` and `liftedBy` repeat the oldest hold's; `since` is when the store froze."
)
class FreezeInfo:
    reason: FreezeReason | None = strawberry.field(  # type: ignore[valid-type]
        description="The oldest hold's reason: ARREARS, RISK, COMPLIANCE or OTHER."
    )
    reason_label: str
    since: datetime
    owed: Money | None = strawberry.field(
        description="Frozen for arrears first: the promotion arrears still owed (CNY); null "
        "for other reasons."
    )
    lifted_by: str = strawberry.field(description="What lifts the oldest hold, in words.")
    holds: list[StoreHoldInfo] = strawberry.field(
        description="Every active hold, oldest first: the store is active again once none is left."
    )


def _holds_view(info: Info, holds: list[HoldInfo]) -> list[StoreHoldInfo]:
    return [
        StoreHoldInfo(
            reason=FreezeReason(hold.reason),
            reason_label=hold.reason_label,
            since=hold.since,
            by=actor_name(info, hold.placed_by),
            note=hold.note,
            owed=Money.of(hold.owed, Currency.CNY),
            lifted_by=hold.lifted_by,
        )
        for hold in holds
    ]


def _notices(viewer: Any, queryset: QuerySet) -> QuerySet:
    return notices_visible_to(viewer, queryset).order_by("-created_at", "-pk")


@strawberry_django.type(
    Notice,
    name="Notice",
    description="A message to the store (freeze, close, low promotion balance, early payout, "
    "dispute deadlines), also e-mailed to the store's users.",
)
class NoticeType(Scoped, relay.Node):
    scope = staticmethod(_notices)
    created_at: datetime

    @strawberry_django.field(
        only=["title", "texts"], description="In the reader's language (see `body`)."
    )
    def title(self, root: strawberry.Parent[Notice]) -> str:
        return root.part_in("title", translation.get_language())

    @strawberry_django.field(
        only=["body", "texts"],
        description="In the reader's language (the request's), as it was written when the "
        "notice was made.",
    )
    def body(self, root: strawberry.Parent[Notice]) -> str:
        return root.part_in("body", translation.get_language())

    @strawberry_django.field(only=["kind"])
    def kind(self, root: strawberry.Parent[Notice]) -> NoticeKind:  # type: ignore[valid-type]
        return NoticeKind(root.kind)

    @strawberry_django.field(
        only=["emailed_to"],
        description="The addresses it was e-mailed to; staff only (null for sellers).",
    )
    def emailed_to(self, root: strawberry.Parent[Notice], info: Info) -> list[str] | None:
        return list(root.emailed_to) if sees_all_notices(viewer(info)) else None


@strawberry_django.filter_type(SellerAccount, name="SellerAccountFilter")
class SellerAccountFilter:
    status: ChoiceFilter[SellerAccountStatus] | None = UNSET
    platform_store_id: str | None = UNSET

    @strawberry_django.filter_field(description="Part of the name, ignoring case.")
    def name_contains(self, value: str, prefix: str) -> Q:
        return Q(**{f"{prefix}name__icontains": value})


@strawberry.input(name="SellerAccountSort", one_of=True)
class SellerAccountSort(StableOrder):
    name: strawberry_django.Ordering | None = UNSET
    opened_at: strawberry_django.Ordering | None = UNSET
    platform_store_id: strawberry_django.Ordering | None = UNSET


@strawberry_django.type(SellerAccount, name="SellerAccount", only=["status"])
class SellerAccountType(Scoped, relay.Node):
    scope = staticmethod(seller_accounts_visible_to)

    platform_store_id: str
    name: str
    opened_at: datetime
    status: SellerAccountStatus
    frozen_at: datetime | None
    closed_at: datetime | None
    history: list[HistoryEntry] = history_field(AccountTransition)
    changes: list[FieldChangeEntry] = changes_field()
    available_transitions: list[AvailableTransition] = transitions_field(
        only=["status", "freeze_reason"],
        annotate=PROMOTION_BALANCE,
        prefetch_related=[ACTIVE_HOLDS],
    )
    balances: Balances | None = balances_field()
    statement: StatementType | None = statement_field()
    commission_rate: Decimal = commission_rate_field()
    commission_taken: Money | None = commission_taken_field()
    reserve_schedule: Connection[ReserveHoldType] = reserve_schedule_field()
    early_payout: EarlyPayout | None = early_payout_field()
    promotion: PromotionWalletType | None = promotion_field()
    promotion_movements: Connection[PromotionMovementType] = promotion_movements_field()
    arrears_history: Connection[ArrearsEpisodeType] = arrears_history_field()
    health: StoreHealthType | None = health_field()
    notices: Connection[NoticeType] = strawberry_django.connection(
        ordering=None,
        max_results=max_page_size(),
        description="Notices to the store, newest first; empty when you may not see them "
        "(staff without accounts.view_notice).",
    )

    @strawberry_django.field(
        only=["status", "freeze_reason", "frozen_at"],
        annotate=PROMOTION_BALANCE,
        prefetch_related=[ACTIVE_HOLDS],
        description='"Why is this store frozen": each hold with its reason, since when, by whom, '
        "what is owed and what lifts it; null unless the store is frozen.",
    )
    def freeze_info(self, root: strawberry.Parent[SellerAccount], info: Info) -> FreezeInfo | None:
        why = freeze_info(root)
        if why is None:
            return None
        return FreezeInfo(
            reason=choice(FreezeReason, why.reason),
            reason_label=why.reason_label,
            since=why.since,
            owed=Money.of(why.owed, Currency.CNY),
            lifted_by=why.lifted_by,
            holds=_holds_view(info, why.holds),
        )

    @strawberry_django.field(
        only=["status"],
        annotate=STORE_CLOCK_ANNOTATIONS,
        description="What the arrears policy does to the store next if nobody acts first: "
        '"freeze the store (arrears unpaid for more than 3 days)", "add the arrears hold (...)" '
        '(a store frozen for another reason), "close the store (...)"; '
        "null when nothing is pending (no arrears, or closed; an unfreeze is never automatic).",
    )
    def auto_action(self, root: strawberry.Parent[SellerAccount]) -> str | None:
        action = store_auto_action_of(root)
        return action.description if action else None

    @strawberry_django.field(
        only=["status"],
        annotate=STORE_CLOCK_ANNOTATIONS,
        description="When `autoAction` happens: the first whole second after the arrears "
        "outlived ARREARS_GRACE_DAYS (freeze) or ARREARS_CLOSE_DAYS (close); for arrears above "
        "ARREARS_CLOSE_AMOUNT, when they began (due at the next run).",
    )
    def auto_action_at(self, root: strawberry.Parent[SellerAccount]) -> datetime | None:
        action = store_auto_action_of(root)
        return action.at if action else None

    @strawberry_django.field(only=["settlement_currency"])
    def settlement_currency(self, root: strawberry.Parent[SellerAccount]) -> SettlementCurrency:
        return SettlementCurrency(root.settlement_currency)

    @strawberry_django.field(only=["freeze_reason"])
    def freeze_reason(self, root: strawberry.Parent[SellerAccount]) -> FreezeReason | None:
        return choice(FreezeReason, root.freeze_reason)

    @strawberry_django.field(only=["close_reason"])
    def close_reason(self, root: strawberry.Parent[SellerAccount]) -> CloseReason | None:
        return choice(CloseReason, root.close_reason)


@strawberry_django.type(ApiToken, name="ApiToken")
class ApiTokenType(Scoped, relay.Node):
    scope = staticmethod(api_tokens_visible_to)

    name: str
    prefix: str = strawberry_django.field(description="The token's first characters.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    is_active: bool = strawberry_django.field(only=["revoked_at"])


@strawberry.type(name="User", description="The signed-in user.")
class UserType:
    username: str
    is_staff: bool
    is_superuser: bool
    roles: list[str] = strawberry.field(description="Staff roles (group names).")
    store: SellerAccountType | None = strawberry.field(description="A seller user's store.")


def user_view(user: Any) -> UserType:
    """``me``: the signed-in user as the API shows it."""
    return UserType(
        username=user.get_username(),
        is_staff=user.is_staff,
        is_superuser=user.is_superuser,
        roles=sorted(user.groups.values_list("name", flat=True)),
        store=user.store,
    )


@strawberry.type(description="Done; `message` says what happened.")
class Done:
    message: str


@strawberry.type(description="A new API token: `token` is shown this once and never again.")
class ApiTokenCreated:
    token: str
    api_token: ApiTokenType


@strawberry.type(name="Query")
class Query:
    seller_accounts: Connection[SellerAccountType] = strawberry_django.connection(
        filters=SellerAccountFilter,
        order=SellerAccountSort,
        ordering=None,
        max_results=max_page_size(),
    )
    api_tokens: Connection[ApiTokenType] = strawberry_django.connection(
        ordering=None, max_results=max_page_size(), description="Your API tokens."
    )

    @strawberry.field(description="The signed-in user; null when signed out.")
    def me(self, info: Info) -> UserType | None:
        user = viewer(info)
        return user_view(user) if user.is_authenticated else None


# --- mutations: resolve the object through the viewer's queryset, then call the service ---


def account_pk(info: Info, global_id: str, *, field: str = "id") -> int:
    """For a hand-written resolver: the store ``global_id`` names, if the viewer sees it."""
    return SellerAccountType.pk_of(info, global_id, field=field)


@strawberry.input
class SellerAccountCreateInput:
    store_id: str = strawberry.field(description="The platform's store id.")
    name: str
    settlement_currency: SettlementCurrency = SettlementCurrency("USD")  # type: ignore[assignment]
    opened_at: datetime | None = None
    commission_rate: Decimal | None = strawberry.field(
        default=None,
        description="The store's commission rate (0 to below 1, 4 decimals); by default the "
        "platform's COMMISSION_RATE.",
    )


@strawberry.input(
    description="A store's editable fields; a field left out stays as it is. Each change is "
    "recorded with its old and new value and who (`SellerAccount.changes`)."
)
class StoreUpdateInput:
    id: strawberry.ID
    name: str | None = None
    settlement_currency: SettlementCurrency | None = None  # type: ignore[valid-type]
    opened_at: datetime | None = None
    commission_rate: Decimal | None = strawberry.field(
        default=strawberry.UNSET,
        description="0 to below 1, 4 decimals; taken by releases from now on (orders released "
        "before keep what was taken). `null`: the platform's COMMISSION_RATE again; left out: "
        "unchanged.",
    )
    note: str = strawberry.field(default="", description="Why; kept with each change.")


@strawberry.input
class SellerAccountFreezeInput:
    id: strawberry.ID
    reason: FreezeReason
    note: str = ""


@strawberry.input
class SellerAccountUnfreezeInput:
    id: strawberry.ID
    reason: FreezeReason | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="The hold to lift; by default the store's only hold, or its only hold "
        "besides ARREARS (a top-up that pays the arrears lifts that one). Lifting one hold "
        "leaves the others.",
    )
    note: str = ""


@strawberry.input
class SellerAccountCloseInput:
    id: strawberry.ID
    reason: CloseReason
    note: str = ""


@strawberry.input
class ApiTokenCreateInput:
    name: str


@strawberry.input
class ApiTokenRevokeInput:
    id: strawberry.ID


@strawberry.input
class LoginInput:
    username: str
    password: str


@strawberry.input
class PasswordChangeInput:
    old_password: str
    new_password: str


@strawberry.input
class PasswordResetRequestInput:
    email: str


@strawberry.input
class PasswordResetConfirmInput:
    uid: str = strawberry.field(description="The `uid` part of the e-mailed link.")
    token: str = strawberry.field(description="The `token` part of the e-mailed link.")
    new_password: str


STORE = {"id": GlobalId(SellerAccountType, "account_id")}


def _created_token(created: tuple[ApiToken, str]) -> ApiTokenCreated:
    token, plaintext = created
    return ApiTokenCreated(token=plaintext, api_token=token)  # type: ignore[arg-type]


@strawberry.type(name="Mutation")
class Mutation:
    seller_account_create = service_mutation(
        services.seller_account_create,
        SellerAccountCreateInput,
        SellerAccountType,
        rename={"store_id": "platform_store_id"},
        convert={"opened_at": partial(aware, field="openedAt")},
    )
    seller_account_freeze = service_mutation(
        services.seller_account_freeze, SellerAccountFreezeInput, SellerAccountType, ids=STORE
    )
    seller_account_unfreeze = service_mutation(
        services.seller_account_unfreeze, SellerAccountUnfreezeInput, SellerAccountType, ids=STORE
    )
    seller_account_close = service_mutation(
        services.seller_account_close, SellerAccountCloseInput, SellerAccountType, ids=STORE
    )
    api_token_create = service_mutation(
        services.api_token_create, ApiTokenCreateInput, ApiTokenCreated, result=_created_token
    )
    api_token_revoke = service_mutation(
        services.api_token_revoke,
        ApiTokenRevokeInput,
        ApiTokenType,
        ids={"id": GlobalId(ApiTokenType, "token_id")},
    )

    @mutation(
        description="Changes a store's name, settlement currency, opening date or commission "
        "rate through the audited update service: staff with accounts.change_selleraccount "
        "(risk), as in the admin; a store's own sellers may not (these are the platform's "
        "records of the store)."
    )
    def store_update(self, info: Info, input: StoreUpdateInput) -> SellerAccountType:
        actor = require_user(info)
        rate = input.commission_rate
        if rate is None:
            rate = services.DEFAULT_RATE
        elif rate is strawberry.UNSET:
            rate = None
        return services.seller_account_update(
            account_id=account_pk(info, input.id),
            actor=actor,
            note=input.note,
            name=input.name,
            settlement_currency=input.settlement_currency,
            opened_at=aware(input.opened_at, field="openedAt"),
            commission_rate=rate,
        )

    # --- signing in and out on the session (not with an API token), passwords ---

    @mutation(
        description="Signs in on the Django session (a POST with the CSRF token: GET "
        "/auth/csrf/ first). The session and the CSRF token are renewed: read the new "
        "`csrftoken` cookie. Too many failures lock the username from this address."
    )
    def login(self, info: Info, input: LoginInput) -> UserType:
        request = http_request(info)
        user = services.session_login(
            request=request, username=input.username, password=input.password
        )
        return user_view(user)

    @mutation(description="Ends the session.")
    def logout(self, info: Info) -> Done:
        services.session_logout(request=http_request(info))
        return Done(message=_("Signed out."))

    @mutation(
        description="The signed-in user's new password (checked by the password validators); "
        "this session stays signed in, the user's other sessions end."
    )
    def password_change(self, info: Info, input: PasswordChangeInput) -> UserType:
        user = services.password_change(
            request=http_request(info),
            old_password=input.old_password,
            new_password=input.new_password,
        )
        return user_view(user)

    @mutation(
        description="E-mails a password reset link to the account with this address, if there "
        "is one: the answer is the same either way."
    )
    def password_reset_request(self, info: Info, input: PasswordResetRequestInput) -> Done:
        services.password_reset_request(request=http_request(info), email=input.email)
        return Done(message=_("If an account has this e-mail address, a reset link is on its way."))

    @mutation(description="Sets a new password with the `uid` and `token` of the e-mailed link.")
    def password_reset_confirm(self, info: Info, input: PasswordResetConfirmInput) -> Done:
        services.password_reset_confirm(
            uid=input.uid, token=input.token, new_password=input.new_password
        )
        return Done(message=_("Your password is set: sign in with it."))
