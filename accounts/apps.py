from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = _("Seller accounts")

    def ready(self) -> None:
        from accounts import notices  # noqa: F401  (registers the notices.send_emails job)
        from accounts.roles import ROLES, sync_roles_after_migrate
        from backoffice.graphql.actors import set_roles

        set_roles(ROLES)

        # Runs after each app's migrations; the last run sees every permission.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="accounts.sync_roles")
