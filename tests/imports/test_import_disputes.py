"""Disputes exports, promotion statements and exchange rates through the importer: the dispute,
wallet and rate services, row by row."""

from decimal import Decimal

from backoffice.composition.imports.runner import import_export
from disputes.models import Dispute
from orders.models import Order
from payouts.models import PromotionMovement, Refund

from .helpers import order_row, write_csv, write_orders
from .test_import_samples import assert_ledger_balanced, counts

DISPUTE_HEADER = (
    "Dispute ID,Order No.,Dispute Status,Reason,Opened Time,Requested Refund,Final Refund"
)

ORDERS = {f"D{i}": str(8_100_000_000_000_000 + i) for i in range(1, 10)}


def import_ok(path, **options):
    report = import_export(path, **options)
    assert report.errors == [], report.error_lines()
    return report


def shipped_orders(tmp_path, **protected) -> None:
    rows = [
        order_row(
            number, "shipped", **{"After-sales Protection": "Y" if protected.get(name) else "N"}
        )
        for name, number in ORDERS.items()
    ]
    import_ok(write_orders(tmp_path, rows))


def disputes_file(tmp_path, lines: list[str], name: str = "disputes.csv"):
    return write_csv(tmp_path, [DISPUTE_HEADER, *lines], name=name)


def line(name: str, status: str, final: str = "", reason="Not received", requested="$40.00"):
    """A disputes-export line for the order ``name`` (dispute id 900N, opened 2026-03-10)."""
    dispute_id = 9_000 + int(name[1:])
    opened = "2026-03-10 10:00:00"
    return f"{dispute_id},{ORDERS[name]},{status},{reason},{opened},{requested},{final}"


def test_disputes_reach_every_status_through_the_dispute_services(tmp_path):
    shipped_orders(tmp_path, D9=True)
    lines = [
        line("D1", "WAIT_SELLER_CONFIRM_REFUND"),
        line("D2", "SELLER_REFUSE_REFUND"),
        line("D3", "ARBITRATING"),
        line("D4", "ACCEPTISSUE", "$40.00"),  # the seller accepted
        line("D5", "FINISH", "$25.00"),  # the buyer accepted the seller's proposal
        line("D6", "SELLER_RESPONSE_ISSUE_TIMEOUT", "$40.00"),
        line("D7", "CANCELED_ISSUE"),
        line("D8", "ACCEPTISSUE", "$100.00", requested="$100.00"),  # a full refund
        line("D9", "ACCEPTISSUE", "$40.00", reason="Item damaged"),  # protected: a return
    ]

    report = import_ok(disputes_file(tmp_path, lines))

    disputes = {d.order.order_number: d for d in Dispute.objects.select_related("order")}
    status = {name: disputes[number].status for name, number in ORDERS.items()}
    assert status == {
        "D1": "open",
        "D2": "responded",
        "D3": "arbitration",
        "D4": "resolved",
        "D5": "resolved",
        "D6": "resolved",
        "D7": "cancelled",
        "D8": "resolved",
        "D9": "resolved",
    }
    assert report.created == 9
    assert report.moves == {
        ("new", "open"): 1,
        ("new", "responded"): 1,
        ("new", "arbitration"): 1,
        ("new", "resolved"): 5,
        ("new", "cancelled"): 1,
    }
    refunds = {
        name: disputes[number].refund.amount if disputes[number].refund else None
        for name, number in ORDERS.items()
    }
    assert refunds == {
        "D1": None,
        "D2": None,
        "D3": None,
        "D4": Decimal("40.00"),
        "D5": Decimal("25.00"),
        "D6": Decimal("40.00"),
        "D7": None,
        "D8": Decimal("100.00"),
        "D9": Decimal("40.00"),
    }
    d2 = disputes[ORDERS["D2"]]
    assert d2.proposed_refund == Decimal("0.00")
    d6 = disputes[ORDERS["D6"]]
    assert d6.resolved_at == d6.respond_by  # resolved by the platform at the deadline
    assert d6.history.last().actor is None
    d9 = disputes[ORDERS["D9"]]
    assert d9.return_required and list(d9.history.values_list("transition", flat=True)) == [
        "open",
        "accept",
        "confirm_return",
    ]
    orders = dict(Order.objects.values_list("order_number", "status"))
    assert orders[ORDERS["D1"]] == "disputed"
    assert orders[ORDERS["D4"]] == orders[ORDERS["D7"]] == "shipped"  # back where they were
    assert orders[ORDERS["D8"]] == "refunded"
    assert report.money  # the refunds came out of escrow
    assert_ledger_balanced()


def test_a_later_disputes_export_moves_them_on_and_forbidden_moves_are_errors(tmp_path):
    shipped_orders(tmp_path)
    first = [line("D1", "WAIT_SELLER_CONFIRM_REFUND"), line("D2", "FINISH", "$40.00")]
    import_ok(disputes_file(tmp_path, first))
    before = counts()

    again = import_ok(
        disputes_file(
            tmp_path,
            [line("D1", "SELLER_REFUSE_REFUND"), line("D2", "FINISH", "$40.00")],
            name="later.csv",
        )
    )
    backwards = disputes_file(tmp_path, [line("D2", "WAIT_SELLER_CONFIRM_REFUND")], name="old.csv")
    refused = import_export(backwards)

    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert again.moves == {("open", "responded"): 1}
    assert counts()["Dispute"] == before["Dispute"]
    assert refused.error_lines() == ["line 2: Dispute Status: cannot move from resolved to open"]


def test_a_known_disputes_refunds_do_not_change(tmp_path):
    shipped_orders(tmp_path)
    import_ok(disputes_file(tmp_path, [line("D2", "FINISH", "$25.00")]))

    same = import_ok(disputes_file(tmp_path, [line("D2", "FINISH", "$25.00")], name="same.csv"))
    before = counts()
    refused = import_export(
        disputes_file(
            tmp_path,
            [
                line("D1", "SELLER_RESPONSE_ISSUE_TIMEOUT", "$30.00"),  # it refunds the $40
                line("D2", "FINISH", "$20.00"),
                line("D2", "FINISH", "$25.00", requested="$45.00"),
            ],
            name="other.csv",
        )
    )

    assert (same.unchanged, same.updated) == (1, 0)
    assert refused.error_lines() == [
        "line 2: Final Refund: dispute 9001 was resolved with a refund of USD 40.00, not USD 30.00",
        "line 3: Final Refund: dispute 9002 was resolved with a refund of USD 25.00, not USD 20.00",
        "line 4: Requested Refund: dispute 9002 was opened for USD 40.00: "
        "a dispute's requested refund does not change",
    ]
    assert counts() == before
    assert Dispute.objects.get(platform_dispute_id="9002").final_refund == Decimal("25.00")


def test_a_dispute_needs_its_order(tmp_path):
    orphan = "1,8999999999999999,WAIT_SELLER_CONFIRM_REFUND,Other,2026-03-10 10:00,$5,"

    report = import_export(disputes_file(tmp_path, [orphan]))

    assert report.error_lines() == [
        "line 2: Order No.: order 8999999999999999 is not in the back-office: "
        "import its orders first"
    ]


def test_a_statement_for_an_unknown_store_or_in_usd_is_refused(tmp_path):
    shipped_orders(tmp_path)
    path = write_csv(
        tmp_path,
        [
            "Store ID,Date,Type,Amount,Reference",
            "7000001,2026-03-01,charge,US $5.00,R1",
            "7999999,2026-03-01,top-up,100.00,R2",
            "7000001,2026-03-01,adjustment,-12.50,R3",
        ],
        name="statement.csv",
    )

    report = import_export(path)

    assert report.error_lines() == [
        "line 2: Amount: USD 5.00: the promotion wallet is in CNY",
        "line 3: Store ID: store 7999999 is not in the back-office",
    ]
    assert not PromotionMovement.objects.exists()


def test_statement_lines_happen_at_the_start_of_their_day(tmp_path):
    shipped_orders(tmp_path)
    path = write_csv(
        tmp_path,
        ["Store ID,Date,Type,Amount,Reference", "7000001,2026-03-01,adjustment,-12.50,R3"],
    )

    import_ok(path, tz="Asia/Shanghai")

    movement = PromotionMovement.objects.get()
    assert movement.amount == Decimal("-12.50")
    assert movement.at.isoformat() == "2026-02-28T16:00:00+00:00"  # midnight in Beijing


# The platform's real statuses, beyond SPEC's --------------------------------------------------


def stored() -> dict[str, int]:
    """What the rows wrote (each landed import is recorded as an ImportFile besides)."""
    return {model: n for model, n in counts().items() if model != "ImportFile"}


def refunds_by_name() -> dict[str, Decimal | None]:
    by_number = {
        d.order.order_number: d.refund.amount if d.refund else None
        for d in Dispute.objects.select_related("order", "refund")
    }
    return {name: by_number[number] for name, number in ORDERS.items() if number in by_number}


def statuses_by_name() -> dict[str, str]:
    by_number = dict(Dispute.objects.values_list("order__order_number", "status"))
    return {name: by_number[number] for name, number in ORDERS.items() if number in by_number}


def test_the_platforms_real_statuses_land_with_their_money(tmp_path):
    shipped_orders(tmp_path)
    lines = [
        line("D1", "WAIT_BUYER_SEND_GOODS", "$40.00"),  # accepted, the goods come back first
        line("D2", "WAIT_SELLER_RECEIVE_GOODS", "$25.00"),  # a proposal accepted, with a return
        line("D3", "等待买家退货", "$40.00"),
        line("D4", "平台介入处理中"),
        line("D5", "canceled_issue"),
        line("D6", "finish", "$40.00"),
        line("D7", "已结束", "$15.00"),
        line("D8", "已结束"),  # ended without a refund: withdrawn
        line("D9", "processing"),
    ]
    path = disputes_file(tmp_path, lines)

    report = import_ok(path)

    assert statuses_by_name() == {
        "D1": "awaiting_return",
        "D2": "awaiting_return",
        "D3": "awaiting_return",
        "D4": "arbitration",
        "D5": "cancelled",
        "D6": "resolved",
        "D7": "resolved",
        "D8": "cancelled",
        "D9": "open",
    }
    # a return pays nothing until the seller confirms the goods: only D6 and D7 refunded
    assert refunds_by_name() == {
        "D1": None,
        "D2": None,
        "D3": None,
        "D4": None,
        "D5": None,
        "D6": Decimal("40.00"),
        "D7": Decimal("15.00"),
        "D8": None,
        "D9": None,
    }
    awaiting = Dispute.objects.filter(status="awaiting_return").order_by("platform_dispute_id")
    assert [(d.final_refund, d.return_required) for d in awaiting] == [
        (Decimal("40.00"), True),
        (Decimal("25.00"), True),
        (Decimal("40.00"), True),
    ]
    assert awaiting[1].proposed_refund == Decimal("25.00")
    orders = {name: Order.objects.get(order_number=n).status for name, n in ORDERS.items()}
    assert [orders[n] for n in ("D1", "D2", "D3", "D4", "D9")] == ["disputed"] * 5
    assert [orders[n] for n in ("D5", "D6", "D7", "D8")] == ["shipped"] * 4  # partial refunds
    assert Refund.objects.count() == 2
    assert report.money == {"7000001": {"escrow": Decimal("-55.00")}}
    assert report.warnings == [
        "line 9: Dispute Status: 已结束: ended on the platform without a final refund, "
        "taken as withdrawn",
        "line 10: Dispute Status: processing: in progress on the platform, opened as open",
    ]
    assert_ledger_balanced()

    # importing the same file again changes nothing
    before = stored()
    again = import_ok(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 9)
    assert again.moves == {}
    assert stored() == before


def test_a_later_export_takes_disputes_through_the_return_to_resolved(tmp_path):
    shipped_orders(tmp_path)
    import_ok(
        disputes_file(
            tmp_path,
            [
                line("D1", "WAIT_SELLER_CONFIRM_REFUND"),
                line("D2", "SELLER_REFUSE_REFUND"),
                line("D3", "ARBITRATING"),
            ],
        )
    )

    returning = import_ok(
        disputes_file(
            tmp_path,
            [
                line("D1", "WAIT_BUYER_SEND_GOODS", "$40.00"),  # the seller accepts
                line("D2", "WAIT_SELLER_RECEIVE_GOODS", "$20.00"),  # arbitration decides
                line("D3", "等待买家退货", "$35.00"),
            ],
            name="returning.csv",
        )
    )
    assert returning.moves == {
        ("open", "awaiting_return"): 1,
        ("responded", "awaiting_return"): 1,
        ("arbitration", "awaiting_return"): 1,
    }
    assert Refund.objects.count() == 0 and returning.money == {}
    d2 = Dispute.objects.get(platform_dispute_id="9002")
    assert list(d2.history.values_list("transition", flat=True)) == [
        "open",
        "respond",
        "escalate",
        "decide",
    ]

    path = disputes_file(
        tmp_path,
        [
            line("D1", "FINISH", "$40.00"),
            line("D2", "已结束", "$20.00"),
            line("D3", "finish", "$35.00"),
        ],
        name="returned.csv",
    )
    returned = import_ok(path)

    assert returned.moves == {("awaiting_return", "resolved"): 3}
    assert statuses_by_name() == {"D1": "resolved", "D2": "resolved", "D3": "resolved"}
    assert refunds_by_name() == {
        "D1": Decimal("40.00"),
        "D2": Decimal("20.00"),
        "D3": Decimal("35.00"),
    }
    assert d2.history.last().transition == "confirm_return"
    assert returned.money == {"7000001": {"escrow": Decimal("-95.00")}}
    orders = Order.objects.filter(order_number__in=[ORDERS[n] for n in ("D1", "D2", "D3")])
    assert set(orders.values_list("status", flat=True)) == {"shipped"}
    assert_ledger_balanced()
    before = stored()
    assert import_ok(path).unchanged == 3
    assert stored() == before


def test_a_return_needs_the_agreed_refund_once(tmp_path):
    shipped_orders(tmp_path)
    import_ok(
        disputes_file(
            tmp_path,
            [line("D1", "WAIT_SELLER_CONFIRM_REFUND"), line("D2", "WAIT_BUYER_SEND_GOODS", "$40")],
        )
    )
    before = stored()

    refused = import_export(
        disputes_file(
            tmp_path,
            [line("D1", "WAIT_BUYER_SEND_GOODS"), line("D3", "WAIT_SELLER_RECEIVE_GOODS")],
            name="no-refund.csv",
        )
    )
    known = import_ok(  # the agreed refund is stored: a later line need not repeat it
        disputes_file(tmp_path, [line("D2", "WAIT_SELLER_RECEIVE_GOODS")], name="known.csv")
    )
    other = import_export(
        disputes_file(tmp_path, [line("D2", "等待买家退货", "$30.00")], name="other.csv")
    )

    needed = (
        "Final Refund: dispute awaiting return without final refund: "
        "the refund agreed for the returned goods is needed to settle it"
    )
    assert refused.error_lines() == [f"line 2: {needed}", f"line 3: {needed}"]
    assert known.unchanged == 1
    assert other.error_lines() == [
        "line 2: Final Refund: dispute 9002 was agreed with a refund of USD 40.00, not USD 30.00"
    ]
    assert stored() == before


def test_processing_keeps_a_dispute_that_is_not_over_where_it_is(tmp_path):
    shipped_orders(tmp_path)
    first = [
        line("D1", "WAIT_SELLER_CONFIRM_REFUND"),
        line("D2", "SELLER_REFUSE_REFUND"),
        line("D3", "ARBITRATING"),
        line("D4", "WAIT_BUYER_SEND_GOODS", "$40.00"),
        line("D5", "FINISH", "$40.00"),
    ]
    import_ok(disputes_file(tmp_path, first))
    before = stored()

    report = import_ok(
        disputes_file(
            tmp_path, [line(name, "processing") for name in ("D1", "D2", "D3", "D4")], name="p.csv"
        )
    )
    refused = import_export(disputes_file(tmp_path, [line("D5", "processing")], name="over.csv"))

    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)
    assert report.warnings == [
        "line 2: Dispute Status: processing: in progress on the platform, kept as open",
        "line 3: Dispute Status: processing: in progress on the platform, kept as responded",
        "line 4: Dispute Status: processing: in progress on the platform, kept as arbitration",
        "line 5: Dispute Status: processing: in progress on the platform, kept as awaiting_return",
    ]
    assert refused.error_lines() == [
        "line 2: Dispute Status: cannot move from resolved to in progress (processing)"
    ]
    assert refused.warnings == []
    assert stored() == before
    assert statuses_by_name()["D4"] == "awaiting_return"


def test_an_unknown_dispute_status_is_a_row_error_that_names_it(tmp_path):
    shipped_orders(tmp_path)

    report = import_export(disputes_file(tmp_path, [line("D1", "WAIT_BUYER_ACCEPT_GOODS")]))

    assert report.error_lines() == [
        "line 2: Dispute Status: unknown status 'WAIT_BUYER_ACCEPT_GOODS'"
    ]
    assert not Dispute.objects.exists()


def test_a_protected_return_is_paid_by_the_protection_fund_when_confirmed(tmp_path):
    shipped_orders(tmp_path, D1=True)
    import_ok(disputes_file(tmp_path, [line("D1", "WAIT_BUYER_SEND_GOODS", "$40.00")]))
    assert not Refund.objects.exists()

    import_ok(disputes_file(tmp_path, [line("D1", "已结束", "$40.00")], name="ended.csv"))

    refund = Dispute.objects.get(platform_dispute_id="9001").refund
    assert (refund.amount, refund.from_protection_fund, refund.from_escrow) == (
        Decimal("40.00"),
        Decimal("40.00"),
        Decimal("0.00"),
    )
    assert_ledger_balanced()
