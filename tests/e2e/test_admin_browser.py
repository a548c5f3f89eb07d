"""The admin in a real browser at 1440 px, in English and Chinese (assertions read ids,
classes, URLs and data attributes, never English words): risk goes from the dashboard to an
overdue dispute and resolves it (refused, then corrected); an export is imported with preview
and confirm; support confirms receipt through the confirmation page and meets the styled
refusal; the lists fit the screen; axe-core finds no critical or serious violation."""

import re
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.conftest import AXE, Site

pytestmark = pytest.mark.e2e

SAMPLES = __import__("pathlib").Path(__file__).resolve().parents[1] / "imports" / "samples"
LISTS = [
    "/admin/orders/order/",
    "/admin/disputes/dispute/",
    "/admin/accounts/selleraccount/",
    "/admin/payouts/payout/",
]


def login(page: Any, site: Site, username: str) -> None:
    page.goto(f"{site.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", username)
    page.click("#login-form input[type=submit]")
    page.wait_for_selector("#user-tools")


def serious_violations(page: Any) -> list[str]:
    """axe-core's critical and serious violations on the page, as readable lines."""
    page.wait_for_load_state("networkidle")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in found
        if v["impact"] in ("critical", "serious")
    ]


def fits_the_screen(page: Any) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def check_page(page: Any, site: Site, name: str) -> None:
    site.shot(page, name)
    assert serious_violations(page) == [], name


def amount(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.\-]", "", text))


def test_risk_resolves_an_overdue_dispute_from_the_dashboard(page: Any, site: Site) -> None:
    login(page, site, "risk")
    check_page(page, site, "dashboard-risk")
    # the dashboard's overdue number opens the list of overdue disputes
    page.click("[data-tile=disputes-overdue] a")
    page.wait_for_selector(".due-badge[data-due=overdue]")
    assert "due=overdue" in page.url
    check_page(page, site, "disputes-overdue")
    # the overdue dispute in arbitration is the one risk decides
    page.locator("#result_list tbody tr", has=page.locator("[data-status=arbitration]")).filter(
        has=page.locator("[data-due=overdue]")
    ).locator("th a").click()
    page.wait_for_selector("form[data-action=resolve]")
    check_page(page, site, "dispute")
    order_url = page.locator(".field-order_link a").first.get_attribute("href")
    dispute_url = page.url
    page.goto(site.url + order_url)
    status_before = page.locator(".field-status .readonly").inner_text()
    escrow_before = amount(page.locator(".field-escrow .readonly").inner_text())
    page.goto(dispute_url)

    # a refund over the request is refused: the form comes back with the amount and its error
    page.click("form[data-action=resolve] button")
    page.fill("#id_amount", "9999.00")
    page.select_option("#id_fault", index=1)
    page.fill("#id_note", "e2e: photos show a different model")
    page.click("input[name=_apply]")
    page.wait_for_selector("#money-effect")
    site.shot(page, "resolve-confirmation")
    page.click("input[name=_apply]")
    page.wait_for_selector(".field-amount .errorlist")
    assert page.input_value("#id_amount") == "9999.00"
    assert page.input_value("#id_note") == "e2e: photos show a different model"
    check_page(page, site, "resolve-refused")

    # corrected, confirmed: the dispute is resolved, the order and its escrow change
    page.fill("#id_amount", "30.00")
    page.click("input[name=_apply]")
    page.wait_for_selector("#money-effect")
    page.click("input[name=_apply]")
    page.wait_for_selector(".messagelist .success")
    assert page.url.endswith("/change/")
    page.goto(site.url + order_url)
    assert page.locator(".field-status .readonly").inner_text() != status_before
    assert amount(page.locator(".field-escrow .readonly").inner_text()) != escrow_before
    check_page(page, site, "order-after-resolve")


def test_support_confirms_receipt_through_its_confirmation_page(page: Any, site: Site) -> None:
    login(page, site, "support")
    page.goto(f"{site.url}/admin/orders/order/?status__exact=shipped")
    assert fits_the_screen(page)
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_selector("form[data-action=confirm]")
    order_page = page.url
    status_before = page.locator(".field-status .readonly").inner_text()
    page.click("form[data-action=confirm] button")
    page.wait_for_selector("#money-effect")
    # the confirmation says what moves; a note is required (support acts for the buyer)
    assert "USD" in page.locator(".money-effect-text").inner_text()
    check_page(page, site, "confirm-receipt")
    page.click("input[name=_apply]")
    page.wait_for_selector(".field-note .errorlist")
    assert page.locator("#money-effect").count() == 1  # still the confirmation
    page.fill("#id_note", "e2e: the buyer confirmed by phone")
    page.click("input[name=_apply]")
    page.wait_for_selector(".messagelist .success")
    assert page.url == order_page.split("?")[0]
    assert page.locator(".field-status .readonly").inner_text() != status_before


def test_support_meets_the_styled_refusal(page: Any, site: Site) -> None:
    login(page, site, "support")
    response = page.goto(f"{site.url}/admin/payouts/ledgerentry/")
    assert response.status == 403
    refusal = page.locator("[data-refusal='403']")
    assert refusal.get_attribute("data-roles") == "risk finance"
    check_page(page, site, "refusal")


def test_an_export_is_imported_with_preview_and_confirm(page: Any, site: Site) -> None:
    login(page, site, "admin")
    page.goto(site.url + "/admin/")
    page.click("#import-platform-export-link")
    page.wait_for_selector("#id_file")
    check_page(page, site, "import-upload")
    page.set_input_files("#id_file", str(SAMPLES / "orders-en.csv"))
    page.click("input[type=submit].default, #content-main input[type=submit]")
    page.wait_for_selector("#import-job-status[data-status=previewed]", timeout=120_000)
    check_page(page, site, "import-preview")
    page.click("#import-confirm-form input[type=submit]")
    page.wait_for_selector("#import-job-status[data-status=done]", timeout=120_000)
    check_page(page, site, "import-done")


@pytest.mark.parametrize("path", LISTS)
def test_the_lists_fit_1440_px_and_pass_axe(page: Any, site: Site, path: str) -> None:
    login(page, site, "admin")
    page.goto(site.url + path)
    assert fits_the_screen(page), path
    check_page(page, site, "list-" + path.strip("/").replace("/", "-"))
    # and the first object's page passes too
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_selector("#content-main form, #content-main .module")
    check_page(page, site, "object-" + path.strip("/").replace("/", "-"))


def test_finance_opens_a_stores_details_in_place(page: Any, site: Site) -> None:
    login(page, site, "finance")
    page.goto(f"{site.url}/admin/accounts/selleraccount/")
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_selector("#summary-card")
    assert page.locator("#store-details [data-section]").count() == 0  # not fetched yet
    check_page(page, site, "store")
    # one click on the section fetches the details page and shows its panels in place
    page.click("#store-details summary")
    page.wait_for_selector("#store-details [data-section=money] .balance-escrow")
    sections = page.locator("#store-details [data-section]")
    keys = [sections.nth(i).get_attribute("data-section") for i in range(sections.count())]
    assert keys == ["holds", "health", "wallet", "notices", "money"]
    assert fits_the_screen(page)
    check_page(page, site, "store-details")
