"""Disputes exports, promotion statements and exchange rates through the importer: the dispute,
wallet and rate services, row by row."""

from decimal import Decimal

from backoffice.imports.runner import import_export
from disputes.models import Dispute
from orders.models import Order
from payouts.models import PromotionMovement

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
