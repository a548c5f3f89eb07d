from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "backoffice"

    def ready(self) -> None:
        from backoffice.i18n import translate_field_names

        translate_field_names()
