"""Seller account services: the state machine both ways, roles, users and API tokens."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import ApiToken, SellerAccount
from accounts.roles import ROLES
from accounts.services import (
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    seller_account_close,
    seller_account_create,
    seller_account_freeze,
    seller_account_unfreeze,
)
from backoffice.errors import error_code
from tests import factories as f


def _freeze(a, actor):
    return seller_account_freeze(account_id=a.pk, actor=actor, reason="risk", note="chargebacks")


def _unfreeze(a, actor):
    return seller_account_unfreeze(account_id=a.pk, actor=actor, note="cleared")


def _close(a, actor):
    return seller_account_close(account_id=a.pk, actor=actor, reason="risk")


EDGES = {
    _freeze: {"active": "frozen"},
    _unfreeze: {"frozen": "active"},
    _close: {"active": "closed", "frozen": "closed"},
}
CASES = [(fn, s) for fn in EDGES for s in ("active", "frozen", "closed")]


@pytest.mark.parametrize(("service", "state"), CASES, ids=[f"{fn.__name__}-{s}" for fn, s in CASES])
def test_every_account_edge_moves_or_is_refused(service, state):
    risk = f.staff("risk")
    account = f.store(status=state)
    history = account.history.count()
    target = EDGES[service].get(state)
    if target is None:
        with pytest.raises(ValidationError) as exc:
            service(account, risk)
        assert error_code(exc.value) == "invalid_transition"
        account.refresh_from_db()
        assert (account.status, account.history.count()) == (state, history)
    else:
        service(account, risk)
        account.refresh_from_db()
        assert account.status == target
        entry = account.history.last()
        assert (entry.source, entry.target, entry.actor) == (state, target, risk)


def test_freeze_records_reason_and_time_and_unfreeze_clears_them():
    account = f.store()
    _freeze(account, None)
    account.refresh_from_db()
    assert account.freeze_reason == "risk" and account.frozen_at is not None
    assert account.history.last().note == "chargebacks"
    _unfreeze(account, None)
    account.refresh_from_db()
    assert (account.freeze_reason, account.frozen_at) == ("", None)


@pytest.mark.parametrize("role", ["support", "finance", None])
def test_only_risk_staff_freeze_or_close(role):
    account = f.store()
    for service in (_freeze, _close):
        with pytest.raises(PermissionDenied):
            service(account, f.staff(role))
    account.refresh_from_db()
    assert account.status == "active"


def test_a_seller_cannot_freeze_or_close_its_own_store():
    account = f.store()
    with pytest.raises(PermissionDenied):
        _close(account, f.seller(account))
    account.refresh_from_db()
    assert account.status == "active"


def test_unknown_freeze_reason_is_invalid():
    account = f.store()
    with pytest.raises(ValidationError) as exc:
        seller_account_freeze(account_id=account.pk, actor=None, reason="whim")
    assert "reason" in exc.value.message_dict
    account.refresh_from_db()
    assert account.status == "active"


def test_account_create_validates_and_refuses_duplicates():
    risk = f.staff("risk")
    a = seller_account_create(
        actor=risk,
        platform_store_id="2339563",
        name="Shenzhen Gadget Co.",
        settlement_currency="CNY",
    )
    assert (a.status, a.settlement_currency) == ("active", "CNY")
    for kwargs, field in [
        ({"platform_store_id": "2339563"}, "storeId"),
        ({"name": " "}, "name"),
        ({"settlement_currency": "EUR"}, "settlementCurrency"),
    ]:
        data = {"platform_store_id": "1", "name": "X"} | kwargs
        with pytest.raises(ValidationError) as exc:
            seller_account_create(actor=risk, **data)
        assert field in exc.value.message_dict
    assert SellerAccount.objects.count() == 1


def test_support_cannot_create_stores():
    with pytest.raises(PermissionDenied):
        seller_account_create(actor=f.staff("support"), platform_store_id="1", name="X")


def test_roles_exist_with_their_permissions():
    for role, perms in ROLES.items():
        group = Group.objects.get(name=role)
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert granted == set(perms)


def test_ratings_are_recorded_by_the_integration_role_only_and_the_importer_sets_no_threshold():
    def holders(perm: str) -> set[str]:
        return {role for role, perms in ROLES.items() if perm in perms}

    assert holders("orders.record_rating") == {"integration"}
    assert holders("payouts.set_promotion_threshold") == {"finance"}


# --- API tokens ---


def test_token_is_stored_hashed_and_authenticates_until_revoked():
    user = f.staff("support")
    token, plaintext = api_token_create(actor=user, name="laptop")
    assert plaintext.startswith(f"bo_{token.prefix}_")
    assert plaintext not in token.key_hash and len(token.key_hash) == 64
    assert api_token_authenticate(plaintext) == user
    token.refresh_from_db()
    assert token.last_used_at is not None
    api_token_revoke(actor=user, token_id=token.pk)
    assert api_token_authenticate(plaintext) is None
    assert api_token_authenticate("bo_nope_nope") is None


def test_tokens_of_inactive_users_do_not_authenticate():
    user = f.staff()
    _, plaintext = api_token_create(actor=user, name="x")
    user.is_active = False
    user.save()
    assert api_token_authenticate(plaintext) is None


def test_a_user_cannot_revoke_someone_elses_token():
    token, _ = api_token_create(actor=f.staff(), name="mine")
    with pytest.raises(ValidationError) as exc:
        api_token_revoke(actor=f.staff(), token_id=token.pk)
    assert error_code(exc.value) == "not_found"
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_anonymous_cannot_create_tokens():
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        api_token_create(actor=AnonymousUser(), name="x")
