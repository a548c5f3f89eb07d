"""Monthly seller statements: per store account and currency, the opening balance, every
movement of the month in time order with its running balance, and the closing balance.

A pure read (a selector): three queries whatever the store's history. The month is a calendar
month in UTC, ``[first instant, first instant of the next month)``. The opening balance is the
running total (payouts.DailyBalance) at the end of the day before the month; the closing balance
is the opening plus the month's movements and must equal the running total at the end of the
month's last day (the ledger's own check, asserted here). Rendered as CSV, XLSX and PDF for the
admin (:func:`as_rows`, :func:`to_csv`, :func:`to_xlsx`, :func:`to_pdf`) and as
``SellerAccount.statement`` in GraphQL.
"""

import csv
import io
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backoffice.errors import invalid
from payouts.ledger import ZERO, latest, to_cents
from payouts.models import STORE_ACCOUNTS, Account, DailyBalance, LedgerEntry, Posting

FIRST_YEAR, LAST_YEAR = 2000, 2100
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StatementLine:
    at: datetime
    kind: str
    reference: str
    order_number: str | None
    amount: Decimal
    balance: Decimal


@dataclass(slots=True)
class AccountStatement:
    account: str
    currency: str
    opening: Decimal
    lines: list[StatementLine] = field(default_factory=list)

    @property
    def closing(self) -> Decimal:
        return self.lines[-1].balance if self.lines else self.opening


@dataclass(frozen=True, slots=True)
class Statement:
    store_id: int
    year: int
    month: int
    start: datetime
    end: datetime  # exclusive: the first instant of the next month
    accounts: list[AccountStatement]


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in UTC; ``invalid`` for a bad month."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise invalid(
            _("Give a year from %(first)s to %(last)s.") % {"first": FIRST_YEAR, "last": LAST_YEAR},
            field="year",
        )
    if not 1 <= month <= 12:
        raise invalid(_("Give a month from 1 to 12."), field="month")
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _running_totals(store_id: int, before: date) -> dict[tuple[str, str], Decimal]:
    rows = latest(DailyBalance.objects.filter(store_id=store_id), before=before)
    return {
        (account, currency): to_cents(total)
        for account, currency, total in rows.values_list("account", "currency", "balance")
    }


def statement(*, store_id: int, year: int, month: int) -> Statement:
    """The store's statement for the month (three queries)."""
    start, end = month_bounds(year, month)
    opening = _running_totals(store_id, start.date())
    entries = (
        LedgerEntry.objects.filter(store_id=store_id, at__gte=start, at__lt=end)
        .order_by("at", "id")
        .values_list(
            "account",
            "currency",
            "amount",
            "at",
            "posting__kind",
            "posting__reference",
            "order__order_number",
        )
    )
    accounts: dict[tuple[str, str], AccountStatement] = {
        key: AccountStatement(*key, opening=total) for key, total in opening.items()
    }
    for account, currency, amount, at, kind, reference, order_number in entries:
        row = accounts.setdefault(
            (account, currency), AccountStatement(account, currency, opening=ZERO)
        )
        amount = to_cents(amount)
        row.lines.append(
            StatementLine(at, kind, reference, order_number, amount, row.closing + amount)
        )
    closing = _running_totals(store_id, end.date())
    for key, row in accounts.items():
        assert row.closing == closing.get(key, ZERO), (key, row.closing, closing.get(key))
    order = {account.value: i for i, account in enumerate(STORE_ACCOUNTS)}
    shown = sorted(accounts.values(), key=lambda a: (order.get(a.account, 99), a.currency))
    return Statement(store_id, year, month, start, end, shown)


# --- rendering ----------------------------------------------------------------------------------

HEADER = ("account", "currency", "at", "kind", "reference", "order", "amount", "balance")
# The page translates the header (the files keep it): its words, for the catalogue.
HEADER_WORDS = (gettext_noop("currency"), gettext_noop("at"))


def as_rows(report: Statement) -> list[tuple[str, ...]]:
    """The statement as a table: per account and currency, an opening row, a row per
    movement and a closing row (the shape of the CSV, XLSX and PDF files)."""
    labels = dict(Account.choices)
    kinds = dict(Posting.Kind.choices)
    last = report.end - timedelta(microseconds=1)
    rows: list[tuple[str, ...]] = []
    for acc in report.accounts:
        head = (str(labels.get(acc.account, acc.account)), acc.currency)
        rows.append(
            (*head, report.start.isoformat(), _("opening balance"), "", "", "", str(acc.opening))
        )
        rows.extend(
            (
                *head,
                line.at.astimezone(UTC).isoformat(),
                str(kinds.get(line.kind, line.kind)),
                line.reference,
                line.order_number or "",
                str(line.amount),
                str(line.balance),
            )
            for line in acc.lines
        )
        rows.append((*head, last.isoformat(), _("closing balance"), "", "", "", str(acc.closing)))
    return rows


def filename(report: Statement, extension: str) -> str:
    return f"statement-{report.store_id}-{report.year:04d}-{report.month:02d}.{extension}"


def to_csv(report: Statement) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_(name) for name in HEADER])
    writer.writerows(as_rows(report))
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(report: Statement) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = f"{report.year:04d}-{report.month:02d}"
    sheet.append([_(name) for name in HEADER])
    for row in as_rows(report):
        *text, amount, balance = row
        sheet.append([*text, Decimal(amount) if amount else None, Decimal(balance)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# TrueType fonts with Chinese glyphs where Debian puts them: fonts-wqy-microhei (which `make`
# and the Docker image install), then other common packages' files.
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


def pdf_font() -> Path | None:
    """The statement PDF's font file: ``STATEMENT_PDF_FONT`` when it names a file, else the
    first of :data:`CJK_FONTS` found; ``None`` when there is none (Latin-1 core font)."""
    configured = settings.STATEMENT_PDF_FONT
    if configured and not Path(configured).is_file():
        logger.warning("STATEMENT_PDF_FONT %s is not a file: looking for a CJK font", configured)
    candidates = (configured, *CJK_FONTS) if configured else CJK_FONTS
    return next((Path(name) for name in candidates if Path(name).is_file()), None)


def _latin1(value: str) -> str:
    return value.encode("latin-1", "replace").decode("latin-1")


def to_pdf(report: Statement, store_name: str) -> bytes:
    """A plain table on A4 landscape, in a CJK-capable TrueType font (:func:`pdf_font`, subset
    into the file) so that Chinese store names and references print; without one, in the
    Latin-1 core font (other characters become ``?``, and a warning is logged)."""
    from fpdf import FPDF, FontFace

    pdf = FPDF(orientation="L", format="A4")
    pdf.add_page()
    font = pdf_font()
    text, headings = str, FontFace(emphasis="BOLD")
    if font is None:
        logger.warning("no CJK font found: the statement PDF prints other scripts as '?'")
        pdf.set_font("Helvetica", size=8)
        text = _latin1
    else:
        pdf.add_font("statement", fname=str(font))
        pdf.set_font("statement", size=8)
        headings = FontFace(emphasis="NONE")  # the font file has no bold face

    title = _("Statement of %(store)s for %(month)s") % {
        "store": store_name,
        "month": f"{report.year:04d}-{report.month:02d}",
    }
    pdf.cell(text=text(title), new_x="LMARGIN", new_y="NEXT")
    widths = (28, 12, 42, 40, 60, 30, 22, 22)
    with pdf.table(col_widths=widths, text_align="LEFT", headings_style=headings) as table:
        table.row([text(_(name)) for name in HEADER])
        for row in as_rows(report):
            table.row([text(value) for value in row])
    return bytes(pdf.output())


def totals_by_account(report: Statement) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(opening, closing) per (account, currency): what the tests and summaries compare."""
    result: dict[tuple[str, str], tuple[Decimal, Decimal]] = defaultdict(lambda: (ZERO, ZERO))
    for acc in report.accounts:
        result[(acc.account, acc.currency)] = (acc.opening, acc.closing)
    return dict(result)
