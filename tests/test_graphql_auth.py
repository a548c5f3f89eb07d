"""Who may call the GraphQL endpoint: sessions with CSRF, bearer tokens, anonymous visitors."""

from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_revoke
from orders.models import Order
from tests import factories as f
from tests.gql import codes, csrf_pair, gid, gql, mutate, post

ME = "{ me { username } }"


def test_anonymous_sees_nothing(client):
    f.order()

    body = gql(client, "{ me { username } orders { totalCount } sellerAccounts { totalCount } }")

    assert body == {
        "data": {"me": None, "orders": {"totalCount": 0}, "sellerAccounts": {"totalCount": 0}}
    }


def test_anonymous_mutations_are_permission_denied_and_change_nothing(client):
    order = f.order(status="paid")

    ship = mutate(client, "orderShip", {"id": gid(order), "carrier": "X", "trackingNumber": "1"})
    token = mutate(client, "apiTokenCreate", {"name": "mine"})

    assert codes(ship) == [("permission_denied", None)]
    assert codes(token) == [("permission_denied", None)]
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert not ApiToken.objects.exists()


def test_a_session_post_without_csrf_token_is_refused(client):
    client.force_login(f.superuser())

    response = post(client, ME)

    assert response.status_code == 403


def test_a_session_post_with_csrf_token_works(client):
    user = f.superuser()
    client.force_login(user)
    cookie, header = csrf_pair()
    client.cookies["csrftoken"] = cookie

    response = post(client, ME, HTTP_X_CSRFTOKEN=header)

    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"username": user.username}}}


def test_a_bearer_token_works_without_csrf(client):
    user = f.staff("support")
    _token, plaintext = api_token_create(actor=user, name="script")

    response = post(client, ME, HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"username": user.username}}}


def test_a_revoked_or_unknown_token_is_401(client):
    user = f.staff("support")
    token, plaintext = api_token_create(actor=user, name="script")
    api_token_revoke(actor=user, token_id=token.pk)

    revoked = post(client, ME, HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    unknown = post(client, ME, HTTP_AUTHORIZATION="Bearer bo_nope")

    for response in (revoked, unknown):
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "permission_denied"


def test_api_token_create_then_authenticate_then_revoke(client):
    user = f.staff("support")

    created = mutate(client, "apiTokenCreate", {"name": "laptop"}, user=user)
    plaintext = created["token"]
    me = gql(client, ME, token=plaintext)
    revoked = mutate(client, "apiTokenRevoke", {"id": created["apiToken"]["id"]}, token=plaintext)
    after = post(client, ME, HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    assert created["apiToken"] == {
        "id": created["apiToken"]["id"],
        "name": "laptop",
        "isActive": True,
    }
    assert me == {"data": {"me": {"username": user.username}}}
    assert revoked["isActive"] is False
    assert after.status_code == 401


def test_api_token_revoke_of_another_users_token_is_not_found(client):
    owner, other = f.staff("support"), f.staff("support")
    token, _plaintext = api_token_create(actor=owner, name="owner's")

    payload = mutate(client, "apiTokenRevoke", {"id": gid(token)}, user=other)

    assert codes(payload) == [("not_found", "id")]
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_api_tokens_lists_only_the_viewers_tokens(client):
    owner, other = f.staff("support"), f.staff("support")
    api_token_create(actor=owner, name="mine")
    api_token_create(actor=other, name="theirs")

    body = gql(client, "{ apiTokens { totalCount edges { node { name } } } }", user=owner)

    assert body["data"]["apiTokens"] == {"totalCount": 1, "edges": [{"node": {"name": "mine"}}]}
