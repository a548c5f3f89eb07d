"""The accounts admin: seller accounts move through services; API tokens never show their hash."""

from datetime import timedelta

from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import ApiToken, SellerAccount
from accounts.services import api_token_authenticate, api_token_create
from backoffice.models import FieldChange
from tests import factories as f


def post(client: Client, url: str, data: dict | None = None, **kwargs) -> HttpResponse:
    """POST with the CSRF token, as the browser does (the test client enforces CSRF)."""
    if "csrftoken" not in client.cookies:
        client.get(reverse("admin:index"))
    token = client.cookies["csrftoken"].value
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token}, **kwargs)


def texts(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def transition_url(account: SellerAccount, name: str) -> str:
    return reverse("admin:accounts_selleraccount_transition", args=[account.pk, name])


def change_url(account: SellerAccount) -> str:
    return reverse("admin:accounts_selleraccount_change", args=[account.pk])


def details_url(account: SellerAccount) -> str:
    """The store's details page: the panels its change page opens in place."""
    return reverse("admin:accounts_selleraccount_details", args=[account.pk])


# The read-only inlines of the store page (history, field changes) post their empty management
# forms, as the browser does.
INLINE_MANAGEMENT_FORMS = {
    f"{prefix}-{name}": "0"
    for prefix in ("history", "backoffice-fieldchange-content_type-object_id")
    for name in ("TOTAL_FORMS", "INITIAL_FORMS")
}


def snapshot(account: SellerAccount) -> tuple[str, int]:
    account.refresh_from_db()
    return account.status, account.history.count()


def buttons(response: HttpResponse) -> dict[str, bool]:
    return {b.name: b.allowed for b in response.context["object_buttons"]}


def test_risk_freezes_unfreezes_and_closes_with_the_buttons(client):
    officer = f.staff("risk")
    client.force_login(officer)
    account = f.store()

    page = client.get(change_url(account))
    form = client.get(transition_url(account, "freeze"))
    frozen = post(
        client,
        transition_url(account, "freeze"),
        {"reason": "risk", "note": "chargebacks", "_apply": "1"},
    )
    page_frozen = client.get(change_url(account))
    unfrozen = post(client, transition_url(account, "unfreeze"), {"note": "cleared", "_apply": "1"})
    closed = post(client, transition_url(account, "close"), {"reason": "risk", "_apply": "1"})

    assert buttons(page) == {"freeze": True, "unfreeze": False, "close": True}
    assert "Not possible while the seller account is Active." in page.text
    assert form.status_code == 200 and "Risk review" in form.text
    assert texts(frozen) == [f"Freeze: done for Seller account {account}. It is now frozen."]
    # frozen: another reason may be added (a second hold), the hold lifted, the store closed
    assert buttons(page_frozen) == {"freeze": True, "unfreeze": True, "close": True}
    assert "Active → Frozen" in page_frozen.text and "chargebacks" in page_frozen.text
    assert texts(unfrozen)[-1].endswith("It is now active.")
    assert texts(closed)[-1].endswith("It is now closed.")
    account.refresh_from_db()
    assert (account.status, account.close_reason) == ("closed", "risk")
    rows = list(account.history.values_list("transition", "actor", "note"))
    assert rows == [
        ("freeze", officer.pk, "chargebacks"),
        ("unfreeze", officer.pk, "cleared"),
        ("close", officer.pk, ""),
    ]


def test_support_cannot_freeze(client):
    client.force_login(f.staff("support"))
    account = f.store()

    page = client.get(change_url(account))
    response = post(client, transition_url(account, "freeze"), {"reason": "risk", "_apply": "1"})

    assert "freeze" not in buttons(page)  # no permission: not offered
    assert texts(response) == ["You do not have permission to do this."]
    assert snapshot(account) == ("active", 0)


def test_an_invalid_freeze_reason_keeps_the_form(client):
    client.force_login(f.staff("risk"))
    account = f.store()

    response = post(client, transition_url(account, "freeze"), {"reason": "bored", "_apply": "1"})

    assert response.status_code == 200 and "Select a valid choice" in response.text
    assert snapshot(account) == ("active", 0)


def test_unknown_transition_is_404(client):
    client.force_login(f.staff("risk"))
    account = f.store()

    assert post(client, transition_url(account, "delete")).status_code == 404
    assert client.get(transition_url(account, "nope")).status_code == 404


def changelist_action(client: Client, action: str, accounts: list[SellerAccount]) -> HttpResponse:
    return post(
        client,
        reverse("admin:accounts_selleraccount_changelist"),
        {"action": action, "_selected_action": [a.pk for a in accounts], "index": "0"},
    )


def test_bulk_freeze_moves_active_stores_and_reports_the_others(client):
    client.force_login(f.staff("risk"))
    active, frozen, closed = f.store(), f.store(status="frozen"), f.store(status="closed")
    bystander = f.store()

    response = changelist_action(client, "bulk_freeze", [active, frozen, closed])

    messages = texts(response)
    assert messages[0] == "Freeze: 1 done, 2 refused."
    assert set(messages[1:]) == {
        f"Seller account {closed}: Not possible while the seller account is Closed.",
        f"Seller account {frozen}: The store is already frozen for this reason (Risk review).",
    }
    assert snapshot(active) == ("frozen", 1)
    assert snapshot(frozen) == ("frozen", 1)
    assert snapshot(closed) == ("closed", 1)
    assert snapshot(bystander) == ("active", 0)


def test_bulk_unfreeze_and_close(client):
    client.force_login(f.staff("risk"))
    frozen, active = f.store(status="frozen"), f.store()

    unfreeze = changelist_action(client, "bulk_unfreeze", [frozen])
    close = changelist_action(client, "bulk_close", [active])

    assert texts(unfreeze) == ["Unfreeze: 1 done, 0 refused."]
    assert texts(close)[-1] == "Close: 1 done, 0 refused."
    assert snapshot(frozen)[0] == "active" and snapshot(active)[0] == "closed"


def test_support_is_not_offered_bulk_freeze(client):
    client.force_login(f.staff("support"))
    account = f.store()

    page = client.get(reverse("admin:accounts_selleraccount_changelist"))
    changelist_action(client, "bulk_freeze", [account])

    assert "bulk_freeze" not in page.text
    assert snapshot(account) == ("active", 0)


def test_changelist_with_search_filters_and_date_hierarchy_renders(client):
    client.force_login(f.staff("risk"))
    account = f.store(name="Lotus Lamps", status="frozen")
    url = reverse("admin:accounts_selleraccount_changelist")

    for query in (
        "",
        "?q=lotus",
        f"?q={account.platform_store_id}",
        "?status__exact=frozen&settlement_currency__exact=USD&freeze_reason__exact=risk",
        f"?opened_at__year={account.opened_at.year}&opened_at__month={account.opened_at.month}",
    ):
        response = client.get(url + query)
        assert response.status_code == 200, query
        assert "Lotus Lamps" in response.text, query


def changelist_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:accounts_selleraccount_changelist"))
    assert response.status_code == 200
    return len(queries)


def test_changelist_query_count_does_not_grow_with_rows(client):
    client.force_login(f.staff("risk"))
    for _ in range(10):
        f.store()
    ten = changelist_queries(client)

    for _ in range(40):
        f.store()
    fifty = changelist_queries(client)

    assert ten == fifty


def test_add_creates_the_account_through_the_service(client):
    client.force_login(f.staff("risk"))
    existing = f.store()
    url = reverse("admin:accounts_selleraccount_add")

    duplicate = post(
        client,
        url,
        {
            "platform_store_id": existing.platform_store_id,
            "name": "X",
            "settlement_currency": "USD",
        },
    )
    created = post(
        client, url, {"platform_store_id": "777", "name": "New", "settlement_currency": "CNY"}
    )

    assert duplicate.status_code == 200 and "exists already" in duplicate.text
    account = SellerAccount.objects.get(platform_store_id="777")
    assert created.status_code == 302 and created.url == change_url(account)
    assert (account.status, account.settlement_currency) == ("active", "CNY")


def test_editing_an_account_never_touches_its_state(client):
    client.force_login(f.staff("risk"))
    account = f.store()
    page = client.get(change_url(account))
    SellerAccount.objects.filter(pk=account.pk).update(status="closed", closed_at=account.opened_at)

    response = post(
        client,
        change_url(account),
        {
            "name": "Renamed",
            "settlement_currency": "USD",
            "opened_at_0": account.opened_at.strftime("%Y-%m-%d"),
            "opened_at_1": account.opened_at.strftime("%H:%M:%S"),
            **INLINE_MANAGEMENT_FORMS,
        },
    )

    assert "status" not in page.context["adminform"].form.fields
    assert response.status_code == 302, response.context["adminform"].form.errors
    account.refresh_from_db()
    assert (account.name, account.status) == ("Renamed", "closed")


def test_accounts_cannot_be_deleted(client):
    client.force_login(f.superuser())
    account = f.store()

    response = client.get(reverse("admin:accounts_selleraccount_delete", args=[account.pk]))

    assert response.status_code == 403


def test_user_admin_lists_staff_with_roles_and_sellers_with_their_store(client):
    client.force_login(f.superuser())
    account = f.store(name="Lotus Lamps")
    seller = f.seller(account)
    f.staff("risk", username="rita")
    url = reverse("admin:accounts_user_changelist")

    listing = client.get(url)
    sellers = client.get(url + "?kind=seller")
    page = client.get(reverse("admin:accounts_user_change", args=[seller.pk]))

    assert listing.status_code == 200 and "rita" in listing.text and "risk" in listing.text
    assert seller.username in sellers.text and "rita" not in sellers.text
    assert page.status_code == 200 and "Lotus Lamps" in page.text


def test_user_admin_query_count_does_not_grow_with_rows(client):
    client.force_login(f.superuser())

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200
        return len(captured)

    for _ in range(3):
        f.staff("support")
        f.seller(f.store())
    few = queries()
    for _ in range(10):
        f.staff("risk")
        f.seller(f.store())

    assert queries() == few


# --- API tokens ---


def test_api_token_admin_never_shows_the_hash(client):
    root = f.superuser()
    client.force_login(root)
    token, plaintext = api_token_create(actor=root, name="ci")

    listing = client.get(reverse("admin:accounts_apitoken_changelist"))
    page = client.get(reverse("admin:accounts_apitoken_change", args=[token.pk]))

    for response in (listing, page):
        assert response.status_code == 200
        assert token.prefix in response.text
        assert token.key_hash not in response.text
        assert "key_hash" not in response.text and plaintext not in response.text
    assert "key_hash" not in page.context["adminform"].form.fields


def test_revoke_action_revokes_through_the_service(client):
    root = f.superuser()
    client.force_login(root)
    first, first_text = api_token_create(actor=root, name="a")
    second, _ = api_token_create(actor=f.staff(), name="b")

    response = post(
        client,
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "bulk_revoke", "_selected_action": [first.pk, second.pk], "index": "0"},
    )

    assert texts(response) == ["Revoke: 2 done, 0 refused."]
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 2
    assert api_token_authenticate(first_text) is None


def test_revoke_button_on_the_token_page(client):
    root = f.superuser()
    client.force_login(root)
    token, _ = api_token_create(actor=root, name="a")
    url = reverse("admin:accounts_apitoken_transition", args=[token.pk, "revoke"])

    page = client.get(reverse("admin:accounts_apitoken_change", args=[token.pk]))
    response = post(client, url)
    again = client.get(reverse("admin:accounts_apitoken_change", args=[token.pk]))

    assert buttons(page) == {"revoke": True}
    assert texts(response) == [f"Revoke: done for API token {token}."]
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert buttons(again) == {}


def test_staff_see_and_revoke_only_their_own_tokens(client):
    from django.contrib.auth.models import Permission

    agent = f.staff()
    agent.user_permissions.add(Permission.objects.get(codename="view_apitoken"))
    mine, _ = api_token_create(actor=agent, name="mine")
    theirs, _ = api_token_create(actor=f.superuser(), name="theirs")
    client.force_login(agent)

    listing = client.get(reverse("admin:accounts_apitoken_changelist"))
    response = post(
        client,
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "bulk_revoke", "_selected_action": [mine.pk, theirs.pk], "index": "0"},
    )

    assert mine.prefix in listing.text and theirs.prefix not in listing.text
    assert texts(response) == ["Revoke: 1 done, 0 refused."]  # the other is not even selectable
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_add_shows_the_token_once_and_stores_only_its_hash(client):
    root = f.superuser()
    client.force_login(root)

    response = post(client, reverse("admin:accounts_apitoken_add"), {"name": "deploy"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(name="deploy", user=root)
    plaintext = response.context["plaintext"]
    assert plaintext in response.text and plaintext.startswith(f"bo_{token.prefix}_")
    assert api_token_authenticate(plaintext) == root
    assert plaintext not in client.get(reverse("admin:accounts_apitoken_changelist")).text
    assert not any(plaintext in m for m in texts(response))


def test_every_role_gets_the_admin_index_and_a_read_only_account_page(client):
    account = f.store(status="frozen")
    for role in ("support", "risk", "finance"):
        client.force_login(f.staff(role))

        index = client.get(reverse("admin:index"))
        page = client.get(change_url(account))

        assert index.status_code == 200, role
        assert page.status_code == 200 and "Active → Frozen" in page.text, role
        assert "system" in page.text, role


def test_store_autocomplete_answers_staff_who_may_view_stores(client):
    client.force_login(f.staff("support"))
    account = f.store(name="Lotus Lamps")
    f.store(name="Other")
    url = reverse("admin:autocomplete")

    response = client.get(
        url, {"app_label": "orders", "model_name": "order", "field_name": "store", "term": "lotus"}
    )

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == [
        f"Lotus Lamps ({account.platform_store_id})"
    ]


# --- the store page: why frozen, health, early payout, promotion wallet, notices ---


def arrears_frozen_store(owed: str = "1234.56") -> SellerAccount:
    """A store frozen by the deadlines runner for CNY ``owed`` of promotion arrears."""
    from backoffice.deadlines import run_all
    from payouts.promotion import promotion_charge

    account = f.store(name="Lotus Lamps")
    promotion_charge(store_id=account.pk, actor=None, amount=owed, at=f.T0)
    run_all(f.T0 + timedelta(days=4))
    account.refresh_from_db()
    return account


def test_store_page_says_why_it_is_frozen_with_the_amount_owed(client):
    account = arrears_frozen_store("1234.56")
    client.force_login(f.staff("support"))  # support answers the seller who asks

    page = client.get(change_url(account))

    assert page.status_code == 200
    text = page.text
    assert "Why is this store frozen" in text
    assert 'class="freeze-reason">Unpaid promotion arrears<' in text
    assert 'class="freeze-since">2026-03-05 12:00 UTC<' in text
    assert 'class="freeze-owed">CNY 1,234.56<' in text
    assert "A top-up of at least CNY 1,234.56 (it lifts this hold at once)." in text
    assert 'class="freeze-by">system<' in text  # the arrears job placed the hold


def test_a_store_frozen_by_risk_says_what_lifts_it_and_an_active_one_has_no_box(client):
    client.force_login(f.staff("risk"))
    frozen, active = f.store(status="frozen"), f.store()

    frozen_page = client.get(change_url(frozen))
    active_page = client.get(change_url(active))

    assert 'class="freeze-reason">Risk review<' in frozen_page.text
    assert "freeze-owed" not in frozen_page.text
    assert "The risk team&#x27;s review; contact support." in frozen_page.text
    assert "Why is this store frozen" not in active_page.text


def test_unfreeze_button_is_disabled_with_the_amount_owed_until_the_arrears_are_paid(client):
    from payouts.promotion import promotion_top_up

    account = arrears_frozen_store("1234.56")
    client.force_login(f.staff("risk"))
    reason = (
        "The store is frozen for promotion arrears and CNY 1,234.56 is still owed: a top-up of "
        "at least that amount must come first."
    )

    page = client.get(change_url(account))
    refused = post(client, transition_url(account, "unfreeze"), {"_apply": "1"})
    promotion_top_up(store_id=account.pk, actor=None, amount="1234.56", method="alipay")
    paid = client.get(change_url(account))

    assert buttons(page)["unfreeze"] is False
    unfreeze = next(b for b in page.context["object_buttons"] if b.name == "unfreeze")
    assert unfreeze.reason == reason
    assert f'<span class="reason">{reason}</span>' in page.text
    assert texts(refused) == [reason]
    # the top-up that paid the arrears lifted the arrears hold: the store is active again
    assert snapshot(account)[0] == "active"
    assert buttons(paid) == {"freeze": True, "unfreeze": False, "close": True}
    assert "Why is this store frozen" not in paid.text


def test_store_page_shows_the_promotion_wallet_to_finance(client):
    from payouts.promotion import promotion_charge, promotion_set_threshold, promotion_top_up

    account = f.store()
    promotion_set_threshold(store_id=account.pk, actor=None, threshold="500")
    promotion_top_up(
        store_id=account.pk, actor=None, amount="300", method="alipay", reference="AP-1", at=f.T0
    )
    promotion_charge(
        store_id=account.pk,
        actor=None,
        amount="420.50",
        reference="ADS-1",
        at=f.T0 + timedelta(days=1),
    )
    client.force_login(f.staff("finance"))

    text = client.get(details_url(account)).text

    assert 'class="promotion-balance">CNY -120.50<' in text
    assert 'class="promotion-owed">CNY 120.50<' in text
    assert 'class="promotion-since">2026-03-02 12:00 UTC<' in text
    assert 'class="promotion-threshold">CNY 500.00 (notice sent)<' in text
    assert text.index("ADS-1") < text.index("AP-1")  # the last movements, newest first
    assert "CNY -420.50" in text and "Alipay" in text
    assert f"/admin/payouts/promotionmovement/?store__id__exact={account.pk}" in text
    assert f"/admin/payouts/arrearsepisode/?store__id__exact={account.pk}" in text


def test_store_page_shows_health_and_the_decisions_with_their_figures(client, time_machine):
    from orders.services import order_record_rating
    from payouts.evaluation import evaluate_store

    account = f.store()
    for n in range(10):
        o = f.order(account, status="completed", at=f.T0 + timedelta(hours=n))
        order_record_rating(order_id=o.pk, actor=None, rating=5, at=f.T0 + timedelta(days=4))
    evaluate_store(account, now=f.T0 + timedelta(days=5))
    client.force_login(f.staff("risk"))

    time_machine.move_to(f.T0 + timedelta(days=6), tick=False)

    text = client.get(details_url(account)).text

    assert "Trailing 90 days to 2026-03-07 12:00 UTC." in text
    for figure, value in (
        ("operating time", "406 days"),
        ("paid orders", "10"),
        ("dispute rate", "0.00 % (0 disputes opened)"),
        ("refund rate", "0.00 % (0 orders refunded)"),
        ("positive ratings", "100.00 % (of 10 rated orders)"),
        ("service points", "100"),
        ("arrears episodes", "0"),
    ):
        assert f'<th scope="row">{figure}</th><td>{value}</td>' in text, figure
    assert "On these figures: Eligible (excellent record): reserve 5 %." in text
    assert "Eligible since 2026-03-06, reserve 5.00 %. Decided by evaluation" in text
    assert "last evaluated 2026-03-06 12:00 UTC" in text
    assert "10 paid orders; disputes 0 (0.00 %)" in text  # the decision's figures
    # support sees the health, not the decisions
    client.force_login(f.staff("support"))
    support = client.get(details_url(account)).text
    assert "On these figures:" in support and "Decided by evaluation" not in support


def test_store_page_lists_its_notices_newest_first_read_only(client):
    from accounts.notices import notify

    account = arrears_frozen_store("10.00")  # frozen on day 4, with its notice
    notify(account, "dispute_deadline", title="Later notice", body="b", at=f.T0 + timedelta(5))
    client.force_login(f.staff("support"))

    text = client.get(details_url(account)).text

    assert text.index("Later notice") < text.index("Your store is frozen")
    assert 'class="notice notice-freeze"' in text
    assert "Unpaid promotion arrears. Promotions stop and payouts are blocked" in text
    assert "promotion-balance" not in text  # support does not see the wallet box


def store_page_queries(client: Client, account: SellerAccount) -> tuple[int, int]:
    """The queries of the store's change page and of its details page."""
    counts = []
    for page in (change_url(account), details_url(account)):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page)
        assert response.status_code == 200
        counts.append(len(captured))
    return counts[0], counts[1]


def test_store_page_query_count_does_not_grow_with_notices(client):
    from accounts.models import Notice
    from accounts.notices import notify

    client.force_login(f.superuser())  # every box
    account = arrears_frozen_store("10.00")
    assert Notice.objects.filter(store=account).count() == 1
    store_page_queries(client, account)  # warm Django's per-process caches
    one = store_page_queries(client, account)

    for n in range(4):
        notify(
            account, "dispute_deadline", title=f"n{n}", body="b", at=f.T0 + timedelta(days=5 + n)
        )
    five = store_page_queries(client, account)

    assert Notice.objects.filter(store=account).count() == 5
    assert one == five


USER_INLINE = {
    f"backoffice-fieldchange-content_type-object_id-{name}": "0"
    for name in ("TOTAL_FORMS", "INITIAL_FORMS")
}


def test_the_user_admins_save_goes_through_the_audited_service(client):
    admin_user = f.superuser()
    client.force_login(admin_user)
    staff = f.staff("support", username="sam")
    url = reverse("admin:accounts_user_change", args=[staff.pk])
    form = client.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name not in {"password", "groups", "user_permissions", "store", "last_login"}
        and value is not None
    }
    data["date_joined_0"], data["date_joined_1"] = staff.date_joined.strftime(
        "%Y-%m-%d %H:%M:%S"
    ).split(" ")
    risk = staff.groups.model.objects.get(name="risk")

    saved = post(
        client, url, {**data, "email": "sam@example.com", "groups": [risk.pk], **USER_INLINE}
    )

    assert saved.status_code == 302, saved.context["adminform"].form.errors
    staff.refresh_from_db()
    assert staff.email == "sam@example.com"
    assert [g.name for g in staff.groups.all()] == ["risk"]
    changes = {c.field: (c.old_value, c.new_value, c.actor) for c in FieldChange.objects.all()}
    assert changes == {
        "email": ("", "sam@example.com", admin_user),
        "groups": ("support", "risk", admin_user),
    }
    page = client.get(url)
    assert "sam@example.com" in page.text and "field changes" in page.text.lower()


def test_a_user_admin_save_that_changes_nothing_records_nothing(client):
    client.force_login(f.superuser())
    seller = f.seller(f.store())
    url = reverse("admin:accounts_user_change", args=[seller.pk])
    form = client.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name not in {"password", "groups", "user_permissions", "last_login"}
        and value is not None
    }
    data["date_joined_0"], data["date_joined_1"] = seller.date_joined.strftime(
        "%Y-%m-%d %H:%M:%S"
    ).split(" ")

    saved = post(client, url, {**data, **USER_INLINE})

    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert not FieldChange.objects.exists()
