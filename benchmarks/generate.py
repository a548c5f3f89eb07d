"""Realistic platform export files of any size, written row by row (never built in memory).

    python benchmarks/generate.py orders --rows 100000 --out /tmp/orders-100k.csv \\
        [--seed 1] [--stores 50] [--format csv|xlsx] [--encoding utf-8|utf-8-sig|gb18030] \\
        [--delimiter comma|tab] [--chinese-headers]
    python benchmarks/generate.py disputes --orders /tmp/orders-100k.csv --out /tmp/disputes.csv
    python benchmarks/generate.py promotion --rows 2000 --out /tmp/promotion.csv [--orders FILE]
    python benchmarks/generate.py exchange_rates --rows 120 --out /tmp/rates.csv
    python benchmarks/generate.py orders --layout seller-center [--currency USD|CNY] \\
        --rows 100000 --out /tmp/seller-center-100k.csv

Files follow shared/platform-exports/SPEC.md and look like its samples: headers in English or
Chinese (taken from ``backoffice.imports.headers``, the parser's own table), statuses
as English
labels, Chinese labels or platform codes, the SPEC's amount and time styles mixed row by row,
``carrier:tracking`` cells, Y/N (Yes/No, 是/否) protection flags. The same arguments give the same
CSV bytes and the same XLSX cells (openpyxl stamps the save time into the workbook's properties);
order numbers are unique 16-digit strings.

Orders are exported at EXPORTED_AT (2026-04-30 23:00, platform time) and span the three months
before it. Each state gets a consistent timeline ending before the export: order < payment <
shipping < confirmation, at least 10 minutes apart so that styles without seconds keep the order;
moments are drawn in UTC and shown as platform wall time, so none falls in a DST gap. Mix:

    unpaid 8%, awaiting shipment 10%, risk control 2%, awaiting delivery 25%, in dispute 3%,
    finished: buyer_accept_goods 40%, refunded 4%, buyer_cancel 3%, pay_timeout 4%,
    out_of_stock 1%

Order amounts are USD (the model's currency) in the four USD styles; CNY styles (``￥600.38``,
``CN¥600.38``, plain) are in the promotion statements, whose default currency is CNY. Finished
cancellations (buyer_cancel, pay_timeout, out_of_stock) are unpaid orders: the state machine
turns a cancelled *paid* order into a refund, which the export calls ``refunded``.

Disputes are the "In dispute" orders of an orders file (``--orders``, read with the parsing
layer, so any format or encoding works), opened after shipping and still active (open,
responded, arbitration). Promotion lines use the stores of ``--orders`` when given, else the
stores the orders generator makes for the same ``--seed``/``--stores``.

``--layout seller-center`` writes the seller center's real order export instead, for one store
(SELLER_CENTER_STORE, imported with ``store=``/``store_name=``): its 23 Chinese columns, Chinese
status words (finished orders are 交易完成 with a confirmation time or 订单关闭, there being no
End Reason column; 风控中 is the inexact word), ``US $170.54`` or, with ``--currency CNY``,
``CN￥ 1,234.56`` amounts, month-first platform times without seconds, no shipping time,
``carrier:tracking`` cells with a trailing newline now and then and two parcels on two lines for
some; fictional buyers, streets, 555-01xx phones and example.com e-mails. A CNY store's import
needs the day's USD rate for each order day (``seller_center_days()``).
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import math
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backoffice.imports.headers import COLUMNS, Kind

PLATFORM_TZ = ZoneInfo("America/Los_Angeles")
BEIJING = ZoneInfo("Asia/Shanghai")
EXPORTED_AT = datetime(2026, 4, 30, 23, 0, tzinfo=PLATFORM_TZ).astimezone(UTC)
WINDOW_START = datetime(2026, 2, 1, 0, 0, tzinfo=PLATFORM_TZ).astimezone(UTC)
MIN_GAP = timedelta(minutes=10)

MINUTE = 60
HOUR = 3600
DAY = 86400

DEFAULT_ROWS = {"orders": 1000, "disputes": None, "promotion": 2000, "exchange_rates": 120}

# --- the word lists ----------------------------------------------------------------------------

CITIES = (
    "Shenzhen",
    "Yiwu",
    "Hangzhou",
    "Guangzhou",
    "Dongguan",
    "Ningbo",
    "Xiamen",
    "Suzhou",
    "Foshan",
    "Shantou",
    "Quanzhou",
    "Wenzhou",
    "Jinhua",
    "Changsha",
    "Chengdu",
    "Wuhan",
    "Qingdao",
    "Tianjin",
    "Nanjing",
    "Fuzhou",
)
TRADES = (
    "Gadget Co.",
    "Home Goods",
    "Silk House",
    "Cycle Parts",
    "Beauty Store",
    "Outdoor Gear",
    "Toy World",
    "Phone Accessories",
    "Lighting Factory",
    "Kitchen Supply",
    "Pet Products",
    "Fashion Trading",
    "Auto Parts",
    "Jewelry Studio",
    "Sports Direct",
    "Baby Care",
    "Tools Co., Ltd.",
    "Electronics Official Store",
    "Textile Mill",
    "Craft Workshop",
)
BUYERS = (
    "Ana Souza",
    "Sophie Martin",
    "Kim Min-jun",
    "Noa Levi",
    "Emma de Vries",
    "Olga Petrova",
    "Jean Dupont",
    "José Muñoz",
    "Pablo García",
    "Jan Kowalski",
    "Łukasz Wiśniewski",
    "Zoë O'Brien",
    "Müller, Jürgen",
    "Иван Смирнов",
    "Camila Rodríguez",
    "Mohammed Al-Farsi",
    "Yuki Tanaka",
    "John Smith",
    "Marie-Claire Dubois",
    "Björn Åström",
)
COUNTRIES = (
    "US",
    "US",
    "US",
    "ES",
    "FR",
    "France",
    "BR",
    "Brazil",
    "RU",
    "PL",
    "KR",
    "Chile",
    "NL",
    "IL",
    "DE",
    "Germany",
    "GB",
    "United Kingdom",
    "IT",
    "Mexico",
    "CA",
    "UA",
)
PRODUCTS = (
    "Phone case",
    "Watch band 22mm",
    "USB-C cable 2m",
    "LED strip 5m",
    "Silk scarf",
    "Wireless earbuds",
    "Bike light",
    "Bell",
    'Phone case "Slim", black',
    "Screen protector, 2-pack",
    "Hair clip",
    "Car phone holder",
    "Yoga mat 6mm",
    "Dog collar, size M",
    "手机壳",
    "数据线 1m",
    "丝巾",
)
CARRIERS = ("Cainiao", "AliExpress Standard Shipping", "China Post", "YunExpress", "4PX")
CARRIER_WEIGHTS = (35, 30, 15, 12, 8)
PAYMENT_METHODS = (  # (English, Chinese or None), weight
    (("Credit Card", "信用卡"), 40),
    (("Debit Card", "借记卡"), 15),
    (("Alipay", "支付宝"), 25),
    (("Moneybookers", None), 12),
    (("T/T", "电汇"), 8),
)
DISPUTE_REASONS = (
    "Not received",
    "Item not received",
    "Not as described",
    "Item not as described",
    "Item damaged",
    "Wrong item",
    "未收到货",
    "货不对版",
    "商品破损",
    "Buyer says the colour is different",
)


@dataclass(frozen=True, slots=True)
class State:
    """One line of the state mix: how the export shows it and how its timeline runs."""

    name: str
    weight: float
    labels: tuple[str, str, str]  # English label, Chinese label, platform code
    end_reason: str = ""
    paid: bool = False
    shipped: bool = False
    confirmed: bool = False
    placed_within: timedelta | None = None  # placed at most this long before the export


FINISHED = ("Finished", "已结束", "FINISH")
STATES: tuple[State, ...] = (
    State(
        "unpaid",
        8,
        ("Awaiting payment", "等待买家付款", "PLACE_ORDER_SUCCESS"),
        placed_within=timedelta(days=3),
    ),
    State(
        "paid",
        10,
        ("Awaiting shipment", "等待您发货", "WAIT_SELLER_SEND_GOODS"),
        paid=True,
        placed_within=timedelta(days=6),
    ),
    State(
        "risk_control",
        2,
        ("Risk control", "订单处于风控24小时中", "RISK_CONTROL"),
        paid=True,
        placed_within=timedelta(hours=30),
    ),
    State(
        "shipped",
        25,
        ("Awaiting delivery", "等待买家收货", "WAIT_BUYER_ACCEPT_GOODS"),
        paid=True,
        shipped=True,
        placed_within=timedelta(days=45),
    ),
    State(
        "disputed",
        3,
        ("In dispute", "纠纷中", "IN_ISSUE"),
        paid=True,
        shipped=True,
        placed_within=timedelta(days=60),
    ),
    State(
        "completed",
        40,
        FINISHED,
        "buyer_accept_goods",
        paid=True,
        shipped=True,
        confirmed=True,
    ),
    State("refunded", 4, FINISHED, "refunded", paid=True),  # 70% of them shipped first
    State("buyer_cancel", 3, FINISHED, "buyer_cancel"),
    State("pay_timeout", 4, FINISHED, "pay_timeout"),
    State("out_of_stock", 1, FINISHED, "out_of_stock"),
)
STATE_CUM = list(itertools.accumulate(state.weight for state in STATES))


# --- small helpers -----------------------------------------------------------------------------


# Columns of the seller center's layouts that SPEC.md's does not have.
NOT_IN_SPEC = {"product_code", "goods_info"}


def headers(kind: str, chinese: bool) -> list[str]:
    """SPEC.md's columns, in its order."""
    return [
        column.chinese if chinese else column.english
        for column in COLUMNS[Kind(kind)]
        if column.field not in NOT_IN_SPEC
    ]


def order_numbers(seed: int) -> Iterator[str]:
    """Unique 16-digit numbers in 8000000000000000..9999999999999999 that look random: an affine
    permutation of that range (its size 2*10**15 = 2**16 * 5**15, so any multiplier coprime to 10
    is a bijection)."""
    rng = random.Random(f"{seed}:order-numbers")
    size = 2 * 10**15
    step = rng.randrange(10**14, size) | 1
    while step % 5 == 0:
        step += 2
    offset = rng.randrange(size)
    for i in itertools.count():
        yield str(8 * 10**15 + (i * step + offset) % size)


@dataclass(frozen=True, slots=True)
class Store:
    platform_id: str
    name: str


def make_stores(seed: int, count: int) -> list[Store]:
    """``count`` stores with unique 7-digit ids and names, the same for the same seed."""
    rng = random.Random(f"{seed}:stores")
    ids = rng.sample(range(2_000_000, 10_000_000), count)
    names = [f"{city} {trade}" for city in CITIES for trade in TRADES]
    rng.shuffle(names)
    return [
        Store(
            str(pid), names[k % len(names)] + (f" {k // len(names) + 1}" if k >= len(names) else "")
        )
        for k, pid in enumerate(ids)
    ]


def money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


USD_STYLES: dict[str, Callable[[Decimal], str]] = {
    "us_dollar": lambda d: f"US ${d:,.2f}",
    "dollar": lambda d: f"${d:,.2f}",
    "usd": lambda d: f"USD {d:.2f}",
    "plain": lambda d: f"{d:.2f}",
}
USD_STYLE_WEIGHTS = (30, 25, 20, 25)
CNY_STYLES: dict[str, Callable[[Decimal], str]] = {
    "fullwidth_yen": lambda d: f"￥{d:.2f}",
    "cn_yen": lambda d: f"CN¥{d:,.2f}",
    "plain": lambda d: f"{d:.2f}",
}
CNY_STYLE_WEIGHTS = (50, 20, 30)

TIME_STYLES = ("ymd_seconds", "ymd_slash", "mdy", "iso_offset")
TIME_STYLE_WEIGHTS = (40, 20, 30, 10)


def show_time(moment: datetime, style: str, rng: random.Random) -> str:
    """A UTC moment as the export writes it: platform wall time, or ISO 8601 with an offset."""
    wall = moment.astimezone(PLATFORM_TZ)
    if style == "ymd_seconds":
        return wall.strftime("%Y-%m-%d %H:%M:%S")
    if style == "ymd_slash":
        return wall.strftime("%Y/%m/%d %H:%M")
    if style == "mdy":
        return wall.strftime("%m/%d/%Y %H:%M")
    zone = BEIJING if rng.random() < 0.3 else PLATFORM_TZ  # some tools export Beijing time
    return moment.astimezone(zone).isoformat(timespec="seconds")


def label(labels: tuple[str, str, str], chinese: bool, rng: random.Random) -> str:
    """English label, Chinese label or platform code, mostly in the headers' language."""
    english, zh, code = labels
    x = rng.random()
    if chinese:
        return zh if x < 0.7 else code if x < 0.9 else english
    return english if x < 0.7 else code if x < 0.95 else zh


# --- writing -----------------------------------------------------------------------------------


@contextmanager
def open_sink(
    out: Path, *, fmt: str, encoding: str, delimiter: str, sheet: str
) -> Iterator[Callable[[Sequence[object]], None]]:
    """A function that writes one row, streaming to ``out``: ``csv.writer`` on a text file, or
    openpyxl's write-only workbook (rows go to a temporary XML file, not into memory)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        import openpyxl

        workbook = openpyxl.Workbook(write_only=True)
        worksheet = workbook.create_sheet(sheet)
        yield worksheet.append
        workbook.save(out)
        return
    with open(out, "w", encoding=encoding, newline="") as file:
        writer = csv.writer(file, delimiter=delimiter)
        yield writer.writerow


# --- orders ------------------------------------------------------------------------------------


def _seconds(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=int(rng.uniform(low, high)))


def _timeline(rng: random.Random, state: State) -> tuple[datetime, ...]:
    """(placed, paid, shipped, confirmed), ``None`` where the state has none; all before the
    export, each at least MIN_GAP after the one before."""
    steps: list[timedelta] = []
    if state.paid:
        # most buyers pay within hours; risk control holds an order paid in the last 24 hours
        if state.name == "risk_control":
            steps.append(_seconds(rng, 10 * MINUTE, 3 * HOUR))
        else:
            steps.append(
                MIN_GAP + timedelta(seconds=int(min(rng.expovariate(1 / (6 * HOUR)), 3 * DAY)))
            )
    ships = state.shipped or (state.name == "refunded" and rng.random() < 0.7)
    if ships:
        steps.append(_seconds(rng, 4 * HOUR, 5 * DAY))
    if state.confirmed:
        steps.append(_seconds(rng, 5 * DAY, 35 * DAY))
    total = sum(steps, timedelta())
    latest = EXPORTED_AT - total - MIN_GAP
    earliest = WINDOW_START
    if state.placed_within is not None:
        earliest = max(earliest, EXPORTED_AT - state.placed_within)
    if state.name == "risk_control":  # paid within the last 24 hours
        earliest = max(earliest, EXPORTED_AT - timedelta(hours=23) - total)
    earliest = min(earliest, latest)
    placed = earliest + _seconds(rng, 0, (latest - earliest).total_seconds())
    moments = [placed]
    for step in steps:
        moments.append(moments[-1] + step)
    paid = moments[1] if state.paid else None
    shipped = moments[2] if ships else None
    confirmed = moments[3] if state.confirmed else None
    return placed, paid, shipped, confirmed


def _typed_time(moment: datetime | None) -> datetime | None:
    """An XLSX date cell: naive platform wall time, as Excel holds it."""
    return None if moment is None else moment.astimezone(PLATFORM_TZ).replace(tzinfo=None)


def order_rows(
    n: int, *, seed: int, stores: Sequence[Store], chinese: bool, typed: bool
) -> Iterator[list[object]]:
    """``n`` rows of an orders export in SPEC column order. ``typed``: some cells as XLSX
    types (naive datetimes, numbers) instead of text, as a workbook saved by Excel has them."""
    rng = random.Random(f"{seed}:orders")
    numbers = order_numbers(seed)
    store_cum = list(itertools.accumulate(1 / (k + 1) ** 0.8 for k in range(len(stores))))
    usd_styles = list(USD_STYLES.values())
    for _ in range(n):
        state = STATES[bisect.bisect(STATE_CUM, rng.random() * STATE_CUM[-1])]
        store = rng.choices(stores, cum_weights=store_cum)[0]
        placed, paid, shipped, confirmed = _timeline(rng, state)

        time_style = rng.choices(TIME_STYLES, TIME_STYLE_WEIGHTS)[0]
        native_times = typed and rng.random() < 0.25

        def when(moment: datetime | None, style: str = time_style, native: bool = native_times):
            if moment is None:
                return None if typed else ""
            return _typed_time(moment) if native else show_time(moment, style, rng)

        # product total: log-normal, median about $40, a long tail past $1,000
        total_cents = max(50, min(int(math.exp(rng.gauss(3.7, 0.9)) * 100), 600_000))
        shipping_cents = rng.choices((0, 199, 350, 499, 799), (40, 15, 20, 15, 10))[0]
        amount = money(total_cents + shipping_cents)
        style = rng.choices(usd_styles, USD_STYLE_WEIGHTS)[0]
        numeric = typed and style is USD_STYLES["plain"] and rng.random() < 0.5

        def cash(value: Decimal, style=style, numeric=numeric) -> object:
            return float(value) if numeric else style(value)

        blank: object = None if typed else ""
        given_parts = rng.random() >= 0.03  # a few exports leave total and shipping out
        product_total = cash(money(total_cents)) if given_parts else blank
        shipping_cost = cash(money(shipping_cents)) if given_parts else blank

        items = rng.choices(PRODUCTS, k=1 if rng.random() < 0.8 else 2)
        product_info = "; ".join(f"{item} x{rng.choice((1, 1, 1, 2, 3))}" for item in items)

        method = blank
        if paid is not None and rng.random() >= 0.02:
            english, zh = rng.choices(*zip(*PAYMENT_METHODS, strict=True))[0]
            method = zh if chinese and zh and rng.random() < 0.7 else english

        tracking = blank
        if shipped is not None:
            carrier = rng.choices(CARRIERS, CARRIER_WEIGHTS)[0]
            tracking = f"{carrier}:LP{rng.randrange(10**11, 10**12)}CN"

        protected = rng.random() < 0.3
        if chinese and rng.random() < 0.7:
            flag = "是" if protected else "否"
        elif rng.random() < 0.2:
            flag = "Yes" if protected else "No"
        else:
            flag = "Y" if protected else "N"

        store_id: object = store.platform_id
        if typed and rng.random() < 0.5:
            store_id = int(store.platform_id)  # Excel made it a number: 7 digits survive
        yield [
            next(numbers),
            store_id,
            store.name,
            label(state.labels, chinese, rng),
            rng.choice(BUYERS),
            rng.choice(COUNTRIES),
            when(placed),
            when(paid),
            method,
            product_total,
            shipping_cost,
            cash(amount),
            product_info,
            tracking,
            when(shipped),
            when(confirmed),
            flag,
            state.end_reason or blank,
        ]


# --- orders, the seller center's own export ----------------------------------------------------

# The seller center's order export (one store a file, no store column), its 23 columns in order.
SELLER_CENTER_HEADERS = (
    "订单号",
    "订单状态",
    "负责人\uff08业务员\uff09",  # full-width brackets, as the export writes them
    "买家名称",
    "下单时间",
    "付款时间",
    "订单金额",
    "商品编码",
    "完整收货地址",
    "收件人名称",
    "联系电话",
    "手机",
    "联系邮件",
    "详细地址",
    "邮编",
    "扩展城市\uff08德/意/波/墨为真实的城市\uff09",
    "城市",
    "州/省",
    "收货国家",
    "买家选择物流",
    "实际发货单号",
    "确认收货时间",
    "售后单",
)
LAYOUTS = ("spec", "seller-center")
SELLER_CENTER_STORE = Store("2345678", "Yiwu Home Goods Official Store")
SELLER_CENTER_CURRENCIES = ("USD", "CNY")
SELLER_CENTER_STYLES: dict[str, Callable[[Decimal], str]] = {
    "USD": lambda d: f"US ${d:,.2f}",
    "CNY": lambda d: f"CN￥ {d:,.2f}",
}
CNY_PER_USD = 7.2  # the scale of a CNY store's amounts (the import converts at the day's rate)

# The SPEC mix in the words this layout has. Without an End Reason column a finished order is
# 交易完成 (completed, confirmed) or 订单关闭 (refunded when paid, cancelled when not).
SELLER_CENTER_LABELS = {
    "unpaid": "等待买家付款",
    "paid": "等待发货",
    "risk_control": "风控中",  # inexact: recorded as paid, with a warning on the row
    "shipped": "等待买家收货",
    "disputed": "纠纷中",
    "completed": "交易完成",
    "refunded": "订单关闭",  # 70% of them shipped first
}
SELLER_CENTER_STATES: tuple[State, ...] = (
    *(
        replace(state, labels=("", SELLER_CENTER_LABELS[state.name], ""), end_reason="")
        for state in STATES
        if state.name in SELLER_CENTER_LABELS
    ),
    State("cancelled", 8, ("", "订单关闭", "")),  # never paid: buyer_cancel, pay_timeout, ...
)
SELLER_CENTER_CUM = list(itertools.accumulate(state.weight for state in SELLER_CENTER_STATES))
# What each generated state imports as (risk control is recorded as paid).
SELLER_CENTER_IMPORTED = {state.name: state.name for state in SELLER_CENTER_STATES} | {
    "risk_control": "paid"
}

SALESPEOPLE = ("", "", "Lily Chen", "王小燕", "Kevin Zhou", "店铺主账号")
PRODUCT_CODES = tuple(
    f"{p}-{n:03d}" for p in ("PC", "WB", "LED", "SLK", "USB", "YOG") for n in (1, 7, 12, 40)
)
# (country as shown, its dialling code, ((city, state or province, postcode pattern), ...)):
# real places, fictional streets and people; phone numbers in ranges kept for fiction (555-01xx).
PLACES = (
    ("United States", "1", (("Springfield", "Illinois", "627##"), ("Austin", "Texas", "787##"))),
    ("United States", "1", (("Portland", "Oregon", "972##"), ("Columbus", "Ohio", "432##"))),
    (
        "France",
        "33",
        (("Lyon", "Auvergne-Rhône-Alpes", "6900#"), ("Nantes", "Pays de la Loire", "4400#")),
    ),
    ("Spain", "34", (("Valencia", "Valencia", "460##"), ("Sevilla", "Andalucía", "410##"))),
    (
        "Brazil",
        "55",
        (("Campinas", "São Paulo", "130##-###"), ("Recife", "Pernambuco", "50###-###")),
    ),
    ("Germany", "49", (("Leipzig", "Sachsen", "041##"), ("Köln", "Nordrhein-Westfalen", "506##"))),
    ("Italy", "39", (("Bologna", "Emilia-Romagna", "401##"), ("Torino", "Piemonte", "101##"))),
    ("Poland", "48", (("Kraków", "Małopolskie", "30-###"), ("Gdańsk", "Pomorskie", "80-###"))),
    ("Mexico", "52", (("Puebla", "Puebla", "72###"), ("Monterrey", "Nuevo León", "64###"))),
    ("Korea", "82", (("Busan", "Busan", "48###"),)),
    ("Chile", "56", (("Valparaíso", "Valparaíso", "23#####"),)),
    ("United Kingdom", "44", (("Leeds", "West Yorkshire", "LS# #AA"),)),
)
REAL_CITY_COUNTRIES = {"Germany", "Italy", "Poland", "Mexico"}  # 扩展城市 holds the real city
STREETS = (
    "Maple Example Road",
    "Fictional Avenue",
    "Sample Lane",
    "Placeholder Street",
    "Rua Exemplo",
    "Calle Ficticia",
    "Musterstraße",
    "Via Esempio",
    "ul. Przykładowa",
)
CHOSEN_SHIPPING = (
    "AliExpress Standard Shipping",
    "Cainiao Saver",
    "AliExpress Selection Standard",
    "Cainiao Super Economy",
    "YunExpress",
)
# (carrier as the export names it, tracking number maker)
REAL_CARRIERS: tuple[tuple[str, Callable[[random.Random], str]], ...] = (
    ("美国邮政", lambda rng: f"9400{rng.randrange(10**17, 10**18)}"),
    ("菜鸟无忧物流-标准", lambda rng: f"LP{rng.randrange(10**13, 10**14)}"),
    ("燕文航空挂号小包", lambda rng: f"UG{rng.randrange(10**8, 10**9)}YP"),
    ("云途物流", lambda rng: f"YT{rng.randrange(10**15, 10**16)}"),
    ("4PX", lambda rng: f"4PX{rng.randrange(10**11, 10**12)}CN"),
)
REAL_CARRIER_WEIGHTS = (30, 35, 10, 15, 10)


def seller_center_headers() -> list[str]:
    return list(SELLER_CENTER_HEADERS)


def seller_center_days() -> tuple[date, date]:
    """The first and last order day (platform time) a seller-center file can hold: the days a
    CNY store's import needs an exchange rate for."""
    return WINDOW_START.astimezone(PLATFORM_TZ).date(), EXPORTED_AT.astimezone(PLATFORM_TZ).date()


def _pattern(rng: random.Random, pattern: str) -> str:
    return "".join(
        str(rng.randrange(10)) if c == "#" else chr(65 + rng.randrange(26)) if c == "A" else c
        for c in pattern
    )


def seller_center_rows(n: int, *, seed: int, currency: str = "USD") -> Iterator[list[object]]:
    """``n`` rows of the seller center's order export for one store (SELLER_CENTER_HEADERS):
    Chinese status words, amounts as ``US $170.54`` or ``CN￥ 1,234.56``, month-first platform
    times without seconds, ``carrier:tracking`` cells (a trailing newline now and then, two
    parcels on two lines for some), no shipping time and no end reason. Fictional people,
    streets, phones and e-mails."""
    if currency not in SELLER_CENTER_STYLES:
        raise SystemExit(f"unknown currency {currency!r}: USD or CNY")
    rng = random.Random(f"{seed}:seller-center")
    numbers = order_numbers(seed)
    show = SELLER_CENTER_STYLES[currency]
    scale = CNY_PER_USD if currency == "CNY" else 1.0
    tickets = rng.randrange(3_000_000_000_000, 3_900_000_000_000)

    def when(moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(PLATFORM_TZ).strftime("%m/%d/%Y %H:%M")

    for k in range(n):
        state = SELLER_CENTER_STATES[
            bisect.bisect(SELLER_CENTER_CUM, rng.random() * SELLER_CENTER_CUM[-1])
        ]
        placed, paid, shipped, confirmed = _timeline(rng, state)
        usd_cents = max(50, min(int(math.exp(rng.gauss(3.7, 0.9)) * 100), 600_000))
        usd_cents += rng.choices((0, 199, 350, 499, 799), (40, 15, 20, 15, 10))[0]
        amount = money(int(usd_cents * scale))

        buyer = rng.choice(BUYERS)
        recipient = buyer if rng.random() < 0.85 else rng.choice(BUYERS)
        country, code, cities = rng.choice(PLACES)
        city, province, postcode = rng.choice(cities)
        street = f"{rng.randrange(1, 999)} {rng.choice(STREETS)}"
        if rng.random() < 0.3:
            street += f", Apt {rng.randrange(1, 60)}"
        zip_code = _pattern(rng, postcode)
        phone = f"+{code} 555-01{rng.randrange(100):02d}"
        mobile = f"+{code} 555-01{rng.randrange(100):02d}" if rng.random() < 0.6 else ""
        handle = (
            "".join(ch for ch in buyer.lower() if ch.isascii() and ch.isalpha())[:12] or "buyer"
        )
        email = f"{handle}{rng.randrange(100)}@example.com" if rng.random() < 0.7 else ""

        tracking = ""
        if shipped is not None:
            count = 2 if rng.random() < 0.06 else 1
            parcels = []
            for _ in range(count):
                carrier, number = rng.choices(REAL_CARRIERS, REAL_CARRIER_WEIGHTS)[0]
                parcels.append(f"{carrier}:{number(rng)}")
            tracking = "\n".join(parcels) + ("\n" if rng.random() < 0.3 else "")
        ticket = ""
        if state.name in ("disputed", "refunded") and rng.random() < 0.8:
            ticket = str(tickets + k * 7919)
        yield [
            next(numbers),
            state.labels[1],
            rng.choice(SALESPEOPLE),
            buyer,
            when(placed),
            when(paid),
            show(amount),
            rng.choice(PRODUCT_CODES),
            f"{street}, {city}, {province}, {zip_code}, {country}",
            recipient,
            phone,
            mobile,
            email,
            street,
            zip_code,
            city if country in REAL_CITY_COUNTRIES else "",
            city,
            province,
            country,
            rng.choice(CHOSEN_SHIPPING),
            tracking,
            when(confirmed),
            ticket,
        ]


# --- disputes, promotion, exchange rates -------------------------------------------------------


def _read_orders(path: Path) -> Iterator[object]:
    """The parsed rows of an orders file (any format or encoding the importer takes)."""
    from backoffice.imports.parse import open_export

    with open_export(path, kind="orders") as export:
        for result in export.results():
            if result.errors:
                raise SystemExit(f"{path}: {result.errors[0]}")
            yield result.row


def dispute_rows(orders: Path, *, seed: int, limit: int | None) -> Iterator[list[object]]:
    """One active dispute for each "In dispute" order of ``orders``, in file order."""
    rng = random.Random(f"{seed}:disputes")
    ids = rng.randrange(5_000_000_000_000, 5_900_000_000_000)
    made = 0
    for row in _read_orders(orders):
        if limit is not None and made >= limit:
            return
        if row.state != "disputed":
            continue
        base = row.shipped_at or row.paid_at
        room = (EXPORTED_AT - base).total_seconds() - MIN_GAP.total_seconds()
        opened = base + MIN_GAP + timedelta(seconds=int(rng.uniform(0, min(room, 25 * DAY))))
        amount = row.amount.amount
        if rng.random() < 0.55:
            requested = amount
        else:
            requested = max(money(1), money(int(amount * 100 * Decimal(rng.uniform(0.1, 0.9)))))
        style = rng.choices(list(USD_STYLES.values()), USD_STYLE_WEIGHTS)[0]
        status = rng.choices(
            ("WAIT_SELLER_CONFIRM_REFUND", "SELLER_REFUSE_REFUND", "ARBITRATING"), (50, 30, 20)
        )[0]
        yield [
            str(ids + made * 7919),  # unique 13-digit ids
            row.order_number,
            status,
            rng.choice(DISPUTE_REASONS),
            show_time(opened, rng.choices(TIME_STYLES, TIME_STYLE_WEIGHTS)[0], rng),
            style(requested),
            "",
        ]
        made += 1


def _stores_of(orders: Path) -> list[Store]:
    seen: dict[str, Store] = {}
    for row in _read_orders(orders):
        seen.setdefault(row.store_id, Store(row.store_id, row.store_name or ""))
    return list(seen.values())


def promotion_rows(
    n: int, *, seed: int, stores: Sequence[Store], chinese: bool
) -> Iterator[list[object]]:
    """A daily promotion statement per store, day after day, until ``n`` lines: a charge each
    day, a top-up first whenever the wallet runs low, now and then an adjustment (either sign)."""
    rng = random.Random(f"{seed}:promotion")
    types = {
        "charge": ("charge", "扣费"),
        "top_up": ("top-up", "充值"),
        "adjustment": ("adjustment", "调整"),
    }
    prefixes = {"charge": "P", "top_up": "T", "adjustment": "A"}
    balance = {store.platform_id: 0 for store in stores}
    cny_styles = list(CNY_STYLES.values())
    made = 0
    start = date(2026, 2, 1)
    for day_number in itertools.count():
        day = start + timedelta(days=day_number)
        for store in stores:
            lines: list[tuple[str, int]] = []
            if balance[store.platform_id] < 100_000:  # below CNY 1,000: top up
                lines.append(("top_up", rng.choice((50_000, 100_000, 200_000, 500_000))))
            lines.append(("charge", int(rng.uniform(3_000, 90_000))))
            if rng.random() < 0.03:
                lines.append(("adjustment", int(rng.uniform(-5_000, 5_000)) or 100))
            for kind, cents in lines:
                if made >= n:
                    return
                balance[store.platform_id] += -cents if kind == "charge" else cents
                english, zh = types[kind]
                style = rng.choices(cny_styles, CNY_STYLE_WEIGHTS)[0]
                yield [
                    store.platform_id,
                    day.isoformat() if rng.random() < 0.8 else day.strftime("%Y/%m/%d"),
                    zh if chinese else english,
                    style(money(cents)),
                    f"{prefixes[kind]}{store.platform_id}-{day_number:04d}",
                ]
                made += 1


def exchange_rate_rows(n: int, *, seed: int) -> Iterator[list[object]]:
    """USD to CNY for ``n`` consecutive days from 2026-01-01: a random walk around 7.18."""
    rng = random.Random(f"{seed}:rates")
    rate = 7.18
    for k in range(n):
        day = date(2026, 1, 1) + timedelta(days=k)
        rate = min(max(rate + rng.gauss(0, 0.0015), 7.05), 7.35)
        shown = day.isoformat() if rng.random() < 0.85 else day.strftime("%m/%d/%Y")
        yield [shown, "USD", f"{rate:.4f}"]


# --- command line ------------------------------------------------------------------------------


def generate(
    kind: str,
    out: Path,
    *,
    rows: int | None = None,
    seed: int = 1,
    stores: int = 50,
    fmt: str = "csv",
    encoding: str = "utf-8",
    delimiter: str = ",",
    chinese: bool = False,
    orders: Path | None = None,
    layout: str = "spec",
    currency: str = "USD",
) -> int:
    """Write one export file; returns the number of data rows written. ``layout``
    ``seller-center``: the seller center's own order export of one store (SELLER_CENTER_STORE),
    its amounts in ``currency`` (USD or CNY); ``stores`` and ``chinese`` do not apply."""
    if rows is None:
        rows = DEFAULT_ROWS[kind]
    if layout not in LAYOUTS:
        raise SystemExit(f"unknown layout {layout!r}: {' or '.join(LAYOUTS)}")
    if layout == "seller-center" and kind != "orders":
        raise SystemExit("--layout seller-center is an orders export")
    if currency != "USD" and layout != "seller-center":
        raise SystemExit("--currency CNY is for --layout seller-center")
    header = headers(kind, chinese)
    if layout == "seller-center":
        source = seller_center_rows(rows, seed=seed, currency=currency)
        header = seller_center_headers()
    elif kind == "orders":
        source = order_rows(
            rows, seed=seed, stores=make_stores(seed, stores), chinese=chinese, typed=fmt == "xlsx"
        )
    elif kind == "disputes":
        if orders is None:
            raise SystemExit("disputes need --orders FILE: they must reference existing orders")
        source = dispute_rows(orders, seed=seed, limit=rows)
    elif kind == "promotion":
        store_list = _stores_of(orders) if orders else make_stores(seed, stores)
        source = promotion_rows(rows, seed=seed, stores=store_list, chinese=chinese)
    elif kind == "exchange_rates":
        source = exchange_rate_rows(rows, seed=seed)
    else:
        raise SystemExit(f"unknown kind {kind!r}")
    written = 0
    with open_sink(out, fmt=fmt, encoding=encoding, delimiter=delimiter, sheet=kind) as write:
        write(header)
        for row in source:
            write(row)
            written += 1
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=[kind.value for kind in Kind])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--rows",
        type=int,
        help="rows to write (disputes: at most; default: " + str(DEFAULT_ROWS) + ")",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--format", dest="fmt", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--encoding", choices=("utf-8", "utf-8-sig", "gb18030"), default="utf-8")
    parser.add_argument("--delimiter", choices=("comma", "tab"), default="comma")
    parser.add_argument("--chinese-headers", action="store_true")
    parser.add_argument("--orders", type=Path, help="the orders file disputes refer to")
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="spec",
        help="orders: SPEC.md's layout (default) or the seller center's real export of one store",
    )
    parser.add_argument(
        "--currency",
        choices=SELLER_CENTER_CURRENCIES,
        default="USD",
        help="--layout seller-center: the store's currency (US $170.54 or CN￥ 1,234.56)",
    )
    args = parser.parse_args(argv)
    written = generate(
        args.kind,
        args.out,
        rows=args.rows,
        seed=args.seed,
        stores=args.stores,
        fmt=args.fmt,
        encoding=args.encoding,
        delimiter="\t" if args.delimiter == "tab" else ",",
        chinese=args.chinese_headers,
        orders=args.orders,
        layout=args.layout,
        currency=args.currency,
    )
    print(f"{args.out}: {written} {args.kind} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
