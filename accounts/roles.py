"""Staff roles as Django groups with real permissions.

The groups are kept in step with :data:`ROLES` after every ``migrate`` and by the
``setup_roles`` command. Later apps add their permissions to these lists.
"""

from typing import Any

from django.contrib.auth.models import Group, Permission

ROLES: dict[str, list[str]] = {
    "support": [
        "accounts.view_selleraccount",
        "orders.view_order",
        "orders.transition_order",
        "orders.send_payment_reminder",
        "orders.view_product",
        "orders.view_paymentreminder",
        "payouts.view_payout",
        "payouts.view_refund",
        "disputes.view_dispute",
        "disputes.open_dispute",
        "disputes.act_for_buyer",
        "disputes.respond_dispute",
        "accounts.view_notice",
        "payouts.view_arrearsepisode",
        # exports (backoffice/exports.py): orders and disputes only
        "orders.export_order",
        "disputes.export_dispute",
        # sign-in lockouts (django-axes): see them and unlock them (README "Signing in")
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
    ],
    "risk": [
        "accounts.view_selleraccount",
        "accounts.add_selleraccount",
        "accounts.change_selleraccount",
        "accounts.freeze_selleraccount",
        "accounts.unfreeze_selleraccount",
        "accounts.close_selleraccount",
        "orders.view_order",
        "payouts.view_earlypayoutterms",
        "payouts.change_earlypayoutterms",
        "payouts.view_earlypayoutdecision",
        "payouts.view_reservehold",
        "payouts.view_ledgerentry",
        "disputes.view_dispute",
        "disputes.arbitrate_dispute",
        "payouts.view_refund",
        "accounts.view_notice",
        "payouts.view_arrearsepisode",
        "payouts.view_promotionmovement",
    ],
    "finance": [
        "accounts.view_selleraccount",
        "orders.view_order",
        "payouts.view_ledgerentry",
        "payouts.view_posting",
        "payouts.view_payout",
        "payouts.add_payout",
        "payouts.request_payout",
        "payouts.settle_payout",
        "payouts.view_exchangerate",
        "payouts.add_exchangerate",
        "payouts.change_exchangerate",
        "payouts.view_earlypayoutterms",
        "payouts.change_earlypayoutterms",
        "payouts.view_earlypayoutdecision",
        "payouts.view_reservehold",
        "payouts.view_refund",
        "payouts.record_bank_transfer",
        "payouts.charge_promotion",
        "payouts.adjust_promotion",
        "payouts.set_promotion_threshold",
        "payouts.view_promotionmovement",
        "payouts.view_promotionwallet",
        "payouts.view_arrearsepisode",
        "payouts.view_receivable",
        "accounts.view_notice",
        # exports (backoffice/exports.py) of what finance reads
        "orders.export_order",
        "payouts.export_payout",
        "payouts.export_ledgerentry",
        # "Import a platform export" (backoffice/composition/admin_imports.py) and the imported
        # files
        "backoffice.add_importfile",
        "backoffice.view_importfile",
        "backoffice.view_importjob",
    ],
    # Imports run the services as the uploader: whoever imports orders or disputes in the
    # admin holds this role too (finance holds the import page itself). It records what the
    # rows say happened; it sets no thresholds (no payouts.set_promotion_threshold).
    "importer": [
        "backoffice.view_importfile",
        "backoffice.add_importfile",
        "backoffice.view_importjob",
        "accounts.add_selleraccount",
        "orders.add_order",
        "orders.transition_order",
        "disputes.open_dispute",
        "disputes.respond_dispute",
        "disputes.act_for_buyer",
        "disputes.arbitrate_dispute",
        "payouts.record_bank_transfer",
        "payouts.charge_promotion",
        "payouts.adjust_promotion",
        "payouts.change_exchangerate",
    ],
    # The platform's feeds signed in as a service account: buyers' ratings feed the early-payout
    # evaluation, so no person's role records them (support cannot).
    "integration": [
        "orders.view_order",
        "orders.record_rating",
    ],
}


def sync_roles() -> dict[str, int]:
    """Create the role groups and give each exactly its permissions; returns the counts."""
    wanted = {perm for perms in ROLES.values() for perm in perms}
    found = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type")
        if f"{p.content_type.app_label}.{p.codename}" in wanted
    }
    counts = {}
    for role, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([found[p] for p in perms if p in found])
        counts[role] = len([p for p in perms if p in found])
    return counts


def sync_roles_after_migrate(**kwargs: Any) -> None:
    sync_roles()
