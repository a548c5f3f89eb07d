from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PayoutsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "payouts"
    verbose_name = _("Money")

    def ready(self) -> None:
        from payouts import arrears, checks, deadlines  # noqa: F401  (registers the money
        # deadlines, the arrears jobs and the ledger's periodic check)
