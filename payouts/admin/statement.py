"""The store page's "Statement" view (accounts/admin.py): a month picker, the statement as a
table, and downloads as CSV, XLSX and PDF (payouts/statements.py). Staff who may read the
ledger (``payouts.view_ledgerentry``) only."""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import SellerAccount
from backoffice import clock
from payouts import statements

STATEMENT_PERM = "payouts.view_ledgerentry"
FORMATS = {
    "csv": ("text/csv; charset=utf-8", statements.to_csv),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        statements.to_xlsx,
    ),
}


class MonthForm(forms.Form):
    year = forms.IntegerField(
        label=_("Year"), min_value=statements.FIRST_YEAR, max_value=statements.LAST_YEAR
    )
    month = forms.IntegerField(label=_("Month"), min_value=1, max_value=12)
    format = forms.ChoiceField(
        label=_("Format"),
        required=False,
        choices=[("", _("page")), ("csv", _("CSV")), ("xlsx", _("XLSX")), ("pdf", _("PDF"))],
    )


def statement_url(store_id: int) -> str:
    return reverse("admin:accounts_selleraccount_statement", args=[store_id])


def statement_view(
    request: HttpRequest, object_id: str, each_context: dict[str, Any]
) -> HttpResponse:
    """GET ``?year=&month=&format=``: the page (with the month picker) or a download."""
    if not request.user.has_perm(STATEMENT_PERM):
        raise PermissionDenied
    store = SellerAccount.objects.filter(pk=object_id).first() if object_id.isdigit() else None
    if store is None:
        raise Http404
    today = clock.now().date()
    form = MonthForm(request.GET or {"year": today.year, "month": today.month})
    report = None
    if form.is_valid():
        data = form.cleaned_data
        report = statements.statement(store_id=store.pk, year=data["year"], month=data["month"])
        if data["format"]:
            return download(report, data["format"], store.name)
    context = {
        **each_context,
        "opts": SellerAccount._meta,
        "title": _("Statement of %(store)s") % {"store": store.name},
        "store": store,
        "form": form,
        "report": report,
        "rows": statements.as_rows(report) if report else [],
        "header": statements.HEADER,
        "query": urlencode({"year": report.year, "month": report.month}) if report else "",
    }
    return TemplateResponse(request, "admin/payouts/statement.html", context)


def download(report: statements.Statement, kind: str, store_name: str) -> HttpResponse:
    if kind == "pdf":
        content_type, body = "application/pdf", statements.to_pdf(report, store_name)
    else:
        content_type, render = FORMATS[kind]
        body = render(report)
    response = HttpResponse(body, content_type=content_type)
    disposition = f'attachment; filename="{statements.filename(report, kind)}"'
    response["Content-Disposition"] = disposition
    return response
