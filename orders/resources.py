"""Export-only resource of orders (the admin's "Export" and "Export selected"); see
backoffice/exports.py for the rules every export follows."""

from backoffice.exports import ExportResource, amount, constant, flag, label, text, timestamp
from backoffice.money import Currency
from orders.models import Order


class OrderResource(ExportResource):
    order_number = text("order_number", "Order No.")
    store_id = text("store__platform_store_id", "Store ID")
    store_name = text("store__name", "Store Name")
    status = label("status", "Status")
    buyer_name = text("buyer_name", "Buyer Name")
    buyer_country = text("buyer_country", "Buyer Country")
    payment_method = label("payment_method", "Payment Method")
    currency = constant(Currency.USD, "Currency")  # order amounts are kept in USD
    product_total = amount("product_total", "Product Total")
    shipping_cost = amount("shipping_cost", "Shipping Cost")
    order_amount = amount("amount", "Order Amount")
    product_info = text("product_info", "Product Info")
    protected = flag("protected", "After-sales Protection")
    carrier = text("carrier", "Carrier")
    tracking_number = text("tracking_number", "Tracking No.")
    placed_at = timestamp("placed_at", "Order Time (UTC)")
    paid_at = timestamp("paid_at", "Payment Time (UTC)")
    shipped_at = timestamp("shipped_at", "Shipping Time (UTC)")
    completed_at = timestamp("completed_at", "Confirmed Time (UTC)")
    closed_at = timestamp("closed_at", "Closed Time (UTC)")
    end_reason = label("end_reason", "End Reason")

    select_related = ("store",)

    class Meta:
        model = Order
        name = "Orders"
